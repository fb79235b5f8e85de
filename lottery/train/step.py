"""The compiled training program of a population: ``lax.scan`` over steps of a ``vmap``ped step.

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
import numpy as np
import optax

from lottery.data import augment
from lottery.models import forward
from lottery.train.state import Population, member_stats


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
        stats = member_stats(module, tuple(x.shape[1:]))
    return loss_and_stats(module, params, masks, stats, x, y, valid)[0]


class TrainProgram:
    """The jitted chunk function of one bucket: compiled once, reused for every chunk and level.

    ``run(pop, x_train, labels, label_set, idx, augment_keys=None)``:
      pop: Population of K models; x_train [N, *input]; labels [L, N] int32 (label sets);
      label_set [K] int32 (which label set each model trains on);
      idx [S, K, B] int32 (independent order) or [S, B] (shared order), −1 = padding;
      augment_keys [K, 2] uint32 raw keys (needed when the program augments).
    Returns (pop after S steps, training losses [S, K]).

    augment: None, or {"pad": pixels, "fill": scalar or [C]} for crop-and-flip augmentation of images.
    member_loop: instead of ``jit(scan(vmap(step)))``, run one jitted single-member step per member and
    step from Python (same results up to float rounding). For convolutional nets on a CPU: XLA:CPU runs
    a ``vmap``ped convolution (a grouped convolution) several times slower than the members one by one,
    and the backward convolutions inside a ``scan`` about 25× slower than outside (measured here:
    ResNet-20 W=16, batch 128 — 0.65 s per step alone, 4.7 s for two members vmapped, 16 s per step
    inside a scan).
    """

    def __init__(self, module, tx: optax.GradientTransformation, lr_schedule, shared_order: bool,
                 augment: dict | None = None, member_loop: bool = False):
        self.module, self.tx, self.lr_schedule, self.shared_order = module, tx, lr_schedule, shared_order
        self.augment = augment
        if member_loop:
            self._one = jax.jit(self._one_member, donate_argnums=0)
            self.run = self._loop
        else:
            self.run = jax.jit(self._run, donate_argnums=0)

    def _member_step(self, params, masks, opt_state, step, finite, stats, key, x, y, valid):
        if self.augment is not None:
            x = augment.augment(jax.random.fold_in(key, step), x, self.augment["pad"], self.augment["fill"])
        (loss, stats), grads = jax.value_and_grad(loss_and_stats, argnums=1, has_aux=True)(
            self.module, params, masks, stats, x, y, valid)
        grads = apply_masks(grads, masks)
        direction, opt_state = self.tx.update(grads, opt_state, params)
        lr = self.lr_schedule(step)
        params = jax.tree.map(lambda p, u, m: (p - lr * u * m) * m.astype(p.dtype), params, direction, masks)
        return params, opt_state, step + 1, finite & jnp.isfinite(loss), stats, loss

    def _one_member(self, member: Population, x_train, labels, label, idx_s, key):
        """One step of one member (leaves without the model axis); idx_s [B] (−1 = padding)."""
        safe = jnp.maximum(idx_s, 0)
        params, opt_state, step, finite, stats, loss = self._member_step(
            member.params, member.masks, member.opt_state, member.step, member.finite, member.stats, key,
            x_train[safe], labels[label, safe], idx_s >= 0)
        return member.replace(params=params, opt_state=opt_state, step=step, finite=finite, stats=stats), loss

    @staticmethod
    def _keys(pop: Population, augment_keys):
        """The members' augmentation keys [K, 2], zeros (unused) without augmentation."""
        return augment_keys if augment_keys is not None else jnp.zeros((pop.step.shape[0], 2), jnp.uint32)

    def _loop(self, pop: Population, x_train, labels, label_set, idx, augment_keys=None):
        """``run`` as a Python loop over steps and members of one jitted single-member step."""
        k = pop.step.shape[0]
        keys = self._keys(pop, augment_keys)
        idx, label_set = np.asarray(idx), np.asarray(label_set)
        members = [jax.tree.map(lambda a, i=i: a[i], pop) for i in range(k)]
        losses = []
        for s in range(idx.shape[0]):
            row = []
            for i in range(k):
                members[i], loss = self._one(members[i], x_train, labels, int(label_set[i]),
                                             idx[s] if self.shared_order else idx[s, i], keys[i])
                row.append(loss)
            losses.append(jnp.stack(row))
        return jax.tree.map(lambda *a: jnp.stack(a), *members), jnp.stack(losses)

    def _run(self, pop: Population, x_train, labels, label_set, idx, augment_keys=None):
        augment_keys = self._keys(pop, augment_keys)

        def body(pop, idx_s):
            valid = idx_s >= 0
            safe = jnp.maximum(idx_s, 0)
            if self.shared_order:
                xb = x_train[safe]  # [B, *input], shared by every model
                yb = labels[:, safe][label_set]  # [K, B]
                x_axis, v_axis = None, None
            else:
                xb = x_train[safe]  # [K, B, *input]
                yb = jax.vmap(lambda ls, s: labels[ls, s])(label_set, safe)
                x_axis, v_axis = 0, 0
            step = jax.vmap(self._member_step, in_axes=(0, 0, 0, 0, 0, 0, 0, x_axis, 0, v_axis))
            params, opt_state, stepc, finite, stats, loss = step(
                pop.params, pop.masks, pop.opt_state, pop.step, pop.finite, pop.stats, augment_keys, xb, yb, valid)
            return pop.replace(params=params, opt_state=opt_state, step=stepc, finite=finite, stats=stats), loss

        return jax.lax.scan(body, pop, idx)
