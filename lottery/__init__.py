"""lottery: populations of masked models trained as one compiled program.

``lottery.run(config, workdir)`` runs an experiment and returns its results table;
``lottery.sweep(grid or configs, workdir)`` runs a sweep as one of any number of jobs;
``lottery.results.load(workdir)`` reads the table of a finished run (or of a sweep's finished units).
"""
import importlib

from lottery import results  # noqa: F401


def load_config(path: str):
    """The config of ``experiments/NAME.py[:preset]`` (as the command line reads it)."""
    from lottery.configs import load

    return load(path)


def run(config, workdir):
    """See :func:`lottery.api.run`."""
    from lottery.api import run as _run

    return _run(config, workdir)


def __getattr__(name: str):
    """``lottery.sweep``: the module :mod:`lottery.sweep`, imported on first use and callable as
    ``lottery.sweep(grid_or_configs, workdir, …)`` (see :func:`lottery.sweep.sweep`)."""
    if name == "sweep":
        return importlib.import_module("lottery.sweep")
    raise AttributeError(f"module 'lottery' has no attribute {name!r}")
