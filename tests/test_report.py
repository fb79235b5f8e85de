"""The study report builds from finished runs' tables: every expected file exists and is a valid PNG."""
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from lottery.api import run
from lottery.report import imp_section, sparse_double_descent
from helpers import tiny_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    out = []
    for name, nu in (("gmm_linear", 0.5), ("gmm_xor", 1.0)):
        c = tiny_config(**{"data.name": name, "data.nu": nu, "imp.levels": 2, "model.widths": (2, 6),
                           "eval.fresh_samples": 500, "train.epochs": 6})
        run(c, str(base / name), log=lambda s: None)
        out.append(str(base / name))
    return out


def test_report_cli_writes_every_figure_and_the_markdown(runs, tmp_path):
    out = tmp_path / "report"
    r = subprocess.run([sys.executable, "-m", "lottery.report", *[f"--workdir={w}" for w in runs], f"--out={out}"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    names = sorted(os.listdir(out))
    for kind in ("double_descent", "sparse_double_descent", "along_imp", "calibration", "confidence"):
        assert sum(n.endswith(f"-{kind}.png") for n in names) == 2, (kind, names)
    assert "effective_params_vs_nu.png" in names and "report.md" in names
    assert sum(n.endswith("-posterior_gap_map.png") for n in names) == 2
    assert sum(n.endswith("-posterior_axis.png") for n in names) == 1  # linear only: xor's class means coincide
    for n in names:
        if n.endswith(".png"):
            data = (out / n).read_bytes()
            assert data[:8] == PNG and len(data) > 5000, n
    text = (out / "report.md").read_text()
    for n in names:
        if n.endswith(".png"):
            assert f"]({n})" in text
    assert "best pruned" in text and "gmm_xor" in text


def test_full_vs_best_table_matches_the_rows(runs):
    df = pd.read_parquet(os.path.join(runs[0], "results.parquet"))
    main = df[df.branch == "main"]
    best = sparse_double_descent.best_pruned(main)
    table = imp_section.full_vs_best(main, best)
    for width, g in best.groupby("width"):
        dense = main[(main.width == width) & (main.level == 0) & (main.split == "test")]
        np.testing.assert_allclose(table.loc[width, ("full", "test_error")], dense.error.mean())
        np.testing.assert_allclose(table.loc[width, ("full", "ece_clean")], dense.ece.mean())
        np.testing.assert_allclose(table.loc[width, ("best pruned", "test_error")], g.best_test_error.mean())
        np.testing.assert_allclose(table.loc[width, ("best pruned", "params")], g.effective_params.mean())


def test_best_pruned_is_the_level_of_lowest_test_error():
    rows = []
    for level, err in enumerate([0.30, 0.20, 0.25, 0.20]):
        for split in ("test", "train_noisy"):
            rows.append({"width": 4, "seed": 0, "noise_seed": 0, "level": level, "split": split, "branch": "main",
                         "error": err, "weights_remaining": 100 - 10 * level, "weights_total": 100,
                         "diverged": False})
    df = pd.DataFrame(rows)
    best = sparse_double_descent.best_pruned(df)
    assert best.best_level.tolist() == [3]  # ties go to the sparser level
    assert best.effective_params.tolist() == [70] and best.dense_test_error.tolist() == [0.30]
    df.loc[df.level == 3, "diverged"] = True  # a diverged level is never the best
    assert sparse_double_descent.best_pruned(df).best_level.tolist() == [1]


def test_report_refuses_a_directory_without_a_run(tmp_path):
    r = subprocess.run([sys.executable, "-m", "lottery.report", f"--workdir={tmp_path}"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.startswith("error: workdir")


def test_double_descent_means_leave_diverged_models_out():
    """Width 8: three seeds at 10 %, 20 %, 30 % test error and one diverged at 100 %: the mean is 20 % over the
    three healthy ones (not 40 % over four); a width whose every model diverged has no mean."""
    from lottery.report import double_descent
    rows = []
    for width, errors, diverged in ((8, [0.1, 0.2, 0.3, 1.0], [False, False, False, True]), (2, [1.0], [True])):
        for seed, (e, d) in enumerate(zip(errors, diverged)):
            for split in ("train_noisy", "train_clean", "test"):
                rows.append({"level": 0, "width": width, "seed": seed, "split": split, "weights_total": 10 * width,
                             "error": e, "diverged": d})
    table = double_descent.summary(pd.DataFrame(rows)).set_index("width")
    assert table.loc[8, "test err"] == pytest.approx(0.2)
    assert table.loc[8, "test err sd"] == pytest.approx(np.std([0.1, 0.2, 0.3], ddof=1))
    assert (table.loc[8, "models"], table.loc[8, "diverged"]) == (3, 1)
    assert np.isnan(table.loc[2, "test err"]) and table.loc[2, "diverged"] == 1
    text = double_descent.format_table(table.reset_index())
    assert "20.00 ±" in text and "(1 diverged)" in text and "–" in text
