"""The workdir: checked before anything is written, then holding config, parts and results.

Layout::

    DIR/config.json          the resolved config and its run id
    DIR/parts/*.parquet      results of each finished bucket (a killed run skips them on resume)
    DIR/results.parquet      the merged results table
    DIR/timing.json          wall times per bucket (not part of the results: they vary)
    DIR/*.png                figures
"""
from __future__ import annotations

import json
import os

from lottery.errors import ConfigError
from lottery.store import files

CONFIG = "config.json"


def check_writable(workdir: str) -> None:
    """Raises ConfigError('workdir', …) unless ``workdir`` exists writable or can be created. Writes nothing."""
    if not workdir:
        raise ConfigError("workdir", "is required (--workdir=DIR)")
    path = os.path.abspath(workdir)
    if os.path.exists(path) and not os.path.isdir(path):
        raise ConfigError("workdir", f"{workdir} exists and is not a directory")
    probe = path
    while not os.path.exists(probe):
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe) or not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError("workdir", f"{workdir} is not writable ({probe} does not accept new files)")


def prepare(workdir: str, config_dict: dict, run_id: str) -> None:
    """Creates the workdir and records the config; refuses a workdir of another run."""
    os.makedirs(os.path.join(workdir, "parts"), exist_ok=True)
    path = os.path.join(workdir, CONFIG)
    if os.path.exists(path):
        with open(path) as f:
            old = json.load(f)
        if old.get("run_id") != run_id:
            raise ConfigError("workdir", f"{workdir} holds run {old.get('run_id')} with other settings; "
                                         f"use a new workdir for run {run_id}")
    files.write_text(path, json.dumps({"run_id": run_id, "config": config_dict}, indent=2, sort_keys=True, default=list))


def part_path(workdir: str, name: str) -> str:
    return os.path.join(workdir, "parts", f"{name}.parquet")


def write_timing(workdir: str, timing: dict) -> None:
    files.write_text(os.path.join(workdir, "timing.json"), json.dumps(timing, indent=2))
