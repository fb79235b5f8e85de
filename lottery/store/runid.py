"""Run ids: a hash of the settings that change results."""
from __future__ import annotations

import hashlib
import json

# Keys that do not change results: left out of the run id.
# (The evaluation batch size changes float summation order, and the experiment name is in every
# row, so both are part of the run id.) Where the data files are read from is not.
NON_RESULT_KEYS = ("report", "data.data_dir", "data.tfds_data_dir",
                   "imp.levels",  # more levels extend a run, they do not change the rows it has
                   "train.members",  # vmapped or looped members: the same steps, float rounding aside (as across backends)
                   "train.shard",  # where members run, not what they compute
                   "train.memory",  # members trained in slices that fit: the same steps (tested bitwise)
                   "eval.every",  # learning curves observe training; they do not change it (tested bitwise)
                   "robustness.report_ratio")  # which ratio the report tabulates


# Keys added after runs existed: at these values (what earlier runs did without them) they are left out of the run
# id, so the ids of those runs stay the same.
LATER_DEFAULTS = {"kind": "imp", "data.label_kind": "fine"}

# Study kinds whose procedure changed after runs of them existed, and the procedure's number: it is hashed into their
# run ids, so a workdir made by an earlier procedure is refused rather than resumed with rows of both. Kinds not
# listed (imp) keep their ids. 2: matched training budgets — the dense reference fine-tuned like the pruned models,
# SNIP's sparse nets trained train.epochs after pruning (lottery.studies.method_populations).
PROCEDURES = {"prune_methods": 2, "robustness": 2}


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


def result_settings(config_dict: dict) -> dict:
    """The config as a plain dict without the keys that do not change results (and the later keys at their
    defaults), with the procedure number of its kind where :data:`PROCEDURES` has one."""
    out = json.loads(json.dumps(config_dict, default=list))
    procedure = PROCEDURES.get(out.get("kind"))
    for key in NON_RESULT_KEYS:
        _drop(out, key)
    for key, default in LATER_DEFAULTS.items():
        _drop(out, key, default)
    if procedure is not None:
        out["procedure"] = procedure
    return out


def run_id(config_dict: dict) -> str:
    """12 hex digits of SHA-256 over the canonical JSON of :func:`result_settings`."""
    text = json.dumps(result_settings(config_dict), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]
