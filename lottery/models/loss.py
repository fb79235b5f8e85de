"""The masked cross-entropy of one model: what training minimises and what SNIP / biprop differentiate."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from lottery.models import forward


def apply_masks(params, masks):
    """params · masks, leaf by leaf (masks are bool)."""
    return jax.tree.map(lambda p, m: p * m.astype(p.dtype), params, masks)


def loss_and_stats(module, params, masks, stats, x, y, valid):
    """(mean cross-entropy of one model over the valid examples of a batch, batch-norm statistics after it).

    x [B, *input], y [B] int, valid [B] bool (False marks the padding of a partial batch); stats: the
    model's running statistics (empty without batch-norm), normalising in training mode.
    """
    logits, stats = forward.logits(module, apply_masks(params, masks), stats, x, train=True, valid=valid)
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, y)
    w = valid.astype(ce.dtype)
    return jnp.sum(ce * w) / jnp.maximum(jnp.sum(w), 1.0), stats


def batch_loss(module, params, masks, x, y, valid, stats=None):
    """The loss of :func:`loss_and_stats` alone. stats None: placeholder running statistics — a training-mode
    loss normalises with the batch's own statistics, so it does not depend on them."""
    if stats is None:
        stats = forward.member_stats(module, tuple(x.shape[1:]))
    return loss_and_stats(module, params, masks, stats, x, y, valid)[0]
