"""What every command line of the package shares: bad input is one line on stderr, ``error: …``, and
exit status 2.

The absl commands (``python -m lottery.main``, ``python -m lottery.sweeps``) define their
``--config`` / ``--workdir`` flags here (:func:`config_flag`, :func:`workdir_flag`; defining them from
two modules of one process gives the same flag) and parse with :func:`parse`, which turns a bad flag
or ``--config.x.y=…`` override into that one line. Flags are defined only when asked for, so a command
with flags of its own (``python -m lottery.report``, ``lottery.bench``, ``lottery.dashboard``) imports
this module for :func:`fail` alone.
"""
from __future__ import annotations

import functools
import signal
import sys
from typing import NoReturn

from absl import flags


def fail(message: str, prog: str | None = None) -> NoReturn:
    """Prints ``error: MESSAGE`` (``PROG: error: MESSAGE`` with ``prog``) to stderr and exits with status 2."""
    print(f"{prog}: error: {message}" if prog else f"error: {message}", file=sys.stderr)
    sys.exit(2)


def last_line(e: BaseException) -> str:
    """The last non-empty line of an exception's text (its type name if it has none): what a
    one-line error quotes of a long message or traceback-like text."""
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    return lines[-1] if lines else type(e).__name__


def overrides(argv: list[str]) -> list[str]:
    """The ``--config.x.y`` overrides among the arguments, each as ``--config.x.y`` whether it was given with two
    dashes or one (absl reads ``-config.x.y=…`` as the same flag) and whatever its value; none after ``--``."""
    names = []
    for a in argv[1:]:
        if a == "--":
            break
        dashes = len(a) - len(a.lstrip("-"))
        if dashes in (1, 2) and a[dashes:].startswith("config."):
            names.append("--" + a[dashes:].split("=", 1)[0])
    return names


def parse(argv: list[str]) -> list[str]:
    """absl's flag parsing (``app.run(main, flags_parser=cli.parse)``): the arguments left over, or one
    line and exit 2 for an unknown flag, a bad ``--config.x.y=…`` override, a config file that fails
    to load or an unknown preset. A field overridden twice (with one dash or two) is refused (ml_collections would
    concatenate repeated tuple overrides and let the last scalar win: a silently different experiment)."""
    names = overrides(argv)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        fail(f"config: {', '.join(repeated)} given more than once; give each override once "
             f"(for a list, every value in one: --config.model.widths=(2,8,35))")
    try:
        return flags.FLAGS(argv)
    except Exception as e:
        if names and "config" not in str(e):
            fail(f"config: bad override among {', '.join(names)} ({last_line(e)}); "
                 f"overrides must name existing fields with values of their type, e.g. --config.train.epochs=10")
        fail(f"config: {last_line(e)}" if "config" in str(e) else f"flags: {last_line(e)}")


@functools.cache
def config_flag() -> flags.FlagHolder:
    """Defines (once per process) and returns ``--config=experiments/NAME.py[:preset]`` with its
    ``--config.x.y=…`` overrides (an ml_collections config file flag)."""
    from ml_collections import config_flags

    return config_flags.DEFINE_config_file("config", None, "Experiment config file, e.g. experiments/gmm_linear.py:quick.")


@functools.cache
def workdir_flag() -> flags.FlagHolder:
    """Defines (once per process) and returns ``--workdir=DIR``."""
    return flags.DEFINE_string("workdir", None, "Directory for results, checkpoints and figures.")


def no_arguments(argv: list[str]) -> None:
    """One line and exit 2 if anything but flags was given (``argv[0]`` is the program)."""
    if len(argv) > 1:
        fail(f"unexpected arguments {argv[1:]}")


def workdir() -> str:
    """The value of ``--workdir`` (see :func:`workdir_flag`); one line and exit 2 if it is missing."""
    value = workdir_flag().value
    if not value:
        fail("workdir: is required (--workdir=DIR)")
    return value


def config():
    """The config of ``--config`` (see :func:`config_flag`) with its overrides applied and references
    resolved; one line and exit 2 if it is missing or its file fails to load (config_flags loads the
    file lazily, so this is where a broken file shows)."""
    holder = config_flag()
    if holder.value is None:
        fail("config: is required (--config=experiments/NAME.py[:preset])")
    try:
        return holder.value.copy_and_resolve_references()
    except Exception as e:
        fail(f"config: cannot load {flags.FLAGS['config'].serialize().split('=', 1)[-1]}: {last_line(e)}")


class Interrupted(BaseException):
    """SIGTERM as an exception (like KeyboardInterrupt for SIGINT), so ``finally`` blocks run: the workdir lock is
    released and atomic writes remove their temporaries."""


def raise_on_sigterm() -> None:
    """Turns SIGTERM into :class:`Interrupted` in this (main) thread."""
    def handler(signum, frame):
        raise Interrupted()
    signal.signal(signal.SIGTERM, handler)


def interrupted(e: BaseException) -> NoReturn:
    """One line and the shell's status of the signal: 130 for Ctrl-C (SIGINT), 143 for SIGTERM."""
    print("interrupted — run the same command to resume", file=sys.stderr, flush=True)
    sys.exit(143 if isinstance(e, Interrupted) else 130)
