"""CKA (Kornblith et al. 2019) against the reference values of their notebook, and the population
matrix against the float64 pairwise function; invariances CKA must have."""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from lottery.analysis import similarity


def _reference_data():
    np.random.seed(1337)
    X = np.random.randn(100, 10)
    Y = np.random.randn(100, 10) + X
    return X, Y


def test_reference_values():
    X, Y = _reference_data()
    assert similarity.linear_cka(X, Y) == pytest.approx(0.55761, abs=1e-4)
    assert similarity.rbf_cka(X, Y, threshold=0.5) == pytest.approx(0.65483, abs=1e-4)
    assert similarity.linear_cka(X, Y, debiased=True) == pytest.approx(0.51346, abs=1e-4)


def test_invariances():
    X, Y = _reference_data()
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.normal(size=(10, 10)))
    base = similarity.linear_cka(X, Y)
    assert similarity.linear_cka(X @ Q * 3.0 + 2.0, Y) == pytest.approx(base, rel=1e-10)  # rotation, scale, shift
    assert similarity.linear_cka(X, X) == pytest.approx(1.0)
    assert similarity.rbf_cka(X, X, debiased=True) == pytest.approx(1.0)
    # debiased Gram-form equals the definition of Song et al.'s estimator written with an explicit sum
    K, L = X @ X.T, Y @ Y.T
    n = len(X)

    def hsic_u(K, L):
        Kt, Lt = K.copy(), L.copy()
        np.fill_diagonal(Kt, 0)
        np.fill_diagonal(Lt, 0)
        total = np.trace(Kt @ Lt) + Kt.sum() * Lt.sum() / ((n - 1) * (n - 2)) - 2 / (n - 2) * Kt.sum(0) @ Lt.sum(1)
        return total / (n * (n - 3))

    ref = hsic_u(K, L) / np.sqrt(hsic_u(K, K) * hsic_u(L, L))
    assert similarity.linear_cka(X, Y, debiased=True) == pytest.approx(ref, rel=1e-10)
    with pytest.raises(ValueError, match="same examples"):
        similarity.linear_cka(X, Y[:50])


@pytest.mark.parametrize("n,d", [(40, 6), (5, 8)])  # feature-space and Gram-space branches
def test_cka_matrix(n, d):
    rng = np.random.default_rng(2)
    base = rng.normal(size=(n, d))
    feats = np.stack([base, base + 0.5 * rng.normal(size=(n, d)), rng.normal(size=(n, d)), 2 * base - 1])
    M = np.asarray(similarity.cka_matrix(jnp.asarray(feats, jnp.float32)))
    ref = np.array([[similarity.linear_cka(a, b) for b in feats] for a in feats])
    np.testing.assert_allclose(M, ref, atol=2e-5)
    np.testing.assert_allclose(M, M.T, atol=1e-6)
