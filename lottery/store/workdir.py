"""The workdir: checked before anything is written, then holding config, parts and results.

Layout::

    DIR/config.json          the resolved config and its run id
    DIR/.lock                held by the process running in DIR
    DIR/checkpoints/BUCKET/  Orbax checkpoints: the rewind state and every level (resume points)
    DIR/parts/*.parquet      results of each finished level of each bucket
    DIR/curves/*.parquet     reliability-diagram bin statistics of each level
    DIR/results.parquet      the merged results table
    DIR/calibration.parquet  the merged bin statistics
    DIR/timing.json          wall times per bucket (not part of the results: they vary)
    DIR/*.png                figures
"""
from __future__ import annotations

import json
import os

from lottery.core.errors import ConfigError
from lottery.store import files

CONFIG = "config.json"
LEARNING_CURVES = "learning_curves"  # DIR/learning_curves/*.parquet: per level; merged into learning_curves.parquet
SWEEP_MANIFEST = "manifest.json"  # a sweep's directory (lottery.store.manifest), not a run's


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


def create(workdir: str) -> None:
    """Creates the workdir (ConfigError if the system refuses, e.g. under /proc or /sys, even as root)."""
    try:
        os.makedirs(workdir, exist_ok=True)
        probe = os.path.join(workdir, ".write-probe")
        with open(probe, "w"):
            pass
        os.remove(probe)
    except OSError as e:
        raise ConfigError("workdir", f"{workdir} cannot be created or written ({e.strerror})") from None


def check_run(workdir: str, run_id: str) -> None:
    """Refuses a workdir that holds another run (settings that change results differ) or a sweep. Writes nothing."""
    if os.path.exists(os.path.join(workdir, SWEEP_MANIFEST)):
        raise ConfigError("workdir", f"{workdir} holds a sweep ({SWEEP_MANIFEST}); run it with python -m lottery.sweeps "
                                     f"or use another workdir")
    path = os.path.join(workdir, CONFIG)
    if os.path.exists(path):
        try:
            with open(path) as f:
                old = json.load(f).get("run_id")
        except (OSError, ValueError):
            raise ConfigError("workdir", f"{path} is unreadable; use a new workdir") from None
        if old != run_id:
            raise ConfigError("workdir", f"{workdir} holds run {old} with other settings; "
                                         f"use a new workdir for run {run_id} (only imp.levels may change)")


def prepare(workdir: str, config_dict: dict, run_id: str, models: dict | None = None,
            devices: dict | None = None) -> None:
    """Creates the layout, removes the temporaries a killed run left (``.tmp-*``) and records the config (call
    under the workdir lock, after check_run). ``models``: what each model of the run really is ({name: {hidden,
    use_bias, init, …}}), recorded beside the config, whose ``model.*`` fields a named model may ignore;
    ``devices``: what the run trains on (a sharded run's table may differ from a one-device run's in float
    rounding: docs/scaling.md)."""
    os.makedirs(os.path.join(workdir, "parts"), exist_ok=True)
    files.remove_stale_temporaries(workdir)
    check_run(workdir, run_id)
    path = os.path.join(workdir, CONFIG)
    record = {"run_id": run_id, "config": config_dict, **({"models": models} if models else {}),
              **({"devices": devices} if devices else {})}
    files.write_text(path, json.dumps(record, indent=2, sort_keys=True, default=list))


def config_path(workdir: str) -> str:
    return os.path.join(workdir, CONFIG)


def read_config(workdir: str) -> dict:
    """DIR/config.json as :func:`prepare` wrote it: {"run_id", "config": the config as a dict, "models"?,
    "devices"?}."""
    with open(config_path(workdir)) as f:
        return json.load(f)


def part_path(workdir: str, name: str) -> str:
    return os.path.join(workdir, "parts", f"{name}.parquet")


def learning_curve_part_path(workdir: str, name: str) -> str:
    """Learning curves of one level (errors and losses during its training)."""
    os.makedirs(os.path.join(workdir, LEARNING_CURVES), exist_ok=True)
    return os.path.join(workdir, LEARNING_CURVES, f"{name}.parquet")


def curve_part_path(workdir: str, name: str) -> str:
    """Reliability-diagram statistics of one level (written before its results part)."""
    os.makedirs(os.path.join(workdir, "curves"), exist_ok=True)
    return os.path.join(workdir, "curves", f"{name}.parquet")


def checkpoint_dir(workdir: str, bucket: str) -> str:
    return os.path.join(workdir, "checkpoints", bucket)


def read_timing(workdir: str) -> dict:
    try:
        with open(os.path.join(workdir, "timing.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def write_json(workdir: str, name: str, obj) -> None:
    files.write_text(os.path.join(workdir, name), json.dumps(obj, indent=2))


def write_timing(workdir: str, timing: dict) -> None:
    files.write_text(os.path.join(workdir, "timing.json"), json.dumps(timing, indent=2))
