"""The prune-methods experiment end to end (lottery.studies.prune_methods through lottery.run and the command line):
rows for every method × ratio × retrained and the dense reference, exact surviving counts, matched training budgets
(counted here from the config), ratio populations equal to single-ratio runs, resume, report, and one-line errors for
bad input."""
import math
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import lottery
from lottery import configs, studies
from lottery.api import run
from lottery.core.errors import ConfigError
from lottery.prune import methods
from helpers import override

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUIET = dict(log=lambda s: None)


def methods_config(**overrides):
    """A prune-methods run on a tiny Gaussian mixture (6 → 3 → 2, no biases): seconds."""
    c = studies.defaults("prune_methods")
    c.experiment, c.data.name, c.model.name, c.model.widths = "prune_methods_test", "gmm_linear", "gmm_fcn", (3,)
    c.data.dim, c.data.nu, c.data.train_size, c.data.test_size = 6, 1.5, 64, 32
    c.train.seeds, c.train.epochs, c.train.batch_size = (0, 1), 3, 16
    p = c.prune_methods
    p.ratios, p.retrain_epochs, p.score_epochs, p.taylor_batches, p.hessian = (0.0, 0.5, 0.8), 1, 3, 2, "exact"
    c.eval.fresh_samples = 0
    c.report.figures = False
    return override(c, overrides)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    wd = str(tmp_path_factory.mktemp("prune_methods"))
    return wd, run(methods_config(), wd, **QUIET)


def test_rows_for_every_method_ratio_and_retraining_with_exact_counts(finished):
    _, df = finished
    assert len(df) == (len(methods.NAMES) * 3 + 1) * 2 * 2 * 4  # (methods × ratios + dense) × retrained × seeds × splits
    total = 6 * 3 + 3 * 2
    for (method, ratio, retrained), g in df.groupby(["method", "ratio", "retrained"]):
        assert len(g) == 2 * 4
        assert (g.weights_remaining == total - math.ceil(round(ratio * total, 6))).all(), (method, ratio)
        assert (g.weights_total == total).all() and (g.retrain_epochs == (1 if retrained else 0)).all()
    assert set(df.method) == {"dense", *methods.NAMES} and not df.diverged.any()
    assert (df[df.method != "dense"].scope == "global").all() and (df[df.method == "dense"].ratio == 0.0).all()
    # At ratio 0 the methods that prune trained weights all leave the dense model, before and after fine-tuning.
    for retrained in (False, True):
        dense = df[(df.ratio == 0.0) & (df.retrained == retrained)
                   & df.method.isin(["dense", "random", "magnitude", "taylor1", "taylor2"])]
        assert dense.groupby(["seed", "split"]).error.nunique().max() == 1
        assert dense.groupby(["seed", "split"]).loss.agg(np.ptp).max() < 1e-5


def test_every_row_carries_its_budget_and_every_model_has_the_dense_references(finished):
    """Counted from the config: 64 examples in batches of 16 are 4 steps per epoch; 3 dense epochs, 1 of fine-tuning,
    biprop / edge-popup train scores for score_epochs = 3 in place of the weights."""
    _, df = finished
    per_epoch = math.ceil(64 / 16)
    reference = df[(df.method == "dense") & df.retrained]
    assert (reference.train_epochs == 3).all() and (reference.retrain_epochs == 1).all()
    assert (reference.total_steps == (3 + 1) * per_epoch).all()
    for (method, retrained), g in df.groupby(["method", "retrained"]):
        learned = method in ("biprop", "edge_popup")
        assert (g.train_epochs == (0 if learned else 3)).all(), method
        assert (g.score_epochs == (3 if learned else 0)).all(), method
        assert (g.total_epochs == g.train_epochs + g.score_epochs + g.retrain_epochs).all()
        # every model of the comparison: the dense reference's pre-training + fine-tuning, step for step
        assert (g.total_steps == (3 + (1 if retrained else 0)) * per_epoch).all(), (method, retrained)


def test_snip_trains_its_sparse_nets_for_the_dense_epochs(finished):
    """SNIP prunes at initialisation and then trains train.epochs with the dense recipe: at ratio 0 (nothing pruned,
    the same initial weights and data order) its model is the dense model, before and after fine-tuning."""
    _, df = finished
    keys = ["retrained", "seed", "split"]
    snip = df[(df.method == "snip") & (df.ratio == 0.0)].sort_values(keys).reset_index(drop=True)
    dense = df[df.method == "dense"].sort_values(keys).reset_index(drop=True)
    np.testing.assert_allclose(snip.loss, dense.loss, rtol=1e-4)
    np.testing.assert_allclose(snip.error, dense.error, atol=1 / 32 + 1e-9)  # at most one test point of 32 apart
    assert (snip[~snip.retrained].split == "test").any() and snip[~snip.retrained].error.max() < 0.5


