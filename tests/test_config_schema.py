"""lottery.run checks a config against its kind's schema: unknown fields and sections (with a "did you mean"),
missing sections and fields, wrong types — each a ConfigError naming the field, before anything is written; a
plain dict works as a ConfigDict does."""
import glob
import os

import pytest

import lottery
from lottery import api, configs
from lottery.core.errors import ConfigError

from helpers import tiny_config

QUIET = {"log": lambda s: None}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def misspelt_field(c):
    c.train.epoch = 5


def misspelt_section(c):
    c.trian = c.train.copy_and_resolve_references()


def missing_section(c):
    del c.optimizer


def missing_field(c):
    del c.train.batch_size


def string_for_int(c):  # a ConfigDict refuses a str for an int at assignment; a plain dict does not
    return {**c.to_dict(), "train": {**c.train.to_dict(), "epochs": "5"}}


def float_for_bool(c):
    return {**c.to_dict(), "train": {**c.train.to_dict(), "pack": 1.0}}


@pytest.mark.parametrize("change,field,words", [
    (misspelt_field, "train.epoch", "did you mean train.epochs?"),
    (misspelt_section, "trian", "did you mean train?"),
    (missing_section, "optimizer", "is missing (a whole section)"),
    (missing_field, "train.batch_size", "is missing"),
    (string_for_int, "train.epochs", "must be an integer, got '5'"),
    (float_for_bool, "train.pack", "must be True or False, got 1.0"),
])
def test_a_bad_config_is_a_config_error_naming_the_field(tmp_path, change, field, words):
    c = tiny_config()
    c = change(c) or c
    with pytest.raises(ConfigError) as e:
        lottery.run(c, str(tmp_path / "w"), **QUIET)
    assert e.value.field == field and words in str(e.value)
    assert not (tmp_path / "w").exists()


def test_a_plain_dict_runs_like_its_config_dict(tmp_path):
    c = tiny_config(**{"imp.levels": 0, "model.widths": (2,), "eval.fresh_samples": 0})
    a = lottery.run(c, str(tmp_path / "a"), **QUIET)
    b = lottery.run(c.to_dict(), str(tmp_path / "b"), **QUIET)
    assert a.equals(b)


def test_not_a_config_is_refused():
    with pytest.raises(ConfigError, match="ConfigDict or a dict"):
        api.as_config(["train"])


def test_every_experiment_file_fits_its_schema():
    paths = sorted(glob.glob(os.path.join(ROOT, "experiments", "*.py")))
    assert len(paths) >= 10
    for path in paths:
        for preset in ("default", "quick"):
            c = configs.load(f"{path}:{preset}")
            api.check(c)
