"""Taylor scores on a trained net: the estimated loss change when a weight is removed (docs/science.md §7).

Removing w changes the loss by δL ≈ −g·w + ½·w²·H_ww. Over ``nb`` minibatches b:

* first order (``taylor1``): s = (1/nb) Σ_b |g_b·w| — per-batch absolute values accumulated,
  so a weight whose gradient only averages out to 0 still counts as sensitive;
* second order (``taylor2``): s = (1/nb) Σ_b |g_b·w| + ½·w²·H̄_ww, H̄ the mean over the
  minibatches of the diagonal of each batch loss's Hessian with respect to the kernels. H_ww
  keeps its sign (the loss is not convex): a weight whose removal is predicted to lower the
  loss scores lower and goes first.

The Hessian diagonal (``ctx.hessian``):

* ``exact`` — e_iᵀ·H·e_i for every kernel entry i by forward-over-reverse Hessian-vector
  products: P products per batch for P kernel entries, exact but only for small nets;
* ``hutchinson`` — E_z[z ⊙ Hz] with Rademacher z, ``ctx.samples`` products per batch
  (Bekas et al. 2007): unbiased, one gradient-cost per sample, any size.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from lottery.models.masks import kernel_leaves
from lottery.prune.snip import batch_gradients, kernel_loss

HESSIANS = ("exact", "hutchinson")
EXACT_CHUNK = 256  # Hessian-vector products evaluated together by the exact diagonal


def _first(ctx, params, masks, x, y, valid):
    g = batch_gradients(ctx, params, masks, x, y, valid)
    return {n: jnp.mean(jnp.abs(g[n] * w), axis=0) for n, w in kernel_leaves(params).items()}


def hessian_diagonal(ctx, params, masks, key, x, y, valid):
    """Mean over minibatches of diag ∇²_w L_b for every kernel: {layer: [in, out]}.

    x [nb, B, *input], y [nb, B], valid [nb, B]; ``ctx.hessian`` picks exact or Hutchinson.
    """
    flat, unravel = ravel_pytree(kernel_leaves(params))
    size = flat.shape[0]

    def per_batch(b):
        i, xb, yb, vb = b
        grad = jax.grad(lambda f: kernel_loss(ctx.module, params, masks, unravel(f), xb, yb, vb))
        hvp = lambda v: jax.jvp(grad, (flat,), (v,))[1]  # noqa: E731
        if ctx.hessian == "exact":
            return jax.lax.map(lambda j: hvp(jax.nn.one_hot(j, size, dtype=flat.dtype))[j], jnp.arange(size),
                               batch_size=min(size, EXACT_CHUNK))
        if ctx.hessian != "hutchinson":
            raise ValueError(f"unknown Hessian estimate {ctx.hessian!r}; allowed: {HESSIANS}")
        keys = jax.random.split(jax.random.fold_in(key, i), ctx.samples)
        z = jax.vmap(lambda k: jax.random.rademacher(k, (size,), flat.dtype))(keys)
        return jnp.mean(jax.lax.map(lambda v: v * hvp(v), z), axis=0)

    diag = jnp.mean(jax.lax.map(per_batch, (jnp.arange(x.shape[0]), x, y, valid)), axis=0)
    return unravel(diag)


def scores_first(ctx, params, masks, key, x, y, valid):
    """First-order Taylor score (1/nb) Σ_b |g_b·w|: {layer: {"kernel": [in, out]}}."""
    del key
    return {n: {"kernel": s} for n, s in _first(ctx, params, masks, x, y, valid).items()}


def scores_second(ctx, params, masks, key, x, y, valid):
    """Second-order Taylor score (1/nb) Σ_b |g_b·w| + ½·w²·H̄_ww: {layer: {"kernel": [in, out]}}."""
    first = _first(ctx, params, masks, x, y, valid)
    h = hessian_diagonal(ctx, params, masks, key, x, y, valid)
    return {n: {"kernel": first[n] + 0.5 * w * w * h[n]} for n, w in kernel_leaves(params).items()}
