"""Calibration kernels (docs/science.md §6): binned statistics that add up over batches, and the errors
read off them. Pure, jittable, and vmappable over a model axis.

Bins are M equal-width, right-closed intervals ((b−1)/M, b/M], bin 0 also holding p = 0 — the
binning of Guo et al. and of the ``uncertainty-calibration`` package (``get_equal_prob_bins``).

Statistics per bin are ``[count, Σ predicted probability, Σ outcome]``:
* top-label: probability of the predicted class, outcome = prediction correct;
* class-wise: for each class k, p_k and outcome 1[y = k].

ECE = Σ_b (n_b / N)·|acc_b − conf_b| = Σ_b |Σ_{i∈b} (outcome_i − p_i)| / N, so an empty bin
contributes nothing and never produces a NaN.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

DEFAULT_BINS = 15


def inner_edges(num_bins: int) -> np.ndarray:
    """The inner bin edges b/M, b = 1 … M−1, each rounded *down* to float32 [M−1].

    For a float32 p and a real edge r, p > r exactly when p > (r rounded down to float32): no float32 lies
    between the two roundings of r. So comparing float32 probabilities with these edges bins them exactly as
    comparing their exact values with the real edges b/M does (``uncertainty-calibration``'s bisect on
    float64 edges): e.g. float32(0.8) = 0.800000011… lies above 12/15 and goes to bin 12 of 15.
    """
    edges = np.arange(1, num_bins, dtype=np.float64) / num_bins
    down = edges.astype(np.float32)
    above = down.astype(np.float64) > edges
    down[above] = np.nextafter(down[above], np.float32(0.0))
    return down


def bin_index(p: jax.Array, num_bins: int) -> jax.Array:
    """Bin of each probability in [0, 1]: the number of edges b/M (b < M) strictly below it, i.e. ⌈p·M⌉ − 1 in
    exact arithmetic (bin 0 also holds 0). p float32, any shape → same shape int32."""
    edges = jnp.asarray(inner_edges(num_bins))
    return jnp.sum(jnp.asarray(p, jnp.float32)[..., None] > edges, axis=-1, dtype=jnp.int32)


def _binned(p, outcome, weight, num_bins):
    """[M, 3] sums of (weight, weight·p, weight·outcome) per bin; p, outcome, weight [N]."""
    onehot = jax.nn.one_hot(bin_index(p, num_bins), num_bins, dtype=jnp.float32) * weight[:, None]  # [N, M]
    return jnp.stack([onehot.sum(0), onehot.T @ p, onehot.T @ outcome.astype(jnp.float32)], axis=-1)


def top_label_stats(probs: jax.Array, labels: jax.Array, valid: jax.Array, num_bins: int = DEFAULT_BINS) -> jax.Array:
    """probs [N, C], labels [N] int, valid [N] bool → [M, 3] top-label bin statistics."""
    conf = jnp.max(probs, axis=-1)
    correct = jnp.argmax(probs, axis=-1) == labels
    return _binned(conf, correct, valid.astype(jnp.float32), num_bins)


def classwise_stats(probs: jax.Array, labels: jax.Array, valid: jax.Array, num_bins: int = DEFAULT_BINS) -> jax.Array:
    """probs [N, C], labels [N], valid [N] → [C, M, 3]: class k's p_k against 1[y = k]."""
    c = probs.shape[-1]
    onehot = jax.nn.one_hot(labels, c, dtype=jnp.float32)
    w = valid.astype(jnp.float32)
    return jax.vmap(lambda p, o: _binned(p, o, w, num_bins), in_axes=(1, 1))(probs, onehot)


def ece(stats: jax.Array) -> jax.Array:
    """[..., M, 3] bin statistics → [...] expected calibration error (L1, plug-in)."""
    n = jnp.maximum(jnp.sum(stats[..., 0], axis=-1), 1.0)
    return jnp.sum(jnp.abs(stats[..., 2] - stats[..., 1]), axis=-1) / n


def classwise_ece(stats: jax.Array) -> jax.Array:
    """[..., C, M, 3] → [...]: the class average of each class's ECE (the 'marginal' calibration error)."""
    return jnp.mean(ece(stats), axis=-1)


def reliability(stats: np.ndarray) -> dict:
    """[..., M, 3] → {count, confidence, accuracy} [..., M] per bin; confidence/accuracy NaN for empty bins
    (for plotting; the errors above never divide by an empty count)."""
    stats = np.asarray(stats, np.float64)
    count = stats[..., 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"count": count, "confidence": np.where(count > 0, stats[..., 1] / count, np.nan),
                "accuracy": np.where(count > 0, stats[..., 2] / count, np.nan)}


def noise_adjusted(posterior: jax.Array, flip_rate) -> jax.Array:
    """Best achievable posterior under symmetric label noise with flip rate η (docs/science.md §6).

    posterior [N, C] → (1 − η·C/(C−1))·p + η/(C−1): for two classes (1 − η)·p + η·(1 − p).
    """
    c = posterior.shape[-1]
    eta = jnp.asarray(flip_rate, jnp.float32)
    return (1.0 - eta * c / (c - 1)) * posterior + eta / (c - 1)


def posterior_gap(probs: jax.Array, target: jax.Array) -> jax.Array:
    """Per-example total-variation distance ½·Σ_k |p_k − q_k|: [N, C], [N, C] → [N].

    For two classes this is |p(y=1|x) − q(y=1|x)|.
    """
    return 0.5 * jnp.sum(jnp.abs(probs - target), axis=-1)


def check_inputs(probs, labels, num_bins) -> None:
    """Clear errors for bad input (host-side, numpy): bins ≥ 1, probs rows are distributions, labels in range."""
    if not isinstance(num_bins, (int, np.integer)) or isinstance(num_bins, bool) or num_bins < 1:
        raise ValueError(f"num_bins must be an integer ≥ 1, got {num_bins!r}")
    probs, labels = np.asarray(probs), np.asarray(labels)
    if probs.ndim != 2:
        raise ValueError(f"probs must be [N, classes], got shape {probs.shape}")
    if labels.shape != probs.shape[:1]:
        raise ValueError(f"labels must be [N] = [{probs.shape[0]}], got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer) or labels.size and (labels.min() < 0 or labels.max() >= probs.shape[1]):
        raise ValueError(f"labels must be integers in [0, {probs.shape[1]}), got {labels.dtype} "
                         f"in [{labels.min() if labels.size else '-'}, {labels.max() if labels.size else '-'}]")
    if probs.size and (probs.min() < 0 or probs.max() > 1 or not np.allclose(probs.sum(-1), 1.0, atol=1e-4)):
        raise ValueError("probs must be probability distributions: entries in [0, 1], rows summing to 1")


def summary(probs, labels, num_bins: int = DEFAULT_BINS) -> dict:
    """Checked host-side entry point: {ece, classwise_ece, top [M, 3], classwise [C, M, 3]}."""
    check_inputs(probs, labels, num_bins)
    probs = jnp.asarray(probs, jnp.float32)
    labels = jnp.asarray(labels, jnp.int32)
    valid = jnp.ones(labels.shape, bool)
    top = top_label_stats(probs, labels, valid, num_bins)
    cls = classwise_stats(probs, labels, valid, num_bins)
    return {"ece": float(ece(top)), "classwise_ece": float(classwise_ece(cls)), "top": np.asarray(top),
            "classwise": np.asarray(cls)}
