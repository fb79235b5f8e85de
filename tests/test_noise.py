"""Symmetric label noise (docs/science.md §1.2): lottery.data.noise.noisy_labels in both modes.

Expectations are computed with numpy from the clean labels and the returned arrays:
counts by ⌈η·N⌉ written out, histograms by np.bincount, flip rates by mean(noisy != clean).
"""
from __future__ import annotations

import jax
import numpy as np
import pytest

from lottery.data import noise


def _key(seed: int) -> jax.Array:
    return jax.random.PRNGKey(seed)


def _balanced(n: int, c: int, seed: int = 0) -> np.ndarray:
    """Shuffled labels with (almost) equal counts per class."""
    rng = np.random.default_rng(seed)
    return rng.permutation(np.arange(n) % c).astype(np.int32)


def _np(a) -> np.ndarray:
    return np.asarray(a)


def _check_structure(clean: np.ndarray, out: noise.NoisyLabels, count: int, num_classes: int) -> None:
    noisy, idx = _np(out.labels), _np(out.corrupted)
    assert noisy.shape == clean.shape
    assert idx.shape == (count,)
    assert np.issubdtype(idx.dtype, np.integer) and np.issubdtype(noisy.dtype, np.integer)
    # unique, sorted, in range
    assert np.all(np.diff(idx) > 0)
    assert count == 0 or (idx[0] >= 0 and idx[-1] < clean.shape[0])
    # labels differ from the clean ones only at recorded indices
    outside = np.ones(clean.shape[0], bool)
    outside[idx] = False
    np.testing.assert_array_equal(noisy[outside], clean[outside])
    assert np.all((noisy >= 0) & (noisy < num_classes))
    # the recorded flip rate is the realised one
    assert out.flip_rate == pytest.approx(float(np.mean(noisy != clean)), abs=1e-7)


# (N, η, expected ⌈η·N⌉ written by hand.) Float-error traps: in float64 0.07*100 is
# 7.000000000000001 (likewise 0.14*100, 0.55*100), so a naive ceil gives one too many;
# 0.05*101 = 5.05 must still round up to 6.
# noisy_labels() itself is run on a few of them only: every new (N, count) recompiles its ops
# (N=1000, η=0.2 is covered by the tests further down).
CORRUPT_CASES = [
    (1000, 0.05, 50),
    (10, 0.2, 2),
    (100, 0.07, 7),
]
COUNT_CASES = CORRUPT_CASES + [
    (30, 0.1, 3),
    (10, 0.3, 3),
    (100, 0.14, 14),
    (100, 0.55, 55),
    (101, 0.05, 6),
    (7, 0.5, 4),
    (10, 1.0, 10),
    (10, 0.0, 0),
]


@pytest.mark.parametrize("mode", noise.MODES)
@pytest.mark.parametrize("n,fraction,expected", CORRUPT_CASES)
def test_corrupted_count_and_structure(n, fraction, expected, mode):
    clean = _balanced(n, 2, seed=n)
    out = noise.noisy_labels(_key(1), clean, fraction, mode, num_classes=2)
    _check_structure(clean, out, expected, 2)


@pytest.mark.parametrize("n,fraction,expected", COUNT_CASES)
def test_corrupted_count_helper(n, fraction, expected):
    assert noise.corrupted_count(fraction, n) == expected


@pytest.mark.parametrize("num_classes", [2, 10])
def test_permute_preserves_histogram(num_classes):
    n = 1000
    rng = np.random.default_rng(num_classes)
    clean = rng.integers(0, num_classes, n).astype(np.int32)  # unbalanced on purpose
    for seed in range(3):
        out = noise.noisy_labels(_key(seed), clean, 0.2, "permute", num_classes)
        noisy, idx = _np(out.labels), _np(out.corrupted)
        _check_structure(clean, out, 200, num_classes)
        np.testing.assert_array_equal(np.bincount(noisy, minlength=num_classes),
                                      np.bincount(clean, minlength=num_classes))
        # the multiset of labels inside the corrupted subset is preserved too
        np.testing.assert_array_equal(np.sort(noisy[idx]), np.sort(clean[idx]))
        # something did move
        assert out.flip_rate > 0


