"""A fourth study kind, defined here, runs end to end through ``lottery.run``: the worked example of
ARCHITECTURE.md's "Adding a study kind" (one Study subclass + one line in STUDIES)."""
import numpy as np
import pandas as pd
import pytest

import lottery
from lottery import validate
from lottery.errors import ConfigError
from lottery.models import masks as model_masks
from lottery.store import result_tables, workdir as wd
from lottery.studies import STUDIES, Study, eval_sets, rows
from lottery.studies.levels import LevelResult
from lottery.train.state import Member
from lottery.train.trainer import BucketTrainer, build_bucket

from helpers import tiny_config

QUIET = {"log": lambda s: None}


class DenseOnly(Study):
    """Trains every width × seed once and evaluates it: IMP's level 0 without the pruning."""

    kind = "dense_only"

    def check(self, c) -> None:
        validate.common(c)
        validate.eval_section(c)

    def check_data(self, c, dataset) -> None:
        validate.against_data(c, dataset.train_size)

    def run(self, run) -> None:
        c, data = run.config, run.dataset
        spec = validate.model_spec(c)
        members = [Member(w, s, 0) for w in c.model.widths for s in c.train.seeds]
        trainer = BucketTrainer(build_bucket(spec, data.x_train, run.train_labels, members, c.train, c.optimizer,
                                             data.num_classes, bins=c.eval.bins))
        pop, _, seconds = trainer.train(trainer.init(), 0, trainer.total_steps)
        metrics = trainer.evaluate(pop, eval_sets.for_members(run, members))
        result = LevelResult(0, "main", np.asarray(model_masks.count_weights(pop.masks)), metrics,
                             np.asarray(pop.finite), seconds)
        result_tables.write(rows.result_rows(run, spec, members, result), wd.part_path(run.workdir, "dense_only"))

    def merge(self, run) -> pd.DataFrame:
        return result_tables.merge(run.workdir, run.run_id, 0)


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(STUDIES, DenseOnly.kind, DenseOnly())


def test_a_new_kind_runs_through_lottery_run(registered, tmp_path):
    c = tiny_config(**{"model.widths": (3,), "train.seeds": (0, 1), "eval.fresh_samples": 0, "train.pack": False})
    c.kind = "dense_only"
    df = lottery.run(c, str(tmp_path / "new"), **QUIET)
    c.kind, c.imp.levels = "imp", 0
    imp = lottery.run(c, str(tmp_path / "imp"), **QUIET)
    keys = ["width", "seed", "split"]
    a, b = df.sort_values(keys).reset_index(drop=True), imp.sort_values(keys).reset_index(drop=True)
    assert len(a) == 2 * len(result_tables.SPLITS) and a[keys].equals(b[keys])
    for col in ("error", "loss", "weights_remaining"):  # the same members, data order and steps as IMP's level 0
        assert a[col].tolist() == b[col].tolist(), col
    assert lottery.results.load(str(tmp_path / "new")).shape == df.shape


def test_an_unknown_kind_is_a_config_error(tmp_path):
    c = tiny_config()
    c.kind = "dense_only"  # not registered here
    with pytest.raises(ConfigError, match="kind"):
        lottery.run(c, str(tmp_path), **QUIET)
