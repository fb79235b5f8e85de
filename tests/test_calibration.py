"""Calibration kernels (docs/science.md §6): ECE, class-wise ECE, reliability diagrams, noise-adjusted
posterior, gap to the Bayes posterior, input checks.

Every expectation is computed independently of the library: the ``uncertainty-calibration``
package (Kumar et al., the reference implementation of Guo et al.'s binning), a float64 numpy
loop over bins written out below, synthetic predictors whose calibration error is known by
hand, and the closed-form Bayes posterior of the linear Gaussian mixture.
"""
from __future__ import annotations

import functools

import calibration
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lottery.analysis import calibration as cal
from lottery.data import gmm

N = 2000  # examples in the random-data tests (one shape per class count: jit once per shape)


# ---------------------------------------------------------------- independent references

def _np_bins(p: np.ndarray, outcome: np.ndarray, m: int) -> np.ndarray:
    """[m, 3] float64 (count, mean confidence, mean outcome) per bin by an explicit loop.

    Bin b holds (b/m, (b+1)/m]; bin 0 also holds p = 0. Empty bins: count 0, NaN means.
    """
    p = np.asarray(p, np.float64)
    outcome = np.asarray(outcome, np.float64)
    out = np.full((m, 3), np.nan)
    for b in range(m):
        lo, hi = b / m, (b + 1) / m
        mask = (p > lo) & (p <= hi)
        if b == 0:
            mask |= p == 0.0
        n_b = int(mask.sum())
        out[b, 0] = n_b
        if n_b:
            out[b, 1] = p[mask].mean()
            out[b, 2] = outcome[mask].mean()
    return out


def _np_ece_1d(p: np.ndarray, outcome: np.ndarray, m: int) -> float:
    """Σ_b n_b/N · |acc_b − conf_b| over the non-empty bins."""
    bins = _np_bins(p, outcome, m)
    total = 0.0
    for count, conf, acc in bins:
        if count > 0:
            total += count / len(p) * abs(acc - conf)
    return total


def _np_top_label(probs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    probs = np.asarray(probs, np.float64)
    return probs.max(axis=1), (probs.argmax(axis=1) == labels).astype(np.float64)


def _np_ece(probs, labels, m):
    conf, correct = _np_top_label(probs, labels)
    return _np_ece_1d(conf, correct, m)


def _np_classwise_ece(probs, labels, m):
    probs = np.asarray(probs, np.float64)
    return float(np.mean([_np_ece_1d(probs[:, k], (labels == k).astype(np.float64), m)
                          for k in range(probs.shape[1])]))


def _near_interior_edge(p: np.ndarray, m: int, tol: float = 1e-4) -> np.ndarray:
    """True where p lies within tol/m of an interior bin edge b/m, 0 < b < m."""
    r = np.round(p * m)
    return (np.abs(p * m - r) < tol) & (r > 0) & (r < m)


def _dirichlet(seed: int, n: int, c: int, bins=(10, 15, 20), alpha: float = 0.7):
    """float32 probabilities [n, c] (rows sum to 1) with no entry near a bin edge of any M in
    ``bins`` (rows that have one are redrawn), and uniform labels [n] int32 — drawn half from
    the argmax so the accuracy is neither 0 nor chance."""
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.full(c, alpha), size=n).astype(np.float32)
    for _ in range(100):
        bad = np.zeros(n, bool)
        for m in bins:
            bad |= _near_interior_edge(probs.astype(np.float64), m).any(axis=1)
        if not bad.any():
            break
        probs[bad] = rng.dirichlet(np.full(c, alpha), size=int(bad.sum())).astype(np.float32)
    else:  # pragma: no cover
        raise AssertionError("could not draw probabilities away from the bin edges")
    random_labels = rng.integers(0, c, size=n)
    labels = np.where(rng.random(n) < 0.5, probs.argmax(axis=1), random_labels).astype(np.int32)
    return probs, labels


@functools.lru_cache(maxsize=None)
def _jitted(num_bins: int):
    top = jax.jit(lambda p, y, v: cal.top_label_stats(p, y, v, num_bins))
    cls = jax.jit(lambda p, y, v: cal.classwise_stats(p, y, v, num_bins))
    return top, cls