def test_permute_flip_rate_near_expected():
    """A permuted subset keeps a label with prob. Σ p_c² = 1/C for balanced classes."""
    n, fraction = 1000, 0.2  # the shapes used above: compiled once, so many draws are cheap
    for c in (2, 10):
        clean = _balanced(n, c, seed=c)
        rates = [noise.noisy_labels(_key(s), clean, fraction, "permute", c).flip_rate for s in range(30)]
        expected = fraction * (1 - 1 / c)
        count = int(np.ceil(fraction * n))
        # about Binomial(count, 1 - 1/C) flips (a permutation has a little less variance)
        sd = np.sqrt(count * (1 / c) * (1 - 1 / c)) / n / np.sqrt(len(rates))
        assert abs(np.mean(rates) - expected) < 5 * sd, (c, rates)


@pytest.mark.parametrize("num_classes", [2, 10])
def test_uniform_range_and_flip_rate(num_classes):
    n, fraction, draws = 1000, 0.2, 30
    clean = _balanced(n, num_classes, seed=num_classes + 10)
    count = int(np.ceil(fraction * n))
    expected = fraction * (1 - 1 / num_classes)
    rates, new_labels = [], []
    for seed in range(draws):
        out = noise.noisy_labels(_key(100 + seed), clean, fraction, "uniform", num_classes)
        _check_structure(clean, out, count, num_classes)
        noisy = _np(out.labels)
        rates.append(float(np.mean(noisy != clean)))
        new_labels.append(noisy[_np(out.corrupted)])
    # flips among the count drawn labels ~ Binomial(count, 1 - 1/C)
    sd = np.sqrt(count * (1 / num_classes) * (1 - 1 / num_classes)) / n / np.sqrt(draws)
    assert abs(np.mean(rates) - expected) < 4 * sd, (rates, expected)
    # the drawn labels are uniform over all C classes (the true one included)
    hist = np.bincount(np.concatenate(new_labels), minlength=num_classes)
    total = count * draws
    p = 1 / num_classes
    np.testing.assert_allclose(hist / total, p, atol=4.5 * np.sqrt(p * (1 - p) / total))


@pytest.mark.parametrize("mode", noise.MODES)
def test_keys_decide_the_draw(mode):
    clean = _balanced(1000, 10, seed=3)
    a = noise.noisy_labels(_key(0), clean, 0.2, mode, 10)
    b = noise.noisy_labels(_key(0), clean, 0.2, mode, 10)
    c = noise.noisy_labels(_key(1), clean, 0.2, mode, 10)
    np.testing.assert_array_equal(_np(a.labels), _np(b.labels))
    np.testing.assert_array_equal(_np(a.corrupted), _np(b.corrupted))
    assert a.flip_rate == b.flip_rate
    assert not np.array_equal(_np(a.corrupted), _np(c.corrupted))
    assert not np.array_equal(_np(a.labels), _np(c.labels))


@pytest.mark.parametrize("mode", noise.MODES)
def test_fraction_zero_is_identity(mode):
    clean = _balanced(1000, 10, seed=4)
    out = noise.noisy_labels(_key(5), clean, 0.0, mode, 10)
    np.testing.assert_array_equal(_np(out.labels), clean)
    assert _np(out.corrupted).shape == (0,)
    assert out.flip_rate == 0.0


def test_clean_labels_not_modified_in_place():
    clean = _balanced(1000, 10, seed=6)
    before = clean.copy()
    noise.noisy_labels(_key(2), clean, 0.2, "uniform", 10)
    noise.noisy_labels(_key(2), clean, 0.2, "permute", 10)
    np.testing.assert_array_equal(clean, before)


def test_unknown_mode_rejected():
    with pytest.raises(ValueError):
        noise.noisy_labels(_key(0), _balanced(10, 2), 0.2, "flip", 2)


def test_expected_flip_rate_formula():
    assert noise.expected_flip_rate(0.2, 10) == pytest.approx(0.18)
    assert noise.expected_flip_rate(0.05, 2) == pytest.approx(0.025)
