"""The robustness study end to end (lottery.studies.robustness through lottery.run, the report and the command line)
on synthetic CIFAR-format images: every table written, the dense reference trained and fine-tuned like the pruned
models (budgets counted here from the config), eq. 6 and the geometry recomputed independently from the checkpointed
dense models and the cached corrupted images, resume, report, one-line errors."""
import math
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from lottery import studies
from lottery.api import run
from lottery.core.errors import ConfigError
from lottery.store import analysis as store
from lottery.store import workdir as wd
from lottery.store.checkpoints import BucketCheckpoints
from helpers import override

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUIET = dict(log=lambda s: None)
CORRUPTIONS = ("gaussian_noise", "rotate", "contrast")


def robustness_config(**overrides):
    """LeNet-5 and a 3072 → 16 → 10 FCN on 256 synthetic CIFAR-format images, two methods × two ratios, three
    corruptions at two severities, 24 test examples: well under a minute of training."""
    c = studies.defaults("robustness")
    c.experiment, c.data.name, c.model.name, c.model.widths = "robustness_test", "cifar10_synthetic", "mnist_fcn2", (16,)
    c.robustness.architectures = ("mnist_fcn2:16", "lenet5:1")
    c.data.train_size, c.data.test_size = 256, 64
    c.train.seeds, c.train.epochs, c.train.batch_size = (0, 1), 1, 32
    p = c.prune_methods
    p.methods, p.ratios, p.retrain_epochs, p.taylor_batches = ("magnitude", "random"), (0.0, 0.5), 1, 1
    r = c.robustness
    r.corruptions, r.severities, r.geometry_severity = CORRUPTIONS, (1, 3), 3
    r.test_examples, r.occlusion_samples, r.occlusion_patch, r.occlusion_stride = 24, 1, 8, 8
    r.dimension_widths, r.random_dims, r.report_ratio = (1,), (2, 64), 0.5
    c.report.figures = False
    return override(c, overrides)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("robust"))
    return workdir, run(robustness_config(), workdir, **QUIET)


@pytest.fixture(scope="module")
def untuned(tmp_path_factory):
    """One FCN, magnitude pruning, no fine-tuning: the dense reference is the checkpointed dense model itself."""
    workdir = str(tmp_path_factory.mktemp("untuned"))
    c = robustness_config(**{"robustness.architectures": ("mnist_fcn2:16",), "prune_methods.methods": ("magnitude",),
                             "prune_methods.retrain_epochs": 0, "robustness.dimension_widths": ()})
    return workdir, run(c, workdir, **QUIET)


def _models_per_arch():
    return 2 + 2 * 2 * 2  # dense (2 seeds) + methods × ratios × seeds


def test_every_table_has_every_model_and_set(finished):
    workdir, df = finished
    assert set(df.model) == {"mnist_fcn2", "lenet5"} and set(df.method) == {"dense", "magnitude", "random"}
    ev = store.load(workdir, "evaluation")
    assert len(ev) == 2 * _models_per_arch() * (1 + 3 * 2)
    samples = store.load(workdir, "samples")
    assert len(samples) == 2 * _models_per_arch() * (1 + 3) * 24  # clean + each corruption at severity 3
    scores = store.load(workdir, "scores")
    assert len(scores) == 2 * _models_per_arch() * 24
    assert scores.robustness.between(0, 6).all()
    assert (scores.robustness == scores[[f"correct_{c}" for c in CORRUPTIONS]].sum(axis=1)).all()
    # eq. 7 over the method's two ratios, the same value at both ratios of a seed
    pv = scores[scores.method != "dense"].groupby(["architecture", "method", "seed", "sample"]).pruning_vulnerability
    assert (pv.nunique() == 1).all() and scores.pruning_vulnerability.between(0, 2).all()
    points = store.load(workdir, "embedding_points")
    edges = store.load(workdir, "embedding_edges")
    assert len(points) == 2 * _models_per_arch() * 4 and len(edges) == len(points) - 4  # a tree per eval set
    assert edges.groupby("eval_set").size().eq(2 * _models_per_arch() - 1).all()
    cka = store.load(workdir, "cka")
    assert len(cka) == 2 * _models_per_arch() ** 2
    np.testing.assert_allclose(cka[cka.model_a == cka.model_b].cka, 1.0, atol=1e-4)
    occ = store.load(workdir, "occlusion")
    assert set(occ.measure) == {"angle_own", "length", "margin", "prob_own"}
    assert len(occ) == 2 * _models_per_arch() * 4 and all(len(m) == 32 * 32 for m in occ["map"])
    dims = store.load(workdir, "dimensionality")
    assert set(dims.kind) == {"random vectors", "lenet5 untrained", "lenet5 trained"}
    assert dims[dims.kind == "lenet5 untrained"].dim.tolist() == [84]


