"""The one exception type for bad user input: it names the field and what is allowed."""


class ConfigError(ValueError):
    """Bad input from the user (a config value, a data file, a workdir).

    `field` is the dotted config name (e.g. ``data.noise.fraction``) or the
    resource (``workdir``); the message says what is allowed. The command line
    prints ``error: <field>: <message>`` on one line and exits with status 2.
    """

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