@functools.lru_cache(maxsize=None)
def _jitted_eces(num_bins: int):
    def both(p, y):
        v = jnp.ones(y.shape, bool)
        return (cal.ece(cal.top_label_stats(p, y, v, num_bins)),
                cal.classwise_ece(cal.classwise_stats(p, y, v, num_bins)))
    return jax.jit(both)


def _lib_eces(probs, labels, num_bins):
    top, cls = _jitted_eces(num_bins)(probs, labels)
    return float(top), float(cls)


# ---------------------------------------------------------------- 1. ECE against references

def test_numpy_loop_matches_reference_package():
    """Sanity of the hand-written reference itself, in float64, on the package's defaults."""
    probs, labels = _dirichlet(0, 500, 3)
    p64 = probs.astype(np.float64)
    assert _np_ece(p64, labels, 15) == pytest.approx(calibration.get_ece(p64, labels, num_bins=15), abs=1e-12)
    ref = calibration.lower_bound_scaling_ce(p64, labels, p=1, debias=False, num_bins=15,
                                             binning_scheme=calibration.get_equal_prob_bins, mode="marginal")
    assert _np_classwise_ece(p64, labels, 15) == pytest.approx(ref, abs=1e-12)


@pytest.mark.parametrize("c", [2, 3, 10])
def test_ece_matches_uncertainty_calibration(c):
    probs, labels = _dirichlet(c, N, c)
    p64 = probs.astype(np.float64)
    ref_top = calibration.get_ece(p64, labels, num_bins=15)
    ref_cls = calibration.lower_bound_scaling_ce(p64, labels, p=1, debias=False, num_bins=15,
                                                 binning_scheme=calibration.get_equal_prob_bins,
                                                 mode="marginal")
    assert ref_top > 0.01 and ref_cls > 0.001  # the data are not trivially calibrated

    got_top, got_cls = _lib_eces(jnp.asarray(probs), jnp.asarray(labels), 15)
    assert got_top == pytest.approx(ref_top, abs=2e-6)
    assert got_cls == pytest.approx(ref_cls, abs=2e-6)
    assert got_top == pytest.approx(_np_ece(p64, labels, 15), abs=2e-6)
    assert got_cls == pytest.approx(_np_classwise_ece(p64, labels, 15), abs=2e-6)

    # The checked host-side entry point gives the same numbers (default M = 15).
    s = cal.summary(probs, labels)
    assert s["ece"] == pytest.approx(ref_top, abs=2e-6)
    assert s["classwise_ece"] == pytest.approx(ref_cls, abs=2e-6)
    assert s["top"].shape == (15, 3) and s["classwise"].shape == (c, 15, 3)


@pytest.mark.parametrize("num_bins", [10, 20])
@pytest.mark.parametrize("c", [2, 10])
def test_ece_other_bin_counts_match_numpy_loop(c, num_bins):
    probs, labels = _dirichlet(c, N, c)
    p64 = probs.astype(np.float64)
    got_top, got_cls = _lib_eces(jnp.asarray(probs), jnp.asarray(labels), num_bins)
    assert got_top == pytest.approx(_np_ece(p64, labels, num_bins), abs=2e-6)
    assert got_cls == pytest.approx(_np_classwise_ece(p64, labels, num_bins), abs=2e-6)
    assert got_top == pytest.approx(calibration.get_ece(p64, labels, num_bins=num_bins), abs=2e-6)
    if (c, num_bins) == (10, 20):  # the checked entry point honours a non-default M
        s = cal.summary(probs, labels, num_bins=num_bins)
        assert s["ece"] == pytest.approx(got_top, abs=1e-6)
        assert s["classwise_ece"] == pytest.approx(got_cls, abs=1e-6)
        assert s["top"].shape == (20, 3) and s["classwise"].shape == (10, 20, 3)


def test_bin_index_edges():
    """Right-closed bins, 0 in bin 0, 1 in the last bin (values chosen exact in float32)."""
    p = jnp.asarray([0.0, 0.125, 0.25, 0.2500001, 0.5, 0.75, 0.9999, 1.0], jnp.float32)
    np.testing.assert_array_equal(np.asarray(cal.bin_index(p, 4)), [0, 0, 0, 1, 1, 2, 3, 3])
    assert cal.bin_index(jnp.zeros((2, 3)), 15).shape == (2, 3)


