"""``lottery.results.load(workdir)`` → the results DataFrame of a run."""
from lottery.store.results import COLUMNS, SPLITS, load

__all__ = ["COLUMNS", "SPLITS", "load"]
