"""lottery: populations of masked models trained as one compiled program.

``lottery.run(config, workdir)`` runs an experiment and returns its results table;
``lottery.sweep(grid or configs, workdir)`` runs a sweep as one of any number of jobs;
``lottery.results.load(workdir)`` reads the table of a finished run (or of a sweep's finished units).
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
    :func:`lottery.sweeps.sweep`. The command line is ``python -m lottery.sweep``."""
    from lottery import sweeps

    return sweeps.sweep(configs_or_grid, workdir, **options)