@pytest.mark.parametrize("num_bins", [10, 15])
def test_bin_index_is_exact_at_every_edge(num_bins):
    """float32 probabilities at, just below and just above every edge b/M land where the exact value does —
    uncertainty-calibration's bisect on float64 edges is the reference."""
    edges = np.arange(0, num_bins + 1) / num_bins
    near = np.concatenate([edges.astype(np.float32),
                           np.nextafter(edges.astype(np.float32), np.float32(-1)),
                           np.nextafter(edges.astype(np.float32), np.float32(2))])
    p = near[(near >= 0) & (near <= 1)]
    bins = calibration.get_equal_prob_bins(list(p), num_bins)
    expected = [calibration.utils.get_bin(float(v), bins) for v in p]
    np.testing.assert_array_equal(np.asarray(cal.bin_index(jnp.asarray(p), num_bins)), expected)


def test_ece_of_a_probability_just_above_an_edge_matches_uncertainty_calibration():
    """float32(0.8) > 12/15: the first example's confidence goes to bin 12 (bin 11 by ⌈p·M⌉ − 1 in float32)."""
    probs = np.asarray([[0.2, 0.8], [0.79, 0.21]], np.float32)
    labels = np.asarray([1, 1])
    ref = calibration.get_ece(probs.astype(np.float64), labels, num_bins=15)
    assert ref == pytest.approx(0.495, abs=1e-6)
    got, _ = _lib_eces(jnp.asarray(probs), jnp.asarray(labels), 15)
    assert got == pytest.approx(ref, abs=1e-6)


# ---------------------------------------------------------------- 2. reliability diagram

def test_reliability_matches_numpy_loop_with_empty_bins():
    # Binary top-label confidences lie in [0.5, 1]: bins 0..6 of 15 are empty by construction.
    probs, labels = _dirichlet(7, N, 2)
    p64 = probs.astype(np.float64)
    valid = jnp.ones(N, bool)
    top, cls = _jitted(15)
    stats = np.asarray(top(jnp.asarray(probs), jnp.asarray(labels), valid))
    rel = cal.reliability(stats)
    conf, correct = _np_top_label(p64, labels)
    ref = _np_bins(conf, correct, 15)
    assert (ref[:7, 0] == 0).all() and (ref[7:, 0] > 0).any()
    np.testing.assert_array_equal(rel["count"], ref[:, 0])
    np.testing.assert_allclose(rel["confidence"], ref[:, 1], atol=1e-6, equal_nan=True)
    np.testing.assert_allclose(rel["accuracy"], ref[:, 2], atol=1e-6, equal_nan=True)
    assert np.isnan(rel["confidence"][:7]).all() and np.isnan(rel["accuracy"][:7]).all()
    e = float(cal.ece(jnp.asarray(stats)))
    assert np.isfinite(e) and e == pytest.approx(_np_ece(p64, labels, 15), abs=2e-6)

    # Class-wise curves: per class k, p_k against 1[y = k] ([C, M] per field).
    crel = cal.reliability(np.asarray(cls(jnp.asarray(probs), jnp.asarray(labels), valid)))
    for k in range(2):
        ref_k = _np_bins(p64[:, k], (labels == k).astype(np.float64), 15)
        np.testing.assert_array_equal(crel["count"][k], ref_k[:, 0])
        np.testing.assert_allclose(crel["confidence"][k], ref_k[:, 1], atol=1e-6, equal_nan=True)
        np.testing.assert_allclose(crel["accuracy"][k], ref_k[:, 2], atol=1e-6, equal_nan=True)


def test_all_empty_stats_give_zero_not_nan():
    stats = jnp.zeros((15, 3))
    assert float(cal.ece(stats)) == 0.0
    assert float(cal.classwise_ece(jnp.zeros((3, 15, 3)))) == 0.0
    rel = cal.reliability(np.zeros((15, 3)))
    assert (rel["count"] == 0).all() and np.isnan(rel["confidence"]).all() and np.isnan(rel["accuracy"]).all()


# ---------------------------------------------------------------- 3. synthetic predictors

