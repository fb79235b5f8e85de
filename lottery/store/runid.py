"""Run ids: a hash of the settings that change results.

This module knows the shared sections' keys only; a study kind adds its own (``Study.non_result_keys``,
``extending_keys``, ``later_defaults``, ``procedure`` in :mod:`lottery.studies.interface`).
"""
from __future__ import annotations

import hashlib
import json

# Keys of the shared sections that do not change results: left out of the run id.
# (The evaluation batch size changes float summation order, and the experiment name is in every
# row, so both are part of the run id.) Where the data files are read from is not.
NON_RESULT_KEYS = ("report", "data.data_dir", "data.tfds_data_dir",
                   "train.members",  # vmapped or looped members: the same steps, float rounding aside (as across backends)
                   "train.shard",  # where members run, not what they compute
                   "train.memory",  # members trained in slices that fit: the same steps (tested bitwise)
                   "eval.every")  # learning curves observe training; they do not change it (tested bitwise)


# Shared keys added after runs existed: at these values (what earlier runs did without them) they are left out of the
# run id, so the ids of those runs stay the same.
LATER_DEFAULTS = {"data.label_kind": "fine"}


def _drop(tree: dict, key: str, only_if=None) -> None:
    """Removes the dotted ``key`` from ``tree`` (only when its value is ``only_if``, if given)."""
    *path, last = key.split(".")
    holder = tree
    for node in path:
        holder = holder.get(node)
        if not isinstance(holder, dict):
            return
    if last in holder and (only_if is None or holder[last] == only_if):
        holder.pop(last)


def result_settings(config_dict: dict, *, study_keys: tuple[str, ...], later_defaults: dict, procedure: int | None) -> dict:
    """The config as a plain dict without the keys that do not change results (:data:`NON_RESULT_KEYS` and the
    study's ``study_keys``) and without the later keys at their defaults (:data:`LATER_DEFAULTS` and the study's
    ``later_defaults``), with the study's ``procedure`` number where it has one."""
    out = json.loads(json.dumps(config_dict, default=list))
    for key in NON_RESULT_KEYS + tuple(study_keys):
        _drop(out, key)
    for key, default in {**LATER_DEFAULTS, **later_defaults}.items():
        _drop(out, key, default)
    if procedure is not None:
        out["procedure"] = procedure
    return out


def run_id(config_dict: dict, *, study_keys: tuple[str, ...], later_defaults: dict, procedure: int | None) -> str:
    """12 hex digits of SHA-256 over the canonical JSON of :func:`result_settings`. The study's rules are required: a
    config's run id is its study's (``Study.run_id``; ``lottery.api.run_id(config)``)."""
    text = json.dumps(result_settings(config_dict, study_keys=study_keys, later_defaults=later_defaults,
                                      procedure=procedure), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]
