"""Run ids: a hash of the settings that change results."""
from __future__ import annotations

import hashlib
import json

from lottery.configs import NON_RESULT_KEYS


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
    if out.get("kind") == "imp":  # config.kind came after the first IMP runs; at its default their ids stay the same
        out.pop("kind")
    return out


def run_id(config_dict: dict) -> str:
    """12 hex digits of SHA-256 over the canonical JSON of :func:`result_settings`."""
    text = json.dumps(result_settings(config_dict), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]