def test_perfectly_calibrated_predictor_has_ece_near_zero():
    """Top-label probability c ∈ {0.55, 0.65, 0.85, 0.95} (mid-bin for M = 15), prediction right
    with probability c, predicted class 0 or 1 at random. Then P(y=1 | p_1) = p_1 too, so both
    the top-label and the class-wise ECE vanish up to sampling noise (~ 1/sqrt(N per bin))."""
    n = 200_000
    rng = np.random.default_rng(3)
    c = rng.choice(np.array([0.55, 0.65, 0.85, 0.95]), size=n)
    pred = rng.integers(0, 2, size=n)
    correct = rng.random(n) < c
    labels = np.where(correct, pred, 1 - pred).astype(np.int32)
    p1 = np.where(pred == 1, c, 1.0 - c)
    probs = np.stack([1.0 - p1, p1], axis=1).astype(np.float32)
    got_top, got_cls = _lib_eces(jnp.asarray(probs), jnp.asarray(labels), 15)
    assert got_top < 0.01
    assert got_cls < 0.01
    # and the numbers are the plug-in ones (float32 per-bin sums of ~50,000 terms: ~1e-4 slack)
    assert got_top == pytest.approx(_np_ece(probs.astype(np.float64), labels, 15), abs=1e-4)
    assert got_cls == pytest.approx(_np_classwise_ece(probs.astype(np.float64), labels, 15), abs=1e-4)


def test_constant_overconfident_binary_predictor():
    """Always [0.99, 0.01], class 0 in exactly 70% of the examples (N as elsewhere: no recompiles).

    Top label: one bin (0.99 ∈ (14/15, 1]), conf 0.99, acc 0.7 → ECE = |0.7 − 0.99| = 0.29.
    Class-wise: class 0 has p_0 = 0.99 against frequency 0.7 → 0.29; class 1 has p_1 = 0.01
    (bin 0) against frequency 0.3 → |0.3 − 0.01| = 0.29; the mean is 0.29.
    """
    n = N  # float32 sums of 2,000 equal terms: 1e-5 slack
    labels = np.zeros(n, np.int32)
    labels[int(0.7 * n):] = 1
    probs = np.tile(np.array([[0.99, 0.01]], np.float32), (n, 1))
    s = cal.summary(probs, labels)
    assert s["ece"] == pytest.approx(0.29, abs=1e-5)
    assert s["classwise_ece"] == pytest.approx(0.29, abs=1e-5)
    rel = cal.reliability(s["top"])
    assert rel["count"][14] == n and rel["count"][:14].sum() == 0
    assert rel["confidence"][14] == pytest.approx(0.99, abs=1e-5)
    assert rel["accuracy"][14] == pytest.approx(0.7, abs=1e-5)


def test_constant_predictor_three_classes():
    """Always [0.9, 0.06, 0.04]; labels 70% class 0, 20% class 1, 10% class 2.

    Top label: |0.7 − 0.9| = 0.2. Class-wise: (|0.7 − 0.9| + |0.2 − 0.06| + |0.1 − 0.04|)/3
    = (0.2 + 0.14 + 0.06)/3 = 0.4/3.
    """
    n = N
    labels = np.zeros(n, np.int32)
    labels[int(0.7 * n):int(0.9 * n)] = 1
    labels[int(0.9 * n):] = 2
    probs = np.tile(np.array([[0.9, 0.06, 0.04]], np.float32), (n, 1))
    s = cal.summary(probs, labels)
    assert s["ece"] == pytest.approx(0.2, abs=1e-5)
    assert s["classwise_ece"] == pytest.approx(0.4 / 3, abs=1e-5)


# ---------------------------------------------------------------- 4. jit, vmap, batching

def test_vmap_over_models_equals_each_model_alone():
    k, n, c, m = 3, N, 3, 15
    rng = np.random.default_rng(11)
    probs = jnp.asarray(rng.dirichlet(np.ones(c), size=(k, n)).astype(np.float32))
    labels = jnp.asarray(rng.integers(0, c, size=n).astype(np.int32))
    valid = jnp.ones(n, bool)
    alone_top, alone_cls = _jitted(m)

    vtop = jax.jit(jax.vmap(cal.top_label_stats, in_axes=(0, None, None, None)), static_argnums=3)
    vcls = jax.jit(jax.vmap(cal.classwise_stats, in_axes=(0, None, None, None)), static_argnums=3)
    top = vtop(probs, labels, valid, m)
    cls = vcls(probs, labels, valid, m)
    assert top.shape == (k, m, 3) and cls.shape == (k, c, m, 3)
    eces = jax.jit(cal.ece)(top)
    ceces = jax.jit(cal.classwise_ece)(cls)
    assert eces.shape == (k,) and ceces.shape == (k,)
    for i in range(k):
        # equal up to float32 summation order
        np.testing.assert_allclose(top[i], alone_top(probs[i], labels, valid), rtol=1e-6, atol=1e-5)
        np.testing.assert_allclose(cls[i], alone_cls(probs[i], labels, valid), rtol=1e-6, atol=1e-5)
        p64 = np.asarray(probs[i], np.float64)
        assert float(eces[i]) == pytest.approx(_np_ece(p64, np.asarray(labels), m), abs=2e-6)
        assert float(ceces[i]) == pytest.approx(_np_classwise_ece(p64, np.asarray(labels), m), abs=2e-6)


