"""The default strategy: ``jit(lax.scan(vmap(member_step)))`` over a chunk of steps — one program per bucket,
compiled once and reused by every chunk, level and branch; with several devices the model axis is sharded
(:mod:`lottery.train.sharding`)."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from lottery.models.loss import apply_masks
from lottery.train.evaluate import population_logits
from lottery.train.state import Population
from lottery.train.step import augment_keys_or_zeros, member_step
from lottery.train.curve_probe import scan_with_curves
from lottery.train.strategies.contract import Bucket, Strategy, abstract


class VmappedScan(Strategy):
    """Every member of the bucket in one vmapped step, scanned over the chunk."""

    name = "vmapped"
    curves_inside = True

    @classmethod
    def applies(cls, bucket: Bucket) -> bool:
        return True  # the fallback: any model, optimizer and layout

    def __init__(self, bucket: Bucket):
        super().__init__(bucket)
        self.step = member_step(bucket.module, bucket.tx, bucket.lr_schedule, bucket.augment)
        self._run = jax.jit(self._scan, donate_argnums=0)
        self._curved = jax.jit(self._scan_curved, donate_argnums=0, static_argnums=6)

    def cache_size(self) -> int:
        return self._run._cache_size() + self._curved._cache_size()

    def chunk(self, state: Population, idx):
        b = self.bucket
        return self._run(state, b.x_train, b.labels, b.label_set, idx, b.augment_keys)

    def chunk_with_curves(self, state: Population, idx, start, probe):
        b = self.bucket
        return self._curved(state, b.x_train, b.labels, b.label_set, idx, b.augment_keys, probe.every, start,
                            probe.batches)

    def lower(self, pop, idx):
        b = self.bucket
        return self._run.lower(pop, *abstract((b.x_train, b.labels, b.label_set)), idx, abstract(b.augment_keys))

    def logits_of(self, pop: Population):
        """x [eb, *input] → logits [K, eb, C] of every member (masked, batch-norm running statistics)."""
        pm = apply_masks(pop.params, pop.masks)
        return lambda x: population_logits(self.bucket.module, pm, pop.stats, x)

    def _scan_curved(self, pop, x_train, labels, label_set, idx, augment_keys, every, start, batches):
        steps = lambda st, ix: self._scan(st, x_train, labels, label_set, ix, augment_keys)  # noqa: E731
        return scan_with_curves(steps, self.logits_of, pop, idx, start, every, batches)

    def _scan(self, pop: Population, x_train, labels, label_set, idx, augment_keys=None):
        """pop [K, ...]; idx [S, K, B] (or [S, B] shared) → (pop after S steps, losses [S, K])."""
        augment_keys = augment_keys_or_zeros(pop.step.shape[0], augment_keys)
        shared = self.bucket.shared_order

        def body(pop, idx_s):
            valid = idx_s >= 0
            safe = jnp.maximum(idx_s, 0)
            if shared:
                xb = x_train[safe]  # [B, *input], shared by every model
                yb = labels[:, safe][label_set]  # [K, B]
                x_axis, v_axis = None, None
            else:
                xb = x_train[safe]  # [K, B, *input]
                yb = jax.vmap(lambda ls, s: labels[ls, s])(label_set, safe)
                x_axis, v_axis = 0, 0
            step = jax.vmap(self.step, in_axes=(0, 0, 0, 0, 0, 0, 0, x_axis, 0, v_axis))
            params, opt_state, stepc, finite, stats, loss = step(
                pop.params, pop.masks, pop.opt_state, pop.step, pop.finite, pop.stats, augment_keys, xb, yb, valid)
            return pop.replace(params=params, opt_state=opt_state, step=stepc, finite=finite, stats=stats), loss

        return jax.lax.scan(body, pop, idx)
