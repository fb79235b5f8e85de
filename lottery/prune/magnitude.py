"""Magnitude pruning as a pure mask transform: ``masks' = prune(params, masks, fraction)``.

Operates on one model's pytrees (kernels only: biases and batch-norm are never pruned);
``jax.vmap`` it over a population. ``fraction`` may be a traced scalar, so one compiled
program serves every level and every ratio of a sweep.

Rules (both rank surviving weights by |w|):

* ``clean`` — remove exactly k = ⌈f·R⌉ weights, R = surviving weights of the ranked
  (non-ignored) layers. **Ties**: among equal magnitudes the weight that comes first is
  removed first — layers in name order, then row-major position within the layer.
* ``openlth`` — OpenLTH's ``sparse_global``: R = surviving weights of *all* layers (ignored
  ones included), k = ⌈f·R⌉, threshold t = the (k+1)-th smallest surviving |w| of the
  ranked layers (0-based index k of the sorted magnitudes), and only weights with |w| > t
  survive: k+1 weights are removed, plus every weight tied with t. With f = 0.2 and nothing
  ignored, N ← N − ⌈0.2·N⌉ − 1.

Scope: ``global`` ranks all ranked layers together; ``layerwise`` ranks each layer on its
own with its rate f·rate[layer] (e.g. the output layer at half rate). Ignored layers keep
their masks.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from lottery.models.masks import kernel_leaves
from lottery.prune.counting import ceil_fraction

RULES = ("clean", "openlth")
SCOPES = ("global", "layerwise")


def _keep_flat(scores, alive, k, rule):
    """Keep-mask [T] of one flat score vector; alive [T] bool; k int32 weights to remove."""
    masked = jnp.where(alive, scores, jnp.inf)
    if rule == "clean":
        order = jnp.argsort(masked, stable=True)
        rank = jnp.zeros_like(order).at[order].set(jnp.arange(order.shape[0], dtype=order.dtype))
        return alive & (rank >= k)
    ordered = jnp.sort(masked)
    threshold = ordered[jnp.minimum(k, ordered.shape[0] - 1)]
    threshold = jnp.where(k >= ordered.shape[0], jnp.inf, threshold)
    return alive & (scores > threshold)


def prune(params, masks, fraction, *, rule: str = "clean", scope: str = "global",
          ignore: tuple = (), rates: dict | None = None, scores=None):
    """New masks of one model after removing a fraction of its surviving prunable weights.

    params, masks: one model's pytrees ({layer: {kernel, bias?}}), masks bool.
    fraction: scalar in [0, 1) (may be traced). scores: optional pytree like params to rank
    by instead of |params| (any method's score; lower is pruned first).
    Returns masks of the same structure; only kernel masks change, and only from True to False.
    """
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; allowed: {RULES}")
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; allowed: {SCOPES}")
    rates = rates or {}
    w = kernel_leaves(scores if scores is not None else jax.tree.map(jnp.abs, params))
    m = kernel_leaves(masks)
    ranked = [name for name in m if name not in ignore]
    new = dict(m)
    if scope == "global":
        total_alive = sum(jnp.sum(m[n], dtype=jnp.int32) for n in (m if rule == "openlth" else ranked))
        k = ceil_fraction(fraction, total_alive)
        flat_s = jnp.concatenate([w[n].ravel() for n in ranked])
        flat_a = jnp.concatenate([m[n].ravel() for n in ranked])
        keep = _keep_flat(flat_s, flat_a, k, rule)
        start = 0
        for n in ranked:
            size = m[n].size
            new[n] = keep[start:start + size].reshape(m[n].shape)
            start += size
    else:
        for n in ranked:
            k = ceil_fraction(jnp.asarray(fraction, jnp.float32) * rates.get(n, 1.0), jnp.sum(m[n], dtype=jnp.int32))
            new[n] = _keep_flat(w[n].ravel(), m[n].ravel(), k, rule).reshape(m[n].shape)
    out = {name: dict(layer) for name, layer in masks.items()}
    for n in m:
        out[n]["kernel"] = new[n]
    return out


def scores(ctx, params, masks, key, x=None, y=None, valid=None):
    """The magnitude score of the pruning methods (see :mod:`lottery.prune.methods`): |w| of every kernel,
    {layer: {"kernel": [..., in, out]}}; context, key and data are unused."""
    del ctx, masks, key, x, y, valid
    return {name: {"kernel": jnp.abs(k)} for name, k in kernel_leaves(params).items()}
