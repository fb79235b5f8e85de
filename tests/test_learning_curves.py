"""Learning curves (``eval.every``): every member's errors and losses observed during each IMP level's training.
The curve's last point is the level's end; a member trained alone has the same curve as inside its population;
observing changes no result and compiles nothing per chunk."""
import numpy as np
import pandas as pd
import pytest

import lottery
from lottery.studies.imp import bucket_levels

from helpers import instances_of, tiny_config

QUIET = {"log": lambda s: None}


def config(**kw):
    return tiny_config(**{"imp.levels": 2, "model.widths": (2, 5), "train.seeds": (0, 1), "train.epochs": 4,
                          "eval.fresh_samples": 0, "eval.every": "1ep", **kw})


@pytest.fixture(scope="module")
def observed(tmp_path_factory):
    wd = tmp_path_factory.mktemp("curves")
    df = lottery.run(config(), str(wd), **QUIET)
    return wd, df, lottery.results.load_learning_curves(str(wd))


def test_every_level_has_one_point_per_epoch_and_split(observed):
    _, df, curves = observed
    per_epoch = 64 // 16
    assert sorted(curves.step.unique()) == [per_epoch * e for e in (1, 2, 3, 4)]
    assert set(curves.split) == {"train_noisy", "train_clean", "test", "test_noisy"}
    assert set(curves.level) == {0, 1, 2}
    models = df[["width", "seed", "noise_seed"]].drop_duplicates()
    assert len(curves) == len(models) * 3 * 4 * 4  # models × levels × epochs × splits
    np.testing.assert_array_equal(curves.epoch, curves.step / per_epoch)


def test_the_last_point_is_the_level_end(observed):
    _, df, curves = observed
    keys = ["width", "seed", "noise_seed", "level", "branch", "split"]
    last = curves[curves.step == curves.step.max()].set_index(keys).sort_index()
    end = df.set_index(keys).sort_index().loc[last.index]
    np.testing.assert_array_equal(last.error.to_numpy(), end.error.to_numpy())
    np.testing.assert_allclose(last.loss.to_numpy(), end.loss.to_numpy(), rtol=1e-6)


def test_observing_changes_no_result(observed, tmp_path):
    _, df, _ = observed
    plain = lottery.run(config(**{"eval.every": "0"}), str(tmp_path), **QUIET)
    pd.testing.assert_frame_equal(df, plain)  # bitwise: the same run id and every column
    assert not (tmp_path / "learning_curves.parquet").exists()


def test_a_member_alone_has_its_curve_in_the_population(observed, tmp_path):
    _, _, curves = observed
    alone = lottery.run(config(**{"model.widths": (5,), "train.seeds": (1,)}), str(tmp_path), **QUIET)
    assert len(alone)
    mine = lottery.results.load_learning_curves(str(tmp_path))
    keys = ["level", "branch", "step", "split"]
    inside = curves[(curves.width == 5) & (curves.seed == 1)].sort_values(keys).reset_index(drop=True)
    mine = mine.sort_values(keys).reset_index(drop=True)
    np.testing.assert_allclose(mine.error, inside.error, atol=1e-6)
    np.testing.assert_allclose(mine.loss, inside.loss, rtol=1e-4)


@pytest.mark.parametrize("pack", [True, False])
def test_curves_are_measured_inside_the_one_training_program(monkeypatch, tmp_path, pack):
    runners = instances_of(monkeypatch, bucket_levels.BucketIMP)
    lottery.run(config(**{"model.widths": (3,), "imp.compact": False, "train.pack": pack}), str(tmp_path), **QUIET)
    (runner,) = runners
    trainer = runner.trainer
    assert trainer.strategy.name == ("packed" if pack else "vmapped") and trainer.strategy.curves_inside
    assert runner.curve_every == 4
    assert trainer.chunk == trainer.total_steps  # the chunk is not cut at the measurements
    assert trainer.strategy.cache_size() == 1  # one program trains and measures, every level
    assert trainer.curve_evaluator.cache_size() == 0  # no evaluation between chunks


def test_every_strategy_measures_the_same_curves(observed, tmp_path):
    """Packed (inside its program), vmapped (inside) and the member loop (between chunks, on the population): the
    same curves up to float rounding of the layouts."""
    _, _, packed = observed
    keys = ["width", "seed", "noise_seed", "level", "branch", "step", "split"]
    packed = packed.sort_values(keys).reset_index(drop=True)
    for i, kw in enumerate(({"train.pack": False}, {"train.pack": False, "train.members": "loop"})):
        lottery.run(config(**kw), str(tmp_path / str(i)), **QUIET)
        other = lottery.results.load_learning_curves(str(tmp_path / str(i))).sort_values(keys).reset_index(drop=True)
        pd.testing.assert_frame_equal(other[keys], packed[keys])
        np.testing.assert_allclose(other.error, packed.error, atol=1 / 64 + 1e-6)  # at most one example flips
        np.testing.assert_allclose(other.loss, packed.loss, rtol=1e-3, atol=1e-5)


def test_a_bad_interval_is_one_config_error(tmp_path):
    from lottery.core.errors import ConfigError
    for bad in ("1e", "0ep", "every epoch"):
        with pytest.raises(ConfigError, match="eval.every"):
            lottery.run(config(**{"eval.every": bad}), str(tmp_path / "w"), **QUIET)