def test_batched_stats_add_up_to_the_whole():
    """Two batches of the same (padded) shape; padded rows carry garbage and valid = False."""
    c, m, n, b = 3, 15, N, 1200
    probs, labels = _dirichlet(5, n, c)
    top, cls = _jitted(m)
    whole_top = top(jnp.asarray(probs), jnp.asarray(labels), jnp.ones(n, bool))
    whole_cls = cls(jnp.asarray(probs), jnp.asarray(labels), jnp.ones(n, bool))

    pad = 2 * b - n
    rng = np.random.default_rng(0)
    garbage = rng.dirichlet(np.ones(c), size=pad).astype(np.float32)
    p_all = np.concatenate([probs, garbage])
    y_all = np.concatenate([labels, rng.integers(0, c, size=pad).astype(np.int32)])
    v_all = np.arange(2 * b) < n
    sum_top = sum(top(jnp.asarray(p_all[s]), jnp.asarray(y_all[s]), jnp.asarray(v_all[s]))
                  for s in (slice(0, b), slice(b, 2 * b)))
    sum_cls = sum(cls(jnp.asarray(p_all[s]), jnp.asarray(y_all[s]), jnp.asarray(v_all[s]))
                  for s in (slice(0, b), slice(b, 2 * b)))
    np.testing.assert_allclose(sum_top, whole_top, atol=1e-3)
    np.testing.assert_allclose(sum_cls, whole_cls, atol=1e-3)
    assert float(jnp.sum(sum_top[:, 0])) == n
    assert float(cal.ece(sum_top)) == pytest.approx(_np_ece(probs.astype(np.float64), labels, m), abs=2e-6)
    assert float(cal.classwise_ece(sum_cls)) == pytest.approx(
        _np_classwise_ece(probs.astype(np.float64), labels, m), abs=2e-6)


# ---------------------------------------------------------------- 5. Bayes gap, noise

def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def test_posterior_gap_against_closed_form_bayes():
    dim, nu, n = 50, 0.3, 1000
    mix = gmm.linear(dim, nu)
    # points drawn from the mixture by numpy (docs/science.md §1.1: y=0 → N(0, I), y=1 → N(ν·1, I))
    rng = np.random.default_rng(8)
    y = rng.integers(0, 2, size=n)
    x = (nu * y[:, None] + rng.standard_normal((n, dim))).astype(np.float32)
    x64 = x.astype(np.float64)
    p1 = _sigmoid(nu * x64.sum(axis=1) - nu ** 2 * dim / 2.0)  # p(y=1|x), linear layout
    assert p1.min() < 0.2 and p1.max() > 0.8  # the points span the posterior
    bayes = np.stack([1.0 - p1, p1], axis=1)

    model = jax.jit(lambda x: gmm.posterior(mix, x))(jnp.asarray(x))
    gap_bayes = np.asarray(cal.posterior_gap(model, jnp.asarray(bayes, jnp.float32)))
    assert gap_bayes.shape == (n,)
    np.testing.assert_allclose(gap_bayes, 0.0, atol=1e-5)

    half = jnp.full((n, 2), 0.5, jnp.float32)
    gap_half = np.asarray(cal.posterior_gap(half, jnp.asarray(bayes, jnp.float32)))
    np.testing.assert_allclose(gap_half, np.abs(0.5 - p1), atol=1e-6)


