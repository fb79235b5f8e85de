"""SNIP: connection sensitivity |w · ∂L/∂w| at initialisation (Lee et al. 2019; docs/science.md §7).

The gradient is the mean over ``nb`` minibatches of the masked cross-entropy's gradient,
g = (1/nb) Σ_b ∂L_b/∂w, and the score of a weight is |w·g| divided by the sum of every
kernel's |w·g| (the normalisation changes no ranking). Keeping the top scores globally and
training the sparse net from the same initialisation is SNIP; the "retrained" rows of a pruning-method run are
exactly that.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from lottery.models.masks import kernel_leaves
from lottery.models.loss import batch_loss


def kernel_loss(module, params, masks, kernels, x, y, valid):
    """Masked mean cross-entropy of one batch as a function of the kernels {layer: [..., in, out]}
    (biases and batch-norm layers held at their values in ``params``); x [B, *input], y [B], valid [B]."""
    full = {n: {**layer, "kernel": kernels[n]} if n in kernels else layer for n, layer in params.items()}
    return batch_loss(module, full, masks, x, y, valid)


def batch_gradients(ctx, params, masks, x, y, valid):
    """∂L_b/∂w of every kernel for each minibatch b: {layer: [nb, in, out]}.

    x [nb, B, *input], y [nb, B] int, valid [nb, B] bool (False: padding of a partial batch).
    """
    kernels = kernel_leaves(params)
    grad = jax.grad(lambda k, xb, yb, vb: kernel_loss(ctx.module, params, masks, k, xb, yb, vb))
    # A Python loop over the (few) minibatches, not lax.map: XLA:CPU runs backward convolutions inside a
    # while loop ~25× slower (see lottery.train.strategies.member_loop).
    per_batch = [grad(kernels, x[b], y[b], valid[b]) for b in range(x.shape[0])]
    return jax.tree.map(lambda *g: jnp.stack(g), *per_batch)


def scores(ctx, params, masks, key, x, y, valid):
    """Normalised |w·g| with g the mean gradient over the minibatches: {layer: {"kernel": [..., in, out]}}."""
    del key
    g = batch_gradients(ctx, params, masks, x, y, valid)
    raw = {n: jnp.abs(w * jnp.mean(g[n], axis=0)) for n, w in kernel_leaves(params).items()}
    total = sum(jnp.sum(s) for s in raw.values())
    return {n: {"kernel": s / jnp.maximum(total, jnp.finfo(s.dtype).tiny)} for n, s in raw.items()}
