"""Sweeps larger than one program: a grid (or list) of configs split into work units that any number
of job processes, on any number of hosts sharing the workdir, drain together.

From Python::

    from lottery.sweeps import Grid
    grid = Grid(lottery.load_config("experiments/gmm_linear.py:quick"), {"data.noise.fraction": [0.0, 0.1, 0.2]})
    df = lottery.sweep(grid, "runs/noise", seeds_per_unit=1)  # or a list of configs
    df = lottery.results.load("runs/noise")                    # merged: unit, point, data.noise.fraction, …

From the command line: ``python -m lottery.sweeps`` (:mod:`lottery.sweeps.__main__`).

A *work unit* is one grid point × one block of ``train.seeds`` (``seeds_per_unit`` seeds; default all
of them: one unit per point). Models of different seeds never interact (initialisation and data
order come from the model's seed, or the order from ``train.data_seed`` for all), so a seed block
trains the models it would inside the whole population, up to float rounding — the cheap way to cut
a point too big for one job without touching the engine. A unit is an ordinary ``lottery.run`` in ``DIR/units/UNIT`` (its
own run id, lock and per-level checkpoints), so a unit taken over after a crash resumes from its
last finished level. Units and the manifest record: :mod:`lottery.sweeps.grid`; the job loop:
:mod:`lottery.sweeps.jobs`; claims, heartbeats and done markers: :mod:`lottery.store.manifest`.
"""
from lottery.sweeps.grid import VERSION, Grid, Unit, check_same, comparable, prepare, units
from lottery.sweeps.jobs import DEFAULT_TIMEOUT, check_timeout, drain, status, sweep

__all__ = ["DEFAULT_TIMEOUT", "VERSION", "Grid", "Unit", "check_same", "check_timeout", "comparable",
           "drain", "prepare", "status", "sweep", "units"]