def test_posterior_gap_is_total_variation():
    rng = np.random.default_rng(2)
    p = rng.dirichlet(np.ones(4), size=64)
    q = rng.dirichlet(np.ones(4), size=64)
    ref = np.array([0.5 * sum(abs(p[i, k] - q[i, k]) for k in range(4)) for i in range(64)])
    got = np.asarray(cal.posterior_gap(jnp.asarray(p, jnp.float32), jnp.asarray(q, jnp.float32)))
    np.testing.assert_allclose(got, ref, atol=1e-6)


@pytest.mark.parametrize("eta", [0.0, 0.05, 0.25, 0.5])
def test_noise_adjusted_binary(eta):
    rng = np.random.default_rng(4)
    p1 = rng.random(100)
    post = np.stack([1.0 - p1, p1], axis=1)
    want1 = (1.0 - eta) * p1 + eta * (1.0 - p1)
    got = np.asarray(cal.noise_adjusted(jnp.asarray(post, jnp.float32), eta))
    np.testing.assert_allclose(got[:, 1], want1, atol=1e-6)
    np.testing.assert_allclose(got[:, 0], 1.0 - want1, atol=1e-6)


@pytest.mark.parametrize("eta", [0.0, 0.18, 0.5])
def test_noise_adjusted_ten_classes(eta):
    """Label flipped with probability η, uniformly to one of the other 9 classes:
    q_k = (1 − η)·p_k + η·(1 − p_k)/9."""
    rng = np.random.default_rng(5)
    post = rng.dirichlet(np.full(10, 0.5), size=100)
    got = np.asarray(cal.noise_adjusted(jnp.asarray(post, jnp.float32), eta), np.float64)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)
    assert (got >= 0).all()
    np.testing.assert_allclose(got, (1.0 - eta) * post + eta * (1.0 - post) / 9.0, atol=1e-6)
    if eta == 0.0:
        np.testing.assert_allclose(got, post, atol=1e-7)


# ---------------------------------------------------------------- 6. bad input

_GOOD_P = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4]], np.float32)
_GOOD_Y = np.array([0, 2, 1], np.int32)


@pytest.mark.parametrize("fn", [cal.check_inputs, cal.summary])
@pytest.mark.parametrize("probs, labels, num_bins, match", [
    (_GOOD_P, _GOOD_Y, 0, "num_bins"),
    (_GOOD_P, _GOOD_Y, -3, "num_bins"),
    (_GOOD_P, _GOOD_Y, 1.5, "num_bins"),
    (_GOOD_P, _GOOD_Y, True, "num_bins"),
    (_GOOD_P * 1.1, _GOOD_Y, 15, "summing to 1"),
    (np.array([[1.2, -0.2, 0.0], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4]], np.float32), _GOOD_Y, 15, r"\[0, 1\]"),
    (np.array([[np.nan, 0.5, 0.5], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4]], np.float32), _GOOD_Y, 15, "probs"),
    (_GOOD_P, _GOOD_Y[:2], 15, "labels must be \\[N\\]"),
    (_GOOD_P, _GOOD_Y[:, None], 15, "labels must be \\[N\\]"),
    (_GOOD_P, np.array([0, 3, 1], np.int32), 15, "labels must be integers in \\[0, 3\\)"),
    (_GOOD_P, np.array([0, -1, 1], np.int32), 15, "labels must be integers"),
    (_GOOD_P, _GOOD_Y.astype(np.float32), 15, "labels must be integers"),
    (_GOOD_P[0], _GOOD_Y, 15, "probs must be \\[N, classes\\]"),
])
def test_bad_input_raises_clear_value_error(fn, probs, labels, num_bins, match):
    with pytest.raises(ValueError, match=match):
        fn(probs, labels, num_bins)


def test_good_input_passes_checks():
    cal.check_inputs(_GOOD_P, _GOOD_Y, 15)
    cal.check_inputs(_GOOD_P, _GOOD_Y, np.int64(3))
    cal.check_inputs(_GOOD_P, _GOOD_Y.astype(np.int64), 1)
    probs, labels = _dirichlet(3, N, 3)
    got_top, _ = _lib_eces(jnp.asarray(probs), jnp.asarray(labels), 1)  # one bin: |accuracy − mean confidence|
    conf, correct = _np_top_label(probs, labels)
    assert got_top == pytest.approx(abs(correct.mean() - conf.mean()), abs=2e-6)
