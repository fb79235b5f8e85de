"""lottery: populations of masked models trained as one compiled program.

``lottery.run(config, workdir)`` runs an experiment and returns its results table;
``lottery.results.load(workdir)`` reads the table of a finished run.
"""
from lottery import results  # noqa: F401


def load_config(path: str):
    """The config of ``experiments/NAME.py[:preset]`` (as the command line reads it)."""
    from lottery.configs import load

    return load(path)


def run(config, workdir):
    """See :func:`lottery.api.run`."""
    from lottery.api import run as _run

    return _run(config, workdir)
