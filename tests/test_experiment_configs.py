"""Every experiment file gives the config it gave before the experiment files were rewritten to show every
hyperparameter (``tests/experiment_configs.json``: each file × preset as ``ConfigDict.to_json`` wrote it then, from
the preset functions of the old ``lottery/configs.py``), so their run ids and results are those of the runs made
before; and each file shows the hyperparameters a reader edits."""
import json
import pathlib
import re

import pytest

from lottery import api, configs

ROOT = pathlib.Path(__file__).resolve().parents[1]
RECORDED = json.loads((ROOT / "tests" / "experiment_configs.json").read_text())


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_each_experiment_gives_its_recorded_config(name):
    file, _, preset = name.partition(":")
    c = configs.load(f"{ROOT / 'experiments' / file}:{preset}")
    assert json.loads(c.to_json()) == RECORDED[name]
    api.check(c)  # and fits its kind's schema


def test_every_experiment_file_is_recorded():
    files = {p.name for p in (ROOT / "experiments").glob("*.py")}
    assert files == {n.partition(":")[0] for n in RECORDED}


@pytest.mark.parametrize("path", sorted((ROOT / "experiments").glob("*.py")), ids=lambda p: p.name)
def test_an_experiment_file_shows_its_hyperparameters(path):
    """Opening the file shows model and widths, data and noise, seeds, epochs, batch, learning rate, schedule, and
    the kind's own: IMP's levels, fraction, rule and rewind step; the pruning methods and ratios."""
    text = path.read_text()
    shown = ["c.model.name", "c.model.widths", "c.data.name", "c.data.noise.fraction", "c.train.seeds",
             "c.train.epochs", "c.train.batch_size", "c.optimizer.lr", "c.optimizer.schedule"]
    kind = configs.load(str(path)).kind
    shown += {"imp": ["c.imp.levels", "c.imp.fraction", "c.imp.rule", "c.imp.rewind"],
              "prune_methods": ["p.methods", "p.ratios", "p.retrain_epochs"],
              "robustness": ["p.methods", "p.ratios", "p.retrain_epochs", "r.architectures", "r.corruptions"]}[kind]
    missing = [s for s in shown if not re.search(re.escape(s) + r"\b[^=]*=", text)]
    assert not missing, f"{path.name} does not set {missing}"
