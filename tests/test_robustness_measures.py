"""Per-sample robustness (B eq. 6), pruning vulnerability (B eq. 7), modal predictions and
pruning-identified exemplars on hand-built examples; Pearson correlations against scipy.stats."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from lottery.analysis import robustness_measures as robustness


def test_corruption_robustness_and_pruning_vulnerability_by_hand():
    # 2 corruption types × 2 severities (S = 4) on 3 samples
    correct = np.array([[1, 0, 1],
                        [1, 0, 0],
                        [0, 0, 1],
                        [1, 0, 1]], bool)
    r = robustness.corruption_robustness(correct)
    np.testing.assert_array_equal(r, [3, 0, 3])
    assert r.dtype == np.int32
    # prune ratios 0 %, 10 %, …, 90 %: sample 0 survives to 40 %, sample 1 always, sample 2 never
    ratios = np.arange(10)
    pv_correct = np.stack([ratios < 5, np.ones(10, bool), np.zeros(10, bool)], axis=1)  # [R, N]
    pv = robustness.pruning_vulnerability(pv_correct)
    np.testing.assert_array_equal(pv, [5, 10, 0])
    assert pv.dtype == np.int32


def test_modal_prediction_and_pie():
    preds_dense = np.array([[0, 1, 2, 3],
                            [0, 1, 2, 1],
                            [1, 1, 0, 3]])
    preds_pruned = np.array([[0, 2, 1, 3],
                             [0, 2, 2, 1],
                             [2, 1, 1, 0],
                             [2, 2, 0, 0]])
    np.testing.assert_array_equal(robustness.modal_prediction(preds_dense, 4), [0, 1, 2, 3])
    # sample 0: 0 and 2 tie → 0; sample 1: 2; sample 2: 1; sample 3: 0
    np.testing.assert_array_equal(robustness.modal_prediction(preds_pruned, 4), [0, 2, 1, 0])
    np.testing.assert_array_equal(robustness.pie_flags(preds_pruned, preds_dense, 4), [False, True, True, True])


def test_per_model_pruning_vulnerability_and_pie_by_ratio_against_loops():
    """The population forms (M dense models × R ratios × N samples) against plain loops: eq. 7 counts over the
    ratios of each model; PIE at a ratio compares the modal prediction over the M models (ties → lowest class)."""
    rng = np.random.default_rng(3)
    m, r, n, c = 3, 4, 7, 5
    correct = rng.random((m, r, n)) < 0.6
    pv = robustness.pruning_vulnerability_by_model(correct)
    assert pv.shape == (m, n)
    np.testing.assert_array_equal(pv, [[sum(int(correct[i, j, s]) for j in range(r)) for s in range(n)]
                                       for i in range(m)])
    preds, dense = rng.integers(0, c, (m, r, n)), rng.integers(0, c, (m, n))

    def modal(column):
        counts = [list(column).count(k) for k in range(c)]
        return counts.index(max(counts))

    pie = robustness.pie_by_ratio(preds, dense, c)
    assert pie.shape == (r, n) and pie.dtype == bool
    np.testing.assert_array_equal(pie, [[modal(preds[:, j, s]) != modal(dense[:, s]) for s in range(n)]
                                        for j in range(r)])


def test_pearson_against_scipy():
    rng = np.random.default_rng(0)
    for n, rho in ((5, 0.3), (50, 0.8), (400, -0.1)):
        x = rng.normal(size=n)
        y = rho * x + rng.normal(size=n)
        c = robustness.pearson(x, y)
        ref = stats.pearsonr(x, y)
        assert c.defined and c.reason == "" and c.n == n
        np.testing.assert_allclose(c.r, ref.statistic, rtol=1e-12)
        np.testing.assert_allclose(c.p, ref.pvalue, rtol=1e-9)
    c = robustness.pearson(np.arange(5.0), 2 * np.arange(5.0) + 1)
    assert c.defined and c.r == pytest.approx(1.0) and c.p == 0.0


def test_pearson_undefined_says_why():
    c = robustness.pearson(np.ones(10), np.arange(10.0), "length", "robustness")
    assert not c.defined and c.reason == "undefined: constant length" and np.isnan(c.r) and np.isnan(c.p)
    c = robustness.pearson(np.arange(10.0), np.full(10, 3), "margin", "pv")
    assert not c.defined and c.reason == "undefined: constant pv"
    c = robustness.pearson([1.0, 2.0], [3.0, 1.0])
    assert not c.defined and "2 pairs" in c.reason
    x = np.array([1.0, np.inf, 2.0, 3.0, 5.0])
    y = np.array([2.0, 1.0, 1.0, 4.0, 4.0])
    c = robustness.pearson(x, y)
    assert c.defined and c.n == 4 and c.reason == "dropped 1 non-finite pairs"
    np.testing.assert_allclose(c.r, stats.pearsonr(x[[0, 2, 3, 4]], y[[0, 2, 3, 4]]).statistic)
    with pytest.raises(ValueError, match="x has 3 values and y 2"):
        robustness.pearson([1, 2, 3], [1, 2])


def test_correlation_table():
    rng = np.random.default_rng(1)
    angle = rng.normal(size=30)
    t = robustness.correlation_table({"angle_own": angle, "length": np.ones(30)},
                                     {"robustness": -angle + rng.normal(size=30)})
    assert list(t.columns) == ["metric", "target", "r", "p", "n", "defined", "reason"]
    assert list(t["metric"]) == ["angle_own", "length"]
    assert t["defined"].tolist() == [True, False]
    assert t["reason"].iloc[1] == "undefined: constant length"
    assert t["r"].iloc[0] < -0.5
