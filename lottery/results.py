"""``lottery.results.load(workdir)`` → the results DataFrame of a run, or of a sweep's finished units.

The one reader of both kinds of workdir: :mod:`lottery.store.result_tables` knows runs only and
:mod:`lottery.store.manifest` sweeps (it merges its units' run tables)."""
from __future__ import annotations

import pandas as pd

from lottery.store import manifest, result_tables
from lottery.store.result_tables import COLUMNS, SPLITS

__all__ = ["COLUMNS", "SPLITS", "load", "load_curves", "load_learning_curves"]


def load(workdir: str) -> pd.DataFrame:
    """The results table of a run (merged from its finished parts if the run did not finish), or of a
    sweep (``DIR/manifest.json``): the tables of its finished units, each row with its ``unit``, grid
    ``point`` and one column per swept field (see :func:`lottery.store.manifest.merged`)."""
    if manifest.is_sweep(workdir):
        return manifest.merged(workdir)
    return result_tables.load(workdir)


def load_curves(workdir: str) -> pd.DataFrame:
    """Reliability-diagram statistics: run × model × level × branch × split × curve × bin
    with count, prob_sum (Σ predicted probability) and outcome_sum (Σ outcome); of a sweep, merged
    from its finished units (see :func:`load`)."""
    if manifest.is_sweep(workdir):
        return manifest.merged(workdir, result_tables.CURVES)
    return result_tables.load_curves(workdir)


def load_learning_curves(workdir: str) -> pd.DataFrame:
    """Learning curves (with ``eval.every``): run × model × level × branch × step × split with epoch, error and
    loss; of a sweep, merged from its finished units (see :func:`load`)."""
    if manifest.is_sweep(workdir):
        return manifest.merged(workdir, result_tables.LEARNING_CURVES)
    return result_tables.load_learning_curves(workdir)
