"""``train.memory``: a bucket whose training program would not fit the budget trains as consecutive slices of its
members, chosen by XLA's memory analysis; the results and learning curves are bitwise those of the unsliced run."""
import numpy as np
import pandas as pd
import pytest

import lottery
from lottery.core.errors import ConfigError
from lottery.studies.imp import bucket_levels
from lottery.train import program_memory
from lottery.train.strategies.sliced import even_slices

from helpers import instances_of, tiny_config

QUIET = {"log": lambda s: None}


def config(**kw):
    return tiny_config(**{"model.widths": (2, 3, 5, 8), "train.seeds": (0, 1, 2), "imp.levels": 1,
                          "eval.fresh_samples": 0, "eval.every": "2ep", "train.bucket_ratio": 100.0, **kw})


@pytest.mark.parametrize("pack", [True, False])
def test_a_budget_that_forces_slices_changes_no_result(monkeypatch, tmp_path, pack):
    c = config(**{"train.pack": pack})
    plan = lottery.plan(c, measure=lambda: 1e9)
    assert len(plan) == 1 and plan.members[0] == 12  # one bucket of 4 widths × 3 seeds
    whole = int(plan.memory_bytes[0])
    whole_df = lottery.run(c, str(tmp_path / "whole"), **QUIET)
    runners = instances_of(monkeypatch, bucket_levels.BucketIMP)
    budget = int(whole * 0.8)
    sliced_df = lottery.run(config(**{"train.pack": pack, "train.memory": str(budget)}), str(tmp_path / "sliced"),
                            **QUIET)
    (runner,) = runners
    strategy = runner.trainer.strategy
    assert " in " in strategy.name and len(strategy.parts) >= 2  # e.g. "packed in 2 slices"
    assert runner.trainer.program_bytes()[0] <= budget < whole
    if pack:  # a packed bucket is cut between widths: every slice keeps all seeds of its widths
        assert all((p.stop - p.start) % 3 == 0 for p in strategy.parts)
    pd.testing.assert_frame_equal(whole_df, sliced_df)  # bitwise, every column
    curves = [lottery.results.load_learning_curves(str(tmp_path / n)) for n in ("whole", "sliced")]
    assert len(curves[0])
    pd.testing.assert_frame_equal(*curves)


def test_a_budget_no_slice_fits_is_one_config_error(tmp_path):
    with pytest.raises(ConfigError, match="train.memory") as e:
        lottery.run(config(**{"train.memory": "1KiB"}), str(tmp_path), **QUIET)
    assert "\n" not in str(e.value) and "budget 1,024" in str(e.value)


@pytest.mark.parametrize("bad", ["lots", "-5GB", "12 parsecs", "0"])
def test_a_bad_budget_is_one_config_error(tmp_path, bad):
    with pytest.raises(ConfigError, match="train.memory"):
        lottery.run(config(**{"train.memory": bad}), str(tmp_path), **QUIET)
    assert not any(tmp_path.iterdir())


def test_budgets_parse_to_bytes():
    assert program_memory.budget("none") is None
    assert program_memory.budget("16GiB") == 16 * 2 ** 30 and program_memory.budget("512MB") == 512 * 10 ** 6
    assert program_memory.budget(1000) == 1000
    assert program_memory.budget("auto") > 0


def test_even_slices_keep_units_together():
    assert even_slices(7, 3) == [slice(0, 3), slice(3, 5), slice(5, 7)]
    assert even_slices(12, 3, unit=3) == [slice(0, 6), slice(6, 9), slice(9, 12)]  # 4 widths of 3 seeds in 3
    parts = even_slices(12, 4, unit=3)
    assert [p.stop - p.start for p in parts] == [3, 3, 3, 3] and np.all(np.diff([p.start for p in parts]) == 3)


@pytest.mark.parametrize("pack", [True, False])
def test_fitting_a_budget_returns_a_strategy_and_changes_no_trainer(pack):
    """``fit_memory`` answers with the sliced strategy (whose program fits) and leaves the trainer's own alone; a
    trainer built with the budget adopts that same slicing."""
    import jax.numpy as jnp

    from lottery.models import registry
    from lottery.train.state import Member
    from lottery.train.trainer import BucketTrainer, build_bucket

    c = config(**{"train.pack": pack})
    x = jnp.zeros((64, 6), jnp.float32)
    labels = jnp.zeros((1, 64), jnp.int32)
    members = [Member(w, s) for w in (2, 3, 5, 8) for s in (0, 1, 2)]

    def trainer():
        return BucketTrainer(build_bucket(registry.get("gmm_fcn"), x, labels, members, c.train, c.optimizer, 2))

    t = trainer()
    own = t.strategy
    whole = t.program_bytes()[0]
    budget = int(whole * 0.8)
    fitted, n = t.fit_memory(budget)
    assert t.strategy is own and t.program_bytes()[0] == whole  # nothing changed behind the caller's back
    assert n >= 2 and len(fitted.parts) == n and fitted.name == f"{own.name} in {n} slices"
    assert t.program_bytes(fitted)[0] <= budget < whole
    assert [m for p in fitted.parts for m in members[p]] == members  # consecutive slices of every member
    assert t.fit_memory(whole) == (own, 1)  # the whole bucket fits: its own strategy
    c.train.memory = str(budget)
    adopted = trainer()
    assert adopted.strategy.name == fitted.name and adopted.strategy.parts == fitted.parts
