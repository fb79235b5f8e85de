"""A full disk in the middle of a run — in a Parquet write, inside a checkpoint save (as Orbax / tensorstore
report it) or in a figure — is one ConfigError naming the path and what to do, leaves no half-written file, and the same call
resumes to the table of a run that never ran out of space. On the command line that is one line and exit 2."""
import errno
import os
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from lottery.api import run
from lottery.core.errors import ConfigError
from lottery.store import checkpoints, files, result_tables

from helpers import tiny_config

QUIET = {"log": lambda s: None}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def config(figures=False):
    return tiny_config(**{"imp.levels": 2, "model.widths": (3,), "eval.fresh_samples": 0, "report.figures": figures})


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


def figure_write_fails(monkeypatch):
    """The first figure: matplotlib has begun the PNG when the disk fills (a write error names no file)."""
    from matplotlib.figure import Figure

    def savefig(self, path, **kwargs):
        with open(path, "wb") as f:
            f.write(b"\x89PNG half a figure")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", savefig)
    return None


@pytest.mark.parametrize("fail", [parquet_write_fails, checkpoint_save_fails, figure_write_fails])
def test_a_full_disk_is_one_config_error_and_the_run_resumes(tmp_path, monkeypatch, fail):
    figures = fail is figure_write_fails
    whole = run(config(figures), str(tmp_path / "whole"), **QUIET)
    wd = tmp_path / "w"
    with monkeypatch.context() as m:
        where = fail(m)
        with pytest.raises(ConfigError) as e:
            run(config(figures), str(wd), **QUIET)
    assert e.value.field == "workdir" and "no space left writing" in str(e.value) and "\n" not in str(e.value)
    assert where in str(e.value) if where else str(wd) in str(e.value)  # the path being written, else the workdir
    left = [n for _, _, names in os.walk(wd) for n in names if n.startswith(".tmp-")]
    assert left == []
    pd.testing.assert_frame_equal(run(config(figures), str(wd), **QUIET), whole)
    if figures:
        assert (wd / "double_descent.png").read_bytes()[:4] == b"\x89PNG"


FULL_DISK_CLI = textwrap.dedent("""
    import errno, runpy, sys
    from lottery.store import files
    def write_text(path, text):  # the run's first file (config.json): the disk is already full
        raise OSError(errno.ENOSPC, "No space left on device", path)
    files.write_text = write_text
    sys.argv = ["lottery.main", *sys.argv[1:]]
    runpy.run_module("lottery.main", run_name="__main__", alter_sys=True)
""")


def test_a_full_disk_on_the_command_line_is_one_line_and_exit_2(tmp_path):
    script = tmp_path / "full.py"
    script.write_text(FULL_DISK_CLI)
    wd = tmp_path / "w"
    r = subprocess.run([sys.executable, str(script), "--config=experiments/gmm_linear.py:quick", f"--workdir={wd}"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stderr
    lines = [line for line in r.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: workdir: no space left writing {wd / 'config.json'}: "), r.stderr
