"""Study kinds: ``config.kind`` → the :class:`~lottery.studies.interface.Study` that owns it (its config sections and
defaults, run id, plan, run, merge and report).

To add a kind: one module with a ``Study`` subclass, and one line here.
"""
from __future__ import annotations

import ml_collections

from lottery import validate
from lottery.core.errors import ConfigError
from lottery.studies.interface import PlannedBucket, Run, Study
from lottery.studies.imp import IMP
from lottery.studies.prune_methods import PruneMethods
from lottery.studies.robustness import Robustness

STUDIES: dict[str, Study] = {
    "imp": IMP(),
    "prune_methods": PruneMethods(),
    "robustness": Robustness(),
}

# The kind of a saved run whose config.json has no ``kind`` (runs from before config.kind were IMP runs).
SAVED_WITHOUT_KIND = "imp"


def get(kind) -> Study:
    """The study of ``kind`` (ConfigError naming ``kind`` with the allowed ones otherwise)."""
    if not isinstance(kind, str):
        raise ConfigError("kind", f"must be a string, one of {', '.join(STUDIES)}; got {kind!r}")
    validate.choice("kind", kind, tuple(STUDIES))
    return STUDIES[kind]


def defaults(kind: str) -> ml_collections.ConfigDict:
    """The default config of a study kind: what every experiment file of that kind starts from."""
    return get(kind).defaults()


def of_saved(config_dict: dict) -> Study:
    """The study of a saved run's config (DIR/config.json's ``config``)."""
    return get(config_dict.get("kind", SAVED_WITHOUT_KIND))


__all__ = ["PlannedBucket", "Run", "Study", "STUDIES", "defaults", "get", "of_saved"]
