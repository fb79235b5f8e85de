"""A damaged part (a bad copy, a disk error) is not trusted because it exists: a rerun makes its rows again
(from the level's checkpoint for IMP; by redoing the method for a pruning-method run) and ends with bitwise the
table of the undamaged run."""
import os

import pandas as pd
import pytest

from lottery.api import run
from lottery.store import result_tables

from helpers import tiny_config

QUIET = {"log": lambda s: None}


def damage(path, how):
    data = open(path, "rb").read()
    if how == "truncated":
        data = data[: len(data) // 2]
    else:  # one flipped byte in the middle: the file may still read, its digest does not match
        i = len(data) // 2
        data = data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]
    with open(path, "wb") as f:
        f.write(data)


@pytest.mark.parametrize("how", ["truncated", "flipped"])
def test_a_damaged_imp_part_is_rewritten_from_its_checkpoint(tmp_path, how):
    wd = tmp_path / "w"
    c = tiny_config(**{"imp.levels": 2, "model.widths": (3,), "eval.fresh_samples": 0})
    before = run(c, str(wd), **QUIET)
    parts = sorted((wd / "parts").glob("*level_001.parquet"))
    assert parts and result_tables.intact(str(parts[0]))
    damage(parts[0], how)
    assert not result_tables.intact(str(parts[0]))
    after = run(c, str(wd), **QUIET)
    pd.testing.assert_frame_equal(before, after)
    assert result_tables.intact(str(parts[0]))


def test_a_damaged_method_part_is_made_again(tmp_path):
    from lottery import studies
    c = studies.defaults("prune_methods")
    c.experiment, c.data.name, c.model.name, c.model.widths = "damaged", "gmm_linear", "gmm_fcn", (3,)
    c.data.dim, c.data.train_size, c.data.test_size = 6, 64, 32
    c.train.seeds, c.train.epochs, c.train.batch_size = (0,), 2, 16
    c.prune_methods.methods, c.prune_methods.ratios = ("magnitude", "random"), (0.0, 0.5)
    c.prune_methods.retrain_epochs, c.report.figures = 1, False
    wd = tmp_path / "w"
    before = run(c, str(wd), **QUIET)
    part = wd / "parts" / "prune_methods-random.parquet"
    damage(part, "truncated")
    after = run(c, str(wd), **QUIET)
    pd.testing.assert_frame_equal(before, after)
    assert result_tables.intact(str(part)) and os.path.exists(str(part) + result_tables.DIGEST)