def test_the_dense_reference_is_ratio_0_of_the_same_training_and_fine_tuning(finished):
    """256 examples in batches of 32: 8 steps per epoch; 1 dense epoch and 1 of fine-tuning for every model, the dense
    reference included — which is then magnitude pruning at ratio 0, on every evaluation set."""
    workdir, df = finished
    per_epoch = math.ceil(256 / 32)
    assert df.retrained.all() and (df.train_epochs == 1).all() and (df.retrain_epochs == 1).all()
    assert (df.score_epochs == 0).all() and (df.total_steps == (1 + 1) * per_epoch).all()
    keys = ["model", "seed", "split"]
    dense = df[df.method == "dense"].sort_values(keys).reset_index(drop=True)
    at0 = df[(df.method == "magnitude") & (df.ratio == 0.0)].sort_values(keys).reset_index(drop=True)
    np.testing.assert_array_equal(dense.error, at0.error)
    np.testing.assert_allclose(dense.loss, at0.loss, rtol=1e-5)
    ev = store.load(workdir, "evaluation")
    sets = ["architecture", "seed", "corruption", "severity"]
    a = ev[ev.method == "dense"].sort_values(sets).reset_index(drop=True)
    b = ev[(ev.method == "magnitude") & (ev.ratio == 0.0)].sort_values(sets).reset_index(drop=True)
    np.testing.assert_array_equal(a.accuracy, b.accuracy)


def _dense_models(workdir):
    """The checkpointed dense FCNs (trained params × masks) of the run: [{layer: {kernel, bias}}] per seed."""
    saved = BucketCheckpoints(wd.checkpoint_dir(workdir, "robustness-mnist_fcn2-w16")).load("dense")
    params = {k: {n: np.asarray(v) * np.asarray(saved["masks"][k].get(n, 1.0)) for n, v in leaf.items()}
              for k, leaf in saved["trained"].items()}
    return [{k: {n: v[i] for n, v in leaf.items()} for k, leaf in params.items()} for i in range(2)]


def _normalised(images):
    from lottery.data import cifar

    return (images.astype(np.float32) / 255.0 - np.asarray(cifar.MEAN, np.float32)) / np.asarray(cifar.STD, np.float32)


def _fcn(p, x):
    """numpy forward of 3072 → 16 → 10: (features [N, 16], logits [N, 10])."""
    h = np.maximum(x.reshape(len(x), -1) @ p["dense_0"]["kernel"] + p["dense_0"]["bias"], 0.0)
    return h, h @ p["dense_1"]["kernel"] + p["dense_1"]["bias"]


def test_robustness_and_geometry_recomputed_from_the_dense_checkpoints(untuned):
    workdir, df = untuned
    assert (df.retrain_epochs == 0).all() and (df.total_steps == math.ceil(256 / 32)).all()  # 1 epoch, no fine-tuning
    samples, scores = store.load(workdir, "samples"), store.load(workdir, "scores")
    labels = samples[(samples.eval_set == "clean")].drop_duplicates("sample").sort_values("sample").label.to_numpy()
    for seed, p in enumerate(_dense_models(workdir)):
        sel = lambda d: d[(d.architecture == "mnist_fcn2-w16") & (d.method == "dense") & (d.seed == seed)]  # noqa: E731
        count = np.zeros(24, int)
        for c in CORRUPTIONS:
            for s in (1, 3):
                _, logits = _fcn(p, _normalised(np.load(store.corrupted_path(workdir, c, s))))
                count += logits.argmax(1) == labels
        np.testing.assert_array_equal(sel(scores).sort_values("sample").robustness.to_numpy(), count)
        feats, logits = _fcn(p, _normalised(np.load(store.corrupted_path(workdir, "clean", 0))))
        w, b = p["dense_1"]["kernel"].T, p["dense_1"]["bias"]
        rows = sel(samples[samples.eval_set == "clean"]).sort_values("sample")
        for i in range(24):
            x, y = feats[i].astype(np.float64), labels[i]
            pred = int(np.argmax(logits[i]))
            cos = w[y] @ x / (np.linalg.norm(w[y]) * np.linalg.norm(x))
            margin = min(abs((w[pred] - w[j]) @ x + b[pred] - b[j]) / np.linalg.norm(w[pred] - w[j])
                         for j in range(10) if j != pred) * (1 if pred == y else -1)
            row = rows.iloc[i]
            assert row.pred == pred
            np.testing.assert_allclose(row.angle_own, math.degrees(math.acos(np.clip(cos, -1, 1))), atol=2e-3)
            np.testing.assert_allclose(row.length, np.linalg.norm(x), rtol=1e-4)
            np.testing.assert_allclose(row.margin, margin, rtol=1e-3, atol=1e-4)


