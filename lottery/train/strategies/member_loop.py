"""Members one by one: one jitted single-member step per member and step, driven from Python.

For convolutional nets on a CPU (``train.members = auto``; ``loop`` forces it): XLA:CPU runs a ``vmap``ped
convolution (a grouped convolution) several times slower than the members one by one, and the backward
convolutions inside a ``scan`` about 25× slower than outside (measured here: ResNet-20 W=16, batch 128 —
0.65 s per step alone, 4.7 s for two members vmapped, 16 s per step inside a scan). Same results as the
vmapped scan up to float rounding.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from lottery.train.state import Population
from lottery.train.step import augment_keys_or_zeros, member_step
from lottery.train.strategies.contract import Bucket, Strategy, abstract, nbytes

MEMBERS = ("auto", "vmap", "loop")  # train.members (contract.one_by_one decides for a bucket)


class MemberLoop(Strategy):
    """``chunk`` as a Python loop over steps and members of one jitted single-member step."""

    name = "member loop"

    @classmethod
    def applies(cls, bucket: Bucket) -> bool:
        return bucket.member_loop  # train.members (see contract.one_by_one)

    def __init__(self, bucket: Bucket):
        super().__init__(bucket)
        self.step = member_step(bucket.module, bucket.tx, bucket.lr_schedule, bucket.augment)
        self._one = jax.jit(self._one_member, donate_argnums=0)

    def _one_member(self, member: Population, x_train, labels, label, idx_s, key):
        """One step of one member (leaves without the model axis); idx_s [B] (−1 = padding)."""
        safe = jnp.maximum(idx_s, 0)
        params, opt_state, step, finite, stats, loss = self.step(
            member.params, member.masks, member.opt_state, member.step, member.finite, member.stats, key,
            x_train[safe], labels[label, safe], idx_s >= 0)
        return member.replace(params=params, opt_state=opt_state, step=step, finite=finite, stats=stats), loss

    def cache_size(self) -> int:
        return self._one._cache_size()

    def lower(self, pop, idx):
        """The single-member step (the program every member and step runs)."""
        b = self.bucket
        one = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape[1:], a.dtype), pop)
        row = jax.ShapeDtypeStruct(idx.shape[-1:], idx.dtype)
        key = jax.ShapeDtypeStruct((2,), jnp.uint32)
        return self._one.lower(one, *abstract((b.x_train, b.labels)), 0, row, key)

    def held(self, pop) -> int:
        """The other members, held while one steps."""
        k = pop.step.shape[0]
        return nbytes(pop) * (k - 1) // max(k, 1)

    def chunk(self, pop: Population, idx):
        b = self.bucket
        k = pop.step.shape[0]
        keys = augment_keys_or_zeros(k, b.augment_keys)
        idx, label_set = np.asarray(idx), np.asarray(b.label_set)
        members = [jax.tree.map(lambda a, i=i: a[i], pop) for i in range(k)]
        losses = []
        for s in range(idx.shape[0]):
            row = []
            for i in range(k):
                members[i], loss = self._one(members[i], b.x_train, b.labels, int(label_set[i]),
                                             idx[s] if b.shared_order else idx[s, i], keys[i])
                row.append(loss)
            losses.append(jnp.stack(row))
        return jax.tree.map(lambda *a: jnp.stack(a), *members), jnp.stack(losses)
