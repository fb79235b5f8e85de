"""A full disk in the middle of a run — in a Parquet write or inside a checkpoint save (as Orbax / tensorstore
report it) — is one ConfigError naming the path and what to do, leaves no half-written file, and the same call
resumes to the table of a run that never ran out of space. On the command line that is one line and exit 2."""
import errno
import os

import pandas as pd
import pytest

from lottery.api import run
from lottery.errors import ConfigError
from lottery.store import checkpoints, files, result_tables

from helpers import tiny_config

QUIET = {"log": lambda s: None}


def config():
    return tiny_config(**{"imp.levels": 2, "model.widths": (3,), "eval.fresh_samples": 0})


def parquet_write_fails(monkeypatch):
    """Level 1's part: half its bytes reach the temporary file, then the disk is full."""
    original = result_tables.write

    def write(df, path):
        if "level_001" not in path:
            return original(df, path)
        with files.atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                f.write(b"PAR1 half a file")
            raise OSError(errno.ENOSPC, "No space left on device", path)

    monkeypatch.setattr(result_tables, "write", write)
    return "level_001"


def checkpoint_save_fails(monkeypatch):
    original = checkpoints.BucketCheckpoints.save

    def save(self, name, tree):
        if name == "level_002":
            try:
                raise OSError(errno.ENOSPC, "No space left on device")
            except OSError as inner:  # tensorstore's error, wrapped as Orbax reports it
                raise ValueError("Error writing checkpoint: RESOURCE_EXHAUSTED") from inner
        return original(self, name, tree)

    monkeypatch.setattr(checkpoints.BucketCheckpoints, "save", save)
    return None


@pytest.mark.parametrize("fail", [parquet_write_fails, checkpoint_save_fails])
def test_a_full_disk_is_one_config_error_and_the_run_resumes(tmp_path, monkeypatch, fail):
    whole = run(config(), str(tmp_path / "whole"), **QUIET)
    wd = tmp_path / "w"
    with monkeypatch.context() as m:
        where = fail(m)
        with pytest.raises(ConfigError) as e:
            run(config(), str(wd), **QUIET)
    assert e.value.field == "workdir" and "no space left writing" in str(e.value) and "\n" not in str(e.value)
    if where:
        assert where in str(e.value)  # the path being written
    left = [n for _, _, names in os.walk(wd) for n in names if n.startswith(".tmp-")]
    assert left == []
    pd.testing.assert_frame_equal(run(config(), str(wd), **QUIET), whole)
