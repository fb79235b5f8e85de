"""Multi-prize tickets (biprop; Diffenderfer & Kailkhura 2021) and edge-popup (Ramanujan et al.
2020): the weights W stay frozen at their random initialisation and a real score s per weight
is learned instead (docs/science.md §7).

Forward (one model, kernel by kernel): m = the top-scored weights (``magnitude.prune`` with
the scores, a traced ``ratio`` of the alive weights removed, global or layer-wise, ties by the
clean rule) and

* biprop: w̃ = sign(W) · α · m, with α = Σ|W|·m / Σm the mean |W| of the kept weights of
  that layer (0 for a layer with nothing kept);
* edge-popup (``ctx.binarise`` False): w̃ = W · m.

Backward (straight-through): ∂L/∂s = (∂L/∂w̃) ⊙ W — the selection is treated as the
identity, so pruned weights keep receiving gradient and can come back. It is written as
w̃ = stop_gradient(w̃) + (s − stop_gradient(s)) · W, whose value is exactly w̃.
Layers in ``ignore`` keep W, unpruned and real. Biases are frozen at their initial values.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from lottery.models.masks import kernel_leaves
from lottery.prune import magnitude
from lottery.models.loss import batch_loss


def scores(ctx, params, masks, key, x=None, y=None, valid=None):
    """Initial scores {layer: {"kernel": [in, out]}}: U(−1, 1)/√fan_in, fan-in read off the mask
    (the scale of a Kaiming-uniform layer), layer i from ``fold_in(key, i)``; 0 on masked entries."""
    del ctx, params, x, y, valid
    out = {}
    for i, (n, m) in enumerate(kernel_leaves(masks).items()):
        fan_in = jnp.maximum(jnp.sum(m, axis=0), 1).astype(jnp.float32)
        u = jax.random.uniform(jax.random.fold_in(key, i), m.shape, minval=-1.0, maxval=1.0)
        out[n] = {"kernel": u / jnp.sqrt(fan_in) * m}
    return out


def network(ctx, params, masks, s, ratio, *, scope: str = "global", ignore: tuple = ()):
    """(w̃ params, keep masks) of one model for scores ``s`` at a (traced) ``ratio``.

    params: frozen weights {layer: {kernel [in, out], bias?}}; masks: its bool masks (padding,
    or an earlier pruning); s: scores {layer: {"kernel"}}. w̃ carries the straight-through
    gradient to ``s``; the keep masks are a subset of ``masks``.
    """
    keep = magnitude.prune(s, masks, ratio, rule="clean", scope=scope, ignore=ignore, scores=s)
    out = {n: dict(layer) for n, layer in params.items()}
    for n, w in kernel_leaves(params).items():
        if n in ignore:
            continue
        m = keep[n]["kernel"].astype(w.dtype)
        if ctx.binarise:
            alpha = jnp.sum(jnp.abs(w) * m) / jnp.maximum(jnp.sum(m), 1.0)
            value = jnp.sign(w) * alpha * m
        else:
            value = w * m
        score = s[n]["kernel"]
        out[n]["kernel"] = jax.lax.stop_gradient(value) + (score - jax.lax.stop_gradient(score)) * w
    return out, keep


def loss(ctx, params, masks, s, ratio, x, y, valid, *, scope: str = "global", ignore: tuple = ()):
    """Mean cross-entropy of the selected network on one batch, as a function of the scores.

    x [B, *input], y [B], valid [B]. The base ``masks`` (not the keep masks) multiply w̃ inside
    the loss, so the straight-through gradient reaches the scores of pruned weights.
    """
    eff, _ = network(ctx, params, masks, s, ratio, scope=scope, ignore=ignore)
    return batch_loss(ctx.module, eff, masks, x, y, valid)


def score_step(ctx, tx, lr, params, masks, s, opt_state, ratio, x, y, valid, *, scope: str = "global",
               ignore: tuple = ()):
    """One optimizer step on the scores of one model (W untouched): (scores, opt_state, loss)."""
    value, g = jax.value_and_grad(lambda sc: loss(ctx, params, masks, sc, ratio, x, y, valid, scope=scope,
                                                  ignore=ignore))(s)
    u, opt_state = tx.update(g, opt_state, s)
    return jax.tree.map(lambda a, b: a - lr * b, s, u), opt_state, value
