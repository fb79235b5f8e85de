"""Command line: ``python -m lottery.main --config=experiments/NAME.py[:preset] --workdir=DIR``.

Overrides: ``--config.train.epochs=10``. Bad input prints one line and exits with status 2.
"""
from __future__ import annotations

import sys

from absl import app, flags, logging
from ml_collections import config_flags

from lottery.errors import ConfigError

_CONFIG = config_flags.DEFINE_config_file("config", None, "Experiment config file, e.g. experiments/gmm_linear.py:quick.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for results, checkpoints and figures.")


def _fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def _parse(argv):
    try:
        return flags.FLAGS(argv)
    except flags.Error as e:
        _fail(str(e).splitlines()[0])
    except Exception as e:  # a config file that fails to load or an unknown preset
        _fail(f"config: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")


def main(argv) -> None:
    if len(argv) > 1:
        _fail(f"unexpected arguments {argv[1:]}")
    if _CONFIG.value is None:
        _fail("config: is required (--config=experiments/NAME.py[:preset])")
    if not _WORKDIR.value:
        _fail("workdir: is required (--workdir=DIR)")
    logging.set_verbosity(logging.WARNING)
    from lottery.api import run  # imports jax only once the flags are good

    try:
        run(_CONFIG.value, _WORKDIR.value)
    except ConfigError as e:
        _fail(str(e))


if __name__ == "__main__":
    app.run(main, flags_parser=_parse)
