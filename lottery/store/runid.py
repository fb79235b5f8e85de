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
                   "eval.every",  # learning curves observe training; they do not change it (tested bitwise)
                   "robustness.report_ratio")  # which ratio the report tabulates


def result_settings(config_dict: dict) -> dict:
    """The config as a plain dict without the keys that do not change results."""
    out = json.loads(json.dumps(config_dict, default=list))
    for key in NON_RESULT_KEYS:
        node, *path = key.split(".")
        holder = out
        while path and node in holder:
            holder, node = holder[node], path.pop(0)
        if not path:
            holder.pop(node, None)
    if out.get("data", {}).get("label_kind") == "fine":  # data.label_kind came later: at its default, ids stay the same
        out["data"].pop("label_kind")
    if out.get("kind") == "imp":  # config.kind came after the first IMP runs; at its default their ids stay the same
        out.pop("kind")
    return out


def run_id(config_dict: dict) -> str:
    """12 hex digits of SHA-256 over the canonical JSON of :func:`result_settings`."""
    text = json.dumps(result_settings(config_dict), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]