def test_retrain_lr_changes_only_the_retrained_rows(finished, tmp_path):
    _, df = finished
    keys = ["method", "retrained", "ratio", "seed", "split"]
    sel = {"prune_methods.methods": ("magnitude",), "prune_methods.retrain_lr": 0.001}
    slow = run(methods_config(**sel), str(tmp_path), **QUIET)
    slow = slow[slow.method == "magnitude"].sort_values(keys).reset_index(drop=True)
    ref = df[df.method == "magnitude"].sort_values(keys).reset_index(drop=True)
    pruned = ~slow.retrained
    np.testing.assert_array_equal(slow.loss[pruned], ref.loss[pruned])
    assert not np.allclose(slow.loss[~pruned], ref.loss[~pruned])
    # A rate 100× smaller moves the fine-tuned models less from their pruned state.
    moved = lambda d: np.abs(d.loss[~d.retrained].to_numpy() - d.loss[d.retrained].to_numpy()).mean()  # noqa: E731
    assert moved(slow) < moved(ref)


def test_a_ratio_population_equals_single_ratio_runs(finished, tmp_path):
    _, df = finished
    keys = ["method", "retrained", "seed", "split"]
    one = run(methods_config(**{"prune_methods.ratios": (0.5,), "prune_methods.methods": ("magnitude", "snip", "biprop")}),
              str(tmp_path), **QUIET)
    both = df[(df.ratio == 0.5) & df.method.isin(["magnitude", "snip", "biprop"])].sort_values(keys).reset_index(drop=True)
    one = one[one.method != "dense"].sort_values(keys).reset_index(drop=True)
    pd.testing.assert_series_equal(both.weights_remaining, one.weights_remaining)
    pruned = ~both.retrained
    np.testing.assert_array_equal(both.error[pruned], one.error[pruned])
    np.testing.assert_allclose(both.loss, one.loss, rtol=1e-4)


