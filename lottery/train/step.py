"""One member's training step (masked forward, gradient and update), shared by the vmapped scan and the member loop.

Masking (pruned and padded weights stay exactly 0 under momentum and weight decay): the
forward pass sees ``params * masks``, the gradient and the update are masked, and the new
parameters are ``(p − lr·u) · m``.

Batch-norm nets train on the statistics of each batch's valid examples and carry their running
statistics in ``Population.stats``. With augmentation, member k's batch at step s is augmented
(random crop with padding, horizontal flip; :mod:`lottery.data.augment`) from
``fold_in(augment_keys[k], s)``: its own key, so a member trained alone sees the same images.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from lottery.data import augment as augment_ops
from lottery.models.loss import apply_masks, loss_and_stats


def member_step(module, tx: optax.GradientTransformation, lr_schedule, augment: dict | None):
    """The step function of one member: ``step(params, masks, opt_state, step, finite, stats, key, x, y, valid)
    → (params, opt_state, step + 1, finite, stats, loss)``; x [B, *input], y [B] int, valid [B] bool, key the
    member's raw augmentation key. augment: None, or {"pad": pixels, "fill": scalar or [C]} (crop and flip)."""

    def step_fn(params, masks, opt_state, step, finite, stats, key, x, y, valid):
        if augment is not None:
            x = augment_ops.augment(jax.random.fold_in(key, step), x, augment["pad"], augment["fill"])
        (loss, stats), grads = jax.value_and_grad(loss_and_stats, argnums=1, has_aux=True)(
            module, params, masks, stats, x, y, valid)
        grads = apply_masks(grads, masks)
        direction, opt_state = tx.update(grads, opt_state, params)
        lr = lr_schedule(step)
        params = jax.tree.map(lambda p, u, m: (p - lr * u * m) * m.astype(p.dtype), params, direction, masks)
        return params, opt_state, step + 1, finite & jnp.isfinite(loss), stats, loss

    return step_fn


def augment_keys_or_zeros(k: int, augment_keys):
    """The members' augmentation keys [K, 2], zeros (unused) without augmentation."""
    return augment_keys if augment_keys is not None else jnp.zeros((k, 2), jnp.uint32)
