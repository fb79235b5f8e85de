"""Study kinds: ``config.kind`` → the :class:`~lottery.studies.interface.Study` that checks, runs, merges and reports it.

To add a kind: one module with a ``Study`` subclass, and one line here.
"""
from __future__ import annotations

from lottery.studies.interface import Run, Study
from lottery.studies.imp import IMP
from lottery.studies.prune_methods import PruneMethods
from lottery.studies.robustness import Robustness

STUDIES: dict[str, Study] = {
    "imp": IMP(),
    "prune_methods": PruneMethods(),
    "robustness": Robustness(),
}

__all__ = ["Run", "Study", "STUDIES"]
