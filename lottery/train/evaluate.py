"""Evaluation of every model of a population on a dataset split, in batches.

One pass computes the logits once and scores them against several label variants
(e.g. the noisy and the clean training labels).
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lottery.train.step import apply_masks


class EvalProgram:
    """``run(params, masks, x, labels)`` → (loss [K, M], error [K, M]) means over the N examples.

    params/masks: population pytrees [K, ...]; x [N, *input]; labels [K, M, N] int32 —
    M label variants per model. Compiled once per (bucket, split size).
    """

    def __init__(self, module, batch_size: int):
        self.module, self.batch_size = module, batch_size
        self._run = jax.jit(self._impl)

    def _impl(self, params, masks, xb, yb, vb):
        # xb [nb, eb, *input], yb [nb, K, M, eb], vb [nb, eb]
        pm = apply_masks(params, masks)

        def body(acc, batch):
            x, y, v = batch
            logits = jax.vmap(lambda p: self.module.apply({"params": p}, x))(pm)  # [K, eb, C]
            ce = jax.vmap(lambda lg, yy: jax.vmap(lambda yv: optax.softmax_cross_entropy_with_integer_labels(lg, yv))(yy))(logits, y)
            wrong = (jnp.argmax(logits, -1)[:, None, :] != y) | ~jnp.isfinite(ce)
            w = v.astype(jnp.float32)
            return (acc[0] + jnp.sum(ce * w, -1), acc[1] + jnp.sum(wrong * w, -1)), None

        k, m = yb.shape[1], yb.shape[2]
        zeros = jnp.zeros((k, m), jnp.float32)
        (loss, err), _ = jax.lax.scan(body, (zeros, zeros), (xb, yb, vb))
        n = jnp.sum(vb)
        return loss / n, err / n

    def run(self, params, masks, x, labels):
        n = x.shape[0]
        eb = min(self.batch_size, n)
        nb = math.ceil(n / eb)
        pad = nb * eb - n
        xp = jnp.pad(x, [(0, pad)] + [(0, 0)] * (x.ndim - 1)).reshape(nb, eb, *x.shape[1:])
        yp = jnp.pad(labels, [(0, 0), (0, 0), (0, pad)]).reshape(*labels.shape[:2], nb, eb).transpose(2, 0, 1, 3)
        vp = jnp.asarray(np.arange(nb * eb) < n).reshape(nb, eb)
        return self._run(params, masks, xp, yp, vp)
