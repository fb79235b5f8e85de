"""Command line: ``python -m lottery.main --config=experiments/NAME.py[:preset] --workdir=DIR``.

Overrides: ``--config.train.epochs=10``. Bad input prints one line and exits with status 2; Ctrl-C and SIGTERM
print one line and exit with 130 / 143 (run the same command to resume).
With JAX_COORDINATOR_ADDRESS / JAX_NUM_PROCESSES / JAX_PROCESS_ID set (``launch/local.sh --distributed``), on
SLURM with several tasks, or on a multi-host TPU slice, the processes form one run (:mod:`lottery.core.distributed`).
"""
from __future__ import annotations

import os
import sys
import traceback

from absl import app, logging

from lottery import cli
from lottery.core.errors import ConfigError

cli.config_flag()  # --config=experiments/NAME.py[:preset] and its --config.x.y=… overrides
cli.workdir_flag()  # --workdir=DIR


def main(argv) -> None:
    """Runs the experiment of ``--config`` in ``--workdir`` (one line and exit 2 for bad input)."""
    cli.no_arguments(argv)
    config = cli.config()
    workdir = cli.workdir()
    logging.set_verbosity(logging.WARNING)
    from lottery.core import distributed  # (loading an experiment file imports jax; nothing has run on a device yet)
    from lottery.api import run

    cli.raise_on_sigterm()
    try:
        distributed.initialize()  # a multi-process run when the environment describes one (before any JAX use)
        run(config, workdir)
    except ConfigError as e:
        cli.fail(str(e))
    except (KeyboardInterrupt, cli.Interrupted) as e:  # the lock is released, no write is left half-done
        cli.interrupted(e)
    except BaseException:
        if distributed.processes() > 1:  # e.g. a collective failed because another process died: exit at
            traceback.print_exc()  # once instead of waiting for it at JAX's shutdown barrier (minutes)
            sys.stderr.flush()
            os._exit(1)
        raise


if __name__ == "__main__":
    app.run(main, flags_parser=cli.parse)