def test_resume_redoes_nothing_and_gives_the_same_tables(finished):
    workdir, df = finished
    lines = []
    again = run(robustness_config(), workdir, log=lines.append)
    pd.testing.assert_frame_equal(df, again)
    assert sum("analysed already" in line for line in lines) == 2 * 3


def test_a_killed_run_redoes_only_the_population_it_was_in(finished, tmp_path):
    """What a kill inside the last population leaves (its rows written, one analysis table, no DONE marker, no
    merged tables): the same call analyses that population alone, reuses the cached corrupted images and ends
    with the same tables."""
    import shutil

    workdir, df = finished
    killed = tmp_path / "killed"
    shutil.copytree(workdir, killed)
    [last] = [p for p in (killed / "analysis" / "parts").iterdir() if p.name.startswith("lenet5") and
              p.name.endswith("-random")]
    for name in os.listdir(last):
        if name != "evaluation.parquet":
            os.remove(last / name)
    os.remove(killed / "results.parquet")
    for table in ("evaluation", "samples", "scores"):
        os.remove(store.table_path(str(killed), table))
    cached = {p: p.stat().st_mtime_ns for p in (killed / "analysis" / "corrupted").iterdir()}
    assert len(cached) == 1 + 3 * 2  # clean + corruptions × severities
    lines = []
    again = run(robustness_config(), str(killed), log=lines.append)
    assert sum("analysed already" in line for line in lines) == 2 * 3 - 1
    assert [line.split(":")[0].strip() for line in lines if "accuracy clean" in line] == ["random"]
    assert {p: p.stat().st_mtime_ns for p in (killed / "analysis" / "corrupted").iterdir()} == cached
    pd.testing.assert_frame_equal(df, again)
    for table in ("evaluation", "samples", "scores"):
        pd.testing.assert_frame_equal(store.load(workdir, table), store.load(str(killed), table))


