"""Random pruning to a given count: the control for "is it the mask, or just the sparsity?".

Pure and vmappable; the key is the only source of randomness.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from lottery.models.masks import kernel_leaves


def _keep_count(key, alive, keep):
    """Keep-mask [T]: ``keep`` (traced int32) entries chosen uniformly among ``alive`` ones."""
    u = jnp.where(alive, jax.random.uniform(key, alive.shape), -1.0)
    order = jnp.argsort(-u, stable=True)
    rank = jnp.zeros_like(order).at[order].set(jnp.arange(order.shape[0], dtype=order.dtype))
    return alive & (rank < keep)


def like(key, base_masks, target_masks, scope: str = "global"):
    """Random masks inside ``base_masks`` with the same surviving count as ``target_masks``.

    global: the total kernel count matches; layerwise: every layer's count matches.
    base_masks bounds the choice (e.g. padding masks). Biases are copied from base_masks.
    """
    base, target = kernel_leaves(base_masks), kernel_leaves(target_masks)
    names = list(base)
    out = {name: dict(layer) for name, layer in base_masks.items()}
    if scope == "layerwise":
        for i, n in enumerate(names):
            keep = jnp.sum(target[n], dtype=jnp.int32)
            out[n]["kernel"] = _keep_count(jax.random.fold_in(key, i), base[n].ravel(), keep).reshape(base[n].shape)
        return out
    keep = sum(jnp.sum(target[n], dtype=jnp.int32) for n in names)
    flat = _keep_count(key, jnp.concatenate([base[n].ravel() for n in names]), keep)
    start = 0
    for n in names:
        out[n]["kernel"] = flat[start:start + base[n].size].reshape(base[n].shape)
        start += base[n].size
    return out


def scores(ctx, params, masks, key, x=None, y=None, valid=None):
    """The random score of the pruning methods (see :mod:`lottery.prune.methods`): U[0, 1) per kernel entry,
    {layer: {"kernel": [..., in, out]}}, layer i drawn from ``fold_in(key, i)``. Keeping the top
    scores keeps a uniformly random subset; one key gives nested masks across ratios."""
    del ctx, masks, x, y, valid
    return {name: {"kernel": jax.random.uniform(jax.random.fold_in(key, i), k.shape)}
            for i, (name, k) in enumerate(kernel_leaves(params).items())}
