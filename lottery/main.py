"""Command line: ``python -m lottery.main --config=experiments/NAME.py[:preset] --workdir=DIR``.

Overrides: ``--config.train.epochs=10``. Bad input prints one line and exits with status 2.
With JAX_COORDINATOR_ADDRESS / JAX_NUM_PROCESSES / JAX_PROCESS_ID set (``launch/local.sh --distributed``), on
SLURM with several tasks, or on a multi-host TPU slice, the processes form one run (:mod:`lottery.distributed`).
"""
from __future__ import annotations

import os
import sys
import traceback

from absl import app, flags, logging
from ml_collections import config_flags

from lottery.errors import ConfigError

_CONFIG = config_flags.DEFINE_config_file("config", None, "Experiment config file, e.g. experiments/gmm_linear.py:quick.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for results, checkpoints and figures.")


def _fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def _last_line(e: BaseException) -> str:
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    return lines[-1] if lines else type(e).__name__


def _parse(argv):
    try:
        return flags.FLAGS(argv)
    except Exception as e:  # an unknown flag or override, a config file that fails to load, an unknown preset
        overrides = [a.split("=", 1)[0] for a in argv[1:] if a.startswith("--config.")]
        if overrides and "config" not in str(e):
            _fail(f"config: bad override among {', '.join(overrides)} ({_last_line(e)}); "
                  f"overrides must name existing fields with values of their type, e.g. --config.train.epochs=10")
        _fail(f"config: {_last_line(e)}" if "config" in str(e) else f"flags: {_last_line(e)}")


def main(argv) -> None:
    if len(argv) > 1:
        _fail(f"unexpected arguments {argv[1:]}")
    if _CONFIG.value is None:
        _fail("config: is required (--config=experiments/NAME.py[:preset])")
    try:
        config = _CONFIG.value.copy_and_resolve_references()  # config_flags loads the file lazily
    except Exception as e:
        _fail(f"config: cannot load {flags.FLAGS['config'].serialize().split('=', 1)[-1]}: {_last_line(e)}")
    if not _WORKDIR.value:
        _fail("workdir: is required (--workdir=DIR)")
    logging.set_verbosity(logging.WARNING)
    from lottery import distributed  # imports jax only once the flags are good
    from lottery.api import run

    try:
        distributed.initialize()  # a multi-process run when the environment describes one (before any JAX use)
        run(config, _WORKDIR.value)
    except ConfigError as e:
        _fail(str(e))
    except BaseException:
        if distributed.processes() > 1:  # e.g. a collective failed because another process died: exit at
            traceback.print_exc()  # once instead of waiting for it at JAX's shutdown barrier (minutes)
            sys.stderr.flush()
            os._exit(1)
        raise


if __name__ == "__main__":
    app.run(main, flags_parser=_parse)