def test_report_writes_the_grid_tables_and_dimensionality_plot(finished, tmp_path):
    workdir, _ = finished
    out = str(tmp_path / "report")
    proc = subprocess.run([sys.executable, "-m", "lottery.report", f"--workdir={workdir}", f"--out={out}"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    text = open(os.path.join(out, "report.md")).read()
    for needle in ("Corruptions", "Evaluation table", "rc-angle", "rc-l2", "rc-margin", "Curse of dimensionality",
                   "Training budget", "after fine-tuning every model had 2 epochs (16 optimizer steps); the dense "
                   "reference was fine-tuned exactly like the pruned models",
                   "| mnist_fcn2 | dense | yes | 1 | 0 | 1 | 2 | 16 |", "| lenet5 | random | yes | 1 | 0 | 1 | 2 | 16 |"):
        assert needle in text
    pngs = [f for f in os.listdir(out) if f.endswith(".png")]
    assert {p.rsplit("-", 1)[-1] for p in pngs} == {"corruptions.png", "evaluation.png", "dimensionality.png"}


def test_each_architecture_is_checked_as_its_own_config_with_its_kind_unchanged():
    """The per-architecture configs change only model.name / model.widths (kind stays "robustness", the run's config
    is not touched) and pass the prune-methods checks as they are; a check's model.* error is reported on
    robustness.architectures with the architecture named, any other as it is."""
    from lottery.studies import prune_methods
    from lottery.studies.robustness import configs as robustness_configs

    c = robustness_config()
    archs = robustness_configs.architecture_configs(c)
    assert [(label, a.kind, a.model.name, tuple(a.model.widths)) for label, a in archs] == [
        ("mnist_fcn2:16", "robustness", "mnist_fcn2", (16,)), ("lenet5:1", "robustness", "lenet5", (1,))]
    assert (c.kind, c.model.name, tuple(c.model.widths)) == ("robustness", robustness_config().model.name,
                                                              tuple(robustness_config().model.widths))
    for _, a in archs:
        prune_methods.check(a)
    seen = []

    def refuse(field):
        def check(arch):
            seen.append(arch.model.name)
            raise ConfigError(field, "no")
        return check

    with pytest.raises(ConfigError) as e:
        robustness_configs.check_each_architecture(c, refuse("model.name"))
    assert (e.value.field, e.value.message, seen) == ("robustness.architectures", "mnist_fcn2:16: no", ["mnist_fcn2"])
    with pytest.raises(ConfigError) as e:
        robustness_configs.check_each_architecture(c, refuse("train.epochs"))
    assert (e.value.field, e.value.message) == ("train.epochs", "no")


@pytest.mark.parametrize("field,value,needle", [
    ("robustness.corruptions", ("gaussian_noise", "fgsm"), "unknown value 'fgsm'"),
    ("robustness.severities", (1, 6), "severities are 1…5"),
    ("robustness.architectures", ("lenet5:1", "resnet_21:4"), "robustness.architectures"),
    ("robustness.geometry_severity", 4, "one of robustness.severities"),
    ("robustness.occlusion_samples", -2, r"≥ 0 or -1 \(every analysed sample\)"),
])
def test_bad_robustness_fields_are_one_line_errors(tmp_path, field, value, needle):
    with pytest.raises(ConfigError, match=needle) as e:
        run(robustness_config(**{field: value}), str(tmp_path), **QUIET)
    assert "\n" not in str(e.value)
    assert not os.listdir(tmp_path)


def test_the_gmm_study_is_refused_and_the_cli_exits_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "lottery.main", "--config=experiments/robustness_lottery_mnist.py:quick",
                           "--config.data.name=gmm_linear", f"--workdir={tmp_path / 'w'}"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "data.name" in proc.stderr, proc.stderr


def test_a_100_class_cifar100_run_with_maps_for_every_sample_feeds_the_dashboard(tmp_path):
    """CIFAR-100 files in the real cifar-100-python format (random pixels, fine labels 0…99) through a
    one-architecture robustness run with robustness.occlusion_samples = -1: a 100-way head, maps for every
    analysed sample, one tree per eval set, and the dashboard loads it with CIFAR-100's class names."""
    import pickle

    from lottery.dashboard import loading
    from lottery.dashboard.endpoints import Endpoints

    folder = tmp_path / "data" / "cifar-100-python"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", 200), ("test", 40)):
        fine = rng.permutation(np.arange(n) % 100)
        batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"fine_labels": fine.tolist(),
                 b"coarse_labels": (fine % 20).tolist(), b"filenames": [b"x.png"] * n, b"batch_label": split.encode()}
        with open(folder / split, "wb") as f:
            pickle.dump(batch, f, protocol=2)
    c = robustness_config(**{"data.name": "cifar100", "data.data_dir": str(folder),
                             "robustness.architectures": ("mnist_fcn2:16",), "robustness.occlusion_samples": -1,
                             "robustness.test_examples": 12, "robustness.dimension_widths": (),
                             "train.seeds": (0,), "prune_methods.methods": ("magnitude",)})
    workdir = str(tmp_path / "run")
    run(c, workdir, **QUIET)
    samples = store.load(workdir, "samples")
    assert [f"angle_{k}" for k in range(100)] == [col for col in samples.columns if col[6:].isdigit()]
    occ = store.load(workdir, "occlusion")
    assert sorted(occ["sample"].unique()) == list(range(12)) and occ["sample"].is_monotonic_increasing
    assert occ["map"].iloc[0].dtype == np.float16
    edges, points = store.load(workdir, "embedding_edges"), store.load(workdir, "embedding_points")
    assert (edges.groupby("eval_set").size() == points.groupby("eval_set").size() - 1).all()
    study = loading.load(workdir)
    assert study.n_classes == 100 and study.class_names[99] == "worm" and study.occlusion_samples == list(range(12))
    answer = Endpoints(study).answer("attribution", {"models": [0], "eval_set": "clean", "sample": 11})
    maps = answer["data"]["maps"]  # sent by column
    assert len(maps["row"]) == 4 * 32 * 32 and "every one of the 12" in answer["note"]
