"""lottery: populations of masked models trained as one compiled program.

``lottery.run(config, workdir)`` runs an experiment and returns its results table;
``lottery.sweep(grid or configs, workdir)`` runs a sweep as one of any number of jobs;
``lottery.results.load(workdir)`` reads the table of a finished run (or of a sweep's finished units);
``lottery.plan(config)`` says what a run will cost (buckets, strategies, FLOPs, memory, time) without training.
"""
from lottery import results  # noqa: F401


def load_config(path: str):
    """The config of ``experiments/NAME.py[:preset]`` (as the command line reads it)."""
    from lottery import configs

    return configs.load(path)


def run(config, workdir, log=None):
    """Runs the experiment ``config`` in ``workdir`` and returns its results table (see :func:`lottery.api.run`;
    ``log``: where progress lines go, print by default)."""
    from lottery import api

    return api.run(config, workdir, log=log)


def sweep(configs_or_grid, workdir: str, **options):
    """Runs a sweep in ``workdir`` as one job and returns the merged table of its finished units:
    ``configs_or_grid`` is a :class:`lottery.sweeps.Grid` or a list of ConfigDicts; ``options``
    (``seeds_per_unit``, ``claim_timeout``, ``wait``, ``shard``, ``log``) and the rest: see
    :func:`lottery.sweeps.sweep`. The command line is ``python -m lottery.sweeps``."""
    from lottery import sweeps

    return sweeps.sweep(configs_or_grid, workdir, **options)


def plan(config, **options):
    """What running ``config`` would cost, one row per bucket (a pandas DataFrame), without training: members,
    widths, strategy, weights, FLOPs, memory of the compiled training program, estimated time. ``options``
    (``device``, ``memory``, ``peak``, ``efficiency``, ``analyse_memory``): see :func:`lottery.planner.plan`.
    The command line is ``python -m lottery.planner``."""
    from lottery import planner

    return planner.plan(config, **options)
