"""A rerun removes the temporaries that a kill inside an atomic write leaves (``.tmp-*``), and nothing else."""
import os

from lottery.api import run
from lottery.store import files

from helpers import tiny_config

QUIET = {"log": lambda s: None}


def test_a_rerun_removes_stale_temporaries_and_keeps_the_table(tmp_path):
    wd = tmp_path / "w"
    c = tiny_config(**{"imp.levels": 1, "model.widths": (3,), "eval.fresh_samples": 0})
    first = run(c, str(wd), **QUIET)
    planted = [wd / ".tmp-abc123", wd / "parts" / ".tmp-k9", wd / "checkpoints" / ".tmp-zz"]
    for p in planted:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"half a parquet")  # what a SIGKILL between write and rename leaves
    kept = wd / "notes.tmp"
    kept.write_text("the user's")
    again = run(c, str(wd), **QUIET)
    assert not any(p.exists() for p in planted)
    assert kept.exists()
    assert again.equals(first)
    left = [n for _, _, names in os.walk(wd) for n in names if n.startswith(files.TEMPORARY_PREFIX)]
    assert left == []
