"""Gaussian mixture classification data with its exact Bayes posterior (docs/science.md §1.1).

A mixture is described by data, not code: for every class a set of components,
each with a mean and a weight, all sharing the covariance ``sigma² I``. The two
layouts of study A (`linear`, `xor`) are constructors of that description.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np


@dataclasses.dataclass(frozen=True, eq=False)
class Mixture:
    """Class-conditional Gaussian mixture.

    means:   [classes, components, dim] float — component means (padded rows carry weight 0).
    weights: [classes, components] float — component weights within each class (rows sum to 1).
    priors:  [classes] float — class probabilities.
    sigma:   shared isotropic standard deviation of every component.
    """

    means: np.ndarray
    weights: np.ndarray
    priors: np.ndarray
    sigma: float = 1.0

    @property
    def num_classes(self) -> int:
        return self.means.shape[0]

    @property
    def dim(self) -> int:
        return self.means.shape[2]


def from_components(components: list[list[tuple[np.ndarray, float]]], priors=None, sigma: float = 1.0) -> Mixture:
    """Builds a mixture from ``components[c] = [(mean [dim], weight), ...]`` per class."""
    num_classes = len(components)
    kmax = max(len(c) for c in components)
    dim = len(components[0][0][0])
    means = np.zeros((num_classes, kmax, dim), np.float64)
    weights = np.zeros((num_classes, kmax), np.float64)
    for c, comps in enumerate(components):
        total = sum(w for _, w in comps)
        for k, (mu, w) in enumerate(comps):
            means[c, k] = mu
            weights[c, k] = w / total
    if priors is None:
        priors = np.full(num_classes, 1.0 / num_classes)
    return Mixture(means, weights, np.asarray(priors, np.float64), float(sigma))


def linear(dim: int = 100, nu: float = 0.2) -> Mixture:
    """y=0 → N(0·1, I); y=1 → N(ν·1, I) (docs/science.md §1.1, A eq. S2)."""
    ones = np.ones(dim)
    return from_components([[(0 * ones, 1.0)], [(nu * ones, 1.0)]])


def xor(dim: int = 100, nu: float = 0.6) -> Mixture:
    """Each class an equal mixture of two Gaussians placed like the XOR truth table (A eq. S3)."""
    if dim % 2:
        raise ValueError("xor mixture needs an even dimension")
    h = dim // 2
    ones = np.ones(dim)
    a = np.concatenate([np.zeros(h), nu * np.ones(h)])
    b = np.concatenate([nu * np.ones(h), np.zeros(h)])
    return from_components([[(0 * ones, 0.5), (nu * ones, 0.5)], [(a, 0.5), (b, 0.5)]])


def sample(mixture: Mixture, key: jax.Array, n: int) -> tuple[jax.Array, jax.Array]:
    """Draws ``n`` labelled points: x [n, dim] float32, y [n] int32.

    The label is ``y = #{c : u > cumsum(priors)[c]}`` for ``u ~ U(0,1)`` (for two balanced
    classes: y = 0 iff u ≤ 0.5), then a component of that class by its weights, then
    x = mean + sigma·N(0, I).
    """
    ku, kc, kx = jax.random.split(key, 3)
    u = jax.random.uniform(ku, (n,))
    cum = jnp.asarray(np.cumsum(mixture.priors)[:-1], jnp.float32)
    y = jnp.sum(u[:, None] > cum[None, :], axis=1).astype(jnp.int32)
    logw = jnp.log(jnp.asarray(mixture.weights, jnp.float32))  # -inf for padded components
    comp = jax.random.categorical(kc, logw[y])
    means = jnp.asarray(mixture.means, jnp.float32)[y, comp]
    x = means + mixture.sigma * jax.random.normal(kx, (n, mixture.dim))
    return x.astype(jnp.float32), y


def log_joint(mixture: Mixture, x: jax.Array) -> jax.Array:
    """log p(x, y=c) up to a constant shared by all classes: [n, classes].

    log p(x, c) = log π_c + logsumexp_k (log w_ck − ‖x − μ_ck‖² / 2σ²) + const.
    Computed in float32 with the quadratic expanded so it stays a matmul.
    """
    x = jnp.asarray(x, jnp.float32)
    means = jnp.asarray(mixture.means, jnp.float32)  # [C, K, D]
    sq = (jnp.sum(x * x, axis=-1)[:, None, None] - 2.0 * jnp.einsum("nd,ckd->nck", x, means)
          + jnp.sum(means * means, axis=-1)[None])
    with np.errstate(divide="ignore"):
        logw = jnp.asarray(np.log(mixture.weights), jnp.float32)
    comp = logw[None] - sq / (2.0 * mixture.sigma ** 2)
    return jnp.log(jnp.asarray(mixture.priors, jnp.float32))[None] + jax.nn.logsumexp(comp, axis=-1)


def posterior(mixture: Mixture, x: jax.Array) -> jax.Array:
    """Exact Bayes posterior p(y=c | x): [n, classes]."""
    return jax.nn.softmax(log_joint(mixture, x), axis=-1)
