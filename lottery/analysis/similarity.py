"""Centred kernel alignment between representations (Kornblith et al., 2019) — docs/science.md §8's pairwise
model-similarity check.

CKA(K, L) = HSIC(K, L) / √(HSIC(K, K)·HSIC(L, L)) on Gram matrices of the n examples:
* linear: K = X Xᵀ; the biased HSIC is tr(K H L H) with H the centring matrix, which for centred
  features equals ‖Yᵀ X‖²_F, so linear CKA = ‖YᵀX‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F);
* RBF: K_ab = exp(−‖x_a − x_b‖² / (2σ²)), σ² = threshold² · median of the n × n squared distances
  (the median over the full matrix, diagonal zeros included — the convention of Kornblith et al.'s
  reference code, which the reference values follow);
* debiased: the unbiased HSIC estimator of Song et al. (2012) on K̃, L̃ (the Gram matrices with a zero
  diagonal): tr(K̃L̃) + 1ᵀK̃1·1ᵀL̃1 / ((n−1)(n−2)) − 2/(n−2)·1ᵀK̃L̃1, its 1/(n(n−3)) factor cancelling
  in the ratio (needs n ≥ 4).

:func:`linear_cka` and :func:`rbf_cka` are float64 numpy (host arrays, exact reference values);
:func:`cka_matrix` is the jitted jnp version for a population of feature matrices.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

def _as_matrix(X, name):
    X = np.asarray(X, np.float64)
    if X.ndim != 2:
        raise ValueError(f"CKA: {name} must be [n, features], got shape {list(X.shape)}")
    return X

def _hsic(K, L, debiased: bool) -> float:
    """Biased (tr(KHLH), up to a constant factor) or unbiased (Song et al.) HSIC of two n × n Gram matrices."""
    n = K.shape[0]
    if not debiased:
        Kc = K - K.mean(0, keepdims=True) - K.mean(1, keepdims=True) + K.mean()
        Lc = L - L.mean(0, keepdims=True) - L.mean(1, keepdims=True) + L.mean()
        return float(np.sum(Kc * Lc))
    if n < 4:
        raise ValueError(f"debiased CKA needs at least 4 examples, got {n}")
    Kt = K - np.diag(np.diag(K))
    Lt = L - np.diag(np.diag(L))
    ones_K, ones_L = Kt.sum(1), Lt.sum(1)  # K̃1, L̃1
    return float(np.sum(Kt * Lt) + ones_K.sum() * ones_L.sum() / ((n - 1) * (n - 2))
                 - 2.0 / (n - 2) * ones_K @ ones_L)

def _cka(K, L, debiased: bool) -> float:
    kl = _hsic(K, L, debiased)
    kk = _hsic(K, K, debiased)
    ll = _hsic(L, L, debiased)
    return kl / np.sqrt(kk * ll)

def _check_pair(X, Y):
    X, Y = _as_matrix(X, "X"), _as_matrix(Y, "Y")
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"CKA: X and Y must hold the same examples, got {X.shape[0]} and {Y.shape[0]} rows")
    return X, Y

def linear_cka(X, Y, debiased: bool = False) -> float:
    """Linear CKA of X [n, p] and Y [n, q] (rows = the same n examples), in float64."""
    X, Y = _check_pair(X, Y)
    if not debiased:  # feature-space form: O(n·p·q) instead of n × n Gram matrices
        X = X - X.mean(0)
        Y = Y - Y.mean(0)
        xy = np.sum((Y.T @ X) ** 2)
        return float(xy / (np.linalg.norm(X.T @ X) * np.linalg.norm(Y.T @ Y)))
    return _cka(X @ X.T, Y @ Y.T, True)

def rbf_gram(X, threshold: float = 0.5) -> np.ndarray:
    """Gaussian-kernel Gram matrix [n, n] of X [n, p], σ = threshold · √(median squared distance)."""
    X = _as_matrix(X, "X")
    sq = np.sum(X * X, axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * X @ X.T, 0.0)
    med = np.median(d2)
    if med <= 0:
        raise ValueError("RBF CKA: the median squared distance is 0 (most examples coincide); no bandwidth")
    return np.exp(-d2 / (2.0 * threshold ** 2 * med))

def rbf_cka(X, Y, threshold: float = 0.5, debiased: bool = False) -> float:
    """CKA of X [n, p] and Y [n, q] with Gaussian kernels of bandwidth threshold × median distance."""
    X, Y = _check_pair(X, Y)
    return _cka(rbf_gram(X, threshold), rbf_gram(Y, threshold), debiased)

@jax.jit
def cka_matrix(feats) -> jax.Array:
    """Linear CKA [K, K] between all pairs of K feature matrices feats [K, n, d] (same n examples; the
    dtype of feats, float32 by default). Each row of pairs is one vmap; rows run in a lax.map so only
    K cross-products [d, d] are live at a time (or the centred n × n Gram matrices when n ≤ d)."""
    X = feats - feats.mean(axis=1, keepdims=True)  # centre each model's features over the examples
    n, d = X.shape[1], X.shape[2]
    if n <= d:
        G = jnp.einsum("kad,kbd->kab", X, X).reshape(X.shape[0], -1)  # tr(K_k K_l) = <K_k, K_l>_F
        hsic = G @ G.T
    else:
        def row(xk):
            return jax.vmap(lambda xl: jnp.sum((xl.T @ xk) ** 2))(X)

        hsic = jax.lax.map(row, X)
    diag = jnp.sqrt(jnp.diagonal(hsic))
    denom = diag[:, None] * diag[None, :]
    return jnp.where(denom > 0, hsic / jnp.where(denom > 0, denom, 1.0), 0.0)