def test_a_finished_run_restores_and_reports(finished, tmp_path):
    wd, df = finished
    logs = []
    again = run(methods_config(), wd, log=logs.append)
    pd.testing.assert_frame_equal(df, again)
    assert sum("rows already written" in line for line in logs) == len(methods.NAMES) + 1  # and the dense reference
    r = subprocess.run([sys.executable, "-m", "lottery.report", f"--workdir={wd}", f"--out={tmp_path}"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    figure = [f for f in os.listdir(tmp_path) if f.endswith("prune_methods.png")]
    assert figure and os.path.getsize(tmp_path / figure[0]) > 1000
    text = (tmp_path / "report.md").read_text()
    assert "biprop" in text and "Training budget" in text
    # the budgets, stated: 4 steps per epoch, 3 epochs before fine-tuning, 3 + 1 after, the reference fine-tuned alike
    assert ("before fine-tuning every model had 3 epochs (12 optimizer steps); after fine-tuning every model had "
            "4 epochs (16 optimizer steps); the dense reference was fine-tuned exactly like the pruned models") in text
    assert "| gmm_fcn | dense | yes | 3 | 0 | 1 | 4 | 16 |" in text
    assert "| gmm_fcn | biprop | yes | 0 | 3 | 1 | 4 | 16 |" in text


def test_imp_run_ids_are_unchanged_and_these_kinds_hash_their_procedure():
    """Matching the budgets changed what a prune-methods or robustness config computes, not what an IMP config does:
    IMP ids stay those of the runs made before (computed then), the other kinds' ids hash a procedure number."""
    import hashlib
    import json

    from lottery import api
    from lottery.store import runid

    for path, rid in (("gmm_linear.py:quick", "e1bb03ec7a7c"), ("gmm_linear.py", "abae899be113"),
                      ("mnist_fcn.py:quick", "79bceb3e4e88"), ("cifar10_resnet18.py:quick", "3b5ca223fbb0")):
        assert api.run_id(configs.load(os.path.join(ROOT, "experiments", path))) == rid, path
    robustness = configs.load(os.path.join(ROOT, "experiments", "robustness_lottery_mnist.py:quick"))
    for c in (methods_config().to_dict(), robustness.to_dict()):
        study = studies.get(c["kind"])
        settings = runid.result_settings(c, study_keys=study.non_result_keys + study.extending_keys,
                                         later_defaults=dict(study.later_defaults), procedure=study.procedure)
        assert settings.pop("procedure") == 2
        before = hashlib.sha256(json.dumps(settings, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:12]
        assert api.run_id(c) != before


def test_a_killed_run_resumes_at_the_first_method_without_rows(finished, tmp_path, monkeypatch):
    """What a kill after the first methods leaves (the dense checkpoint, their parts, no table): the same call
    restores the dense models, skips the methods with rows, makes the others and ends with the same table."""
    import shutil

    from lottery.store.checkpoints import BucketCheckpoints

    wd, df = finished
    killed = str(tmp_path / "killed")
    shutil.copytree(wd, killed)
    done, todo = methods.NAMES[:5], methods.NAMES[5:]
    for name in todo:
        for p in (tmp_path / "killed" / "parts").glob(f"prune_methods-{name}.parquet*"):
            p.unlink()
    os.remove(os.path.join(killed, "results.parquet"))

    saved, original = [], BucketCheckpoints.save
    monkeypatch.setattr(BucketCheckpoints, "save", lambda self, name, tree: (saved.append(name), original(self, name, tree)))
    logs = []
    again = run(methods_config(), killed, log=logs.append)
    assert "dense" not in saved  # restored from its checkpoint, not trained again
    # the dense reference's rows (fine-tuned, nothing pruned) were written before any method's
    assert [line.split(":")[0].strip() for line in logs if "rows already written" in line] == ["dense", *done]
    assert [line.split(":")[0].strip() for line in logs if line.startswith("  ") and "test accuracy" in line] == list(todo)
    pd.testing.assert_frame_equal(df, again)


BAD = [
    ({"prune_methods.methods": ("magnitude", "obd")}, "prune_methods.methods"),
    ({"prune_methods.ratios": (0.0, 1.0)}, "prune_methods.ratios"),
    ({"prune_methods.ratios": (-0.1,)}, "prune_methods.ratios"),
    ({"prune_methods.snip_batches": 0}, "prune_methods.snip_batches"),
    ({"prune_methods.snip_batches": 100}, "prune_methods.snip_batches"),  # more than the data holds
    ({"prune_methods.methods": ("biprop",), "prune_methods.ignore": ("dense_0", "dense_1")}, "prune_methods.ignore"),
    ({"prune_methods.taylor_batches": 0}, "prune_methods.taylor_batches"),
    ({"prune_methods.methods": ("magnitude",), "prune_methods.ignore": ("dense_0", "dense_1")}, "prune_methods.ignore"),
    ({"prune_methods.hessian": "gauss_newton"}, "prune_methods.hessian"),
    ({"prune_methods.retrain_lr": -0.01}, "prune_methods.retrain_lr"),
    ({"prune_methods.score_optimizer.lr": 0.0}, "prune_methods.score_optimizer.lr"),
    ({"model.widths": (3, 5)}, "model.widths"),
    # biprop / edge-popup train scores in place of the weights: a budget other than train.epochs is not matched
    ({"prune_methods.score_epochs": 2}, "prune_methods.score_epochs"),
]


@pytest.mark.parametrize("override,field", BAD)
def test_bad_input_is_refused_before_anything_is_written(tmp_path, override, field):
    with pytest.raises(ConfigError) as e:
        run(methods_config(**override), str(tmp_path / "wd"), **QUIET)
    assert e.value.field == field
    assert not (tmp_path / "wd").exists() or not os.listdir(tmp_path / "wd")


@pytest.mark.parametrize("flag,field", [
    ("--config.prune_methods.methods=('magnitude','obd')", "prune_methods.methods: unknown value 'obd'"),
    ("--config.prune_methods.ratios=(0.5,1.0)", "prune_methods.ratios"),
    ("--config.prune_methods.snip_batches=0", "SNIP scores need data"),
    ("--config.prune_methods.taylor_batches=0", "Taylor scores need data"),
    ("--config.prune_methods.ignore=('dense_0','dense_1')", "biprop has no scores to learn"),
])
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, flag, field):
    r = subprocess.run([sys.executable, "-m", "lottery.main", "--config=experiments/prune_methods_mnist.py:quick",
                        f"--workdir={tmp_path / 'wd'}", flag], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and field in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "wd").exists()


@pytest.mark.slow
def test_quick_preset_on_fashion_mnist_writes_every_method_and_ratio(tmp_path):
    if not os.path.isdir("/usr/share/datasets/fashion-mnist"):
        pytest.skip("Fashion-MNIST is not installed")
    wd = tmp_path / "prune_methods"
    r = subprocess.run([sys.executable, "-m", "lottery.main", "--config=experiments/prune_methods_mnist.py:quick",
                        f"--workdir={wd}"], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr
    df = lottery.results.load(str(wd))
    test = df[df.split == "test"]
    assert set(test.method) == {"dense", *methods.NAMES}
    assert test[test.method != "dense"].groupby(["method", "retrained"]).ratio.nunique().eq(10).all()
    # like with like: the dense reference is magnitude pruning at ratio 0 with the same fine-tuning
    at0 = lambda m: test[(test.method == m) & (test.ratio == 0.0) & test.retrained].error.mean()  # noqa: E731
    assert at0("dense") == at0("magnitude")
    assert (wd / "prune_methods.png").stat().st_size > 1000
    # The dense model learns Fashion-MNIST, and magnitude pruning keeps most of it at 50%.
    dense = test[(test.method == "magnitude") & (test.ratio == 0.0) & ~test.retrained].error.mean()
    half = test[(test.method == "magnitude") & (test.ratio == 0.5) & ~test.retrained].error.mean()
    assert dense < 0.25 and half < dense + 0.05
