"""Packed training of one-hidden-layer nets (:mod:`lottery.train.packed_step`): the members that share a data
order become one layer of Σ widths hidden units with a block-diagonal output layer — no padding, one batch
gather per order. For a stateless optimizer (plain SGD, any weight decay) and ``train.pack``; not with
augmentation or a sharded layout. The padded population stays the record: gathered before a range of steps
and written back after."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from lottery.train import optim, packed_step
from lottery.train.state import Population
from lottery.train.strategies.contract import Bucket, Strategy, abstract, nbytes


def packs(spec, train_cfg, opt_cfg) -> bool:
    """Whether buckets of this model train packed: ``train.pack``, a fully connected net with one hidden layer,
    and an optimizer that keeps no per-weight state (plain SGD, any weight decay)."""
    stateless = not jax.tree.leaves(optim.direction(opt_cfg).init({"w": jnp.zeros(1)}))
    return bool(train_cfg.pack) and spec.fully_connected and len(spec.hidden) == 1 and stateless


def _plan(bucket: Bucket):
    sizes = [bucket.spec.layer_sizes(m.width, 0, bucket.num_classes) for m in bucket.members]
    seeds = sorted({m.seed for m in bucket.members})
    # One group per seed even with a shared order: a group's block-diagonal output layer grows with
    # the square of its members, so a whole population in one group costs more than it saves.
    groups = [seeds.index(m.seed) for m in bucket.members]
    return packed_step.PackPlan.build([s[1] for s in sizes], groups)


class Packed(Strategy):
    """The bucket gathered into the packed layout for a range of steps, trained by :class:`PackedProgram`."""

    name = "packed"
    curves_inside = True

    @classmethod
    def applies(cls, bucket: Bucket) -> bool:
        return (packs(bucket.spec, bucket.train_cfg, bucket.opt_cfg) and not bucket.train_cfg.augment
                and not bucket.layout.sharded and _plan(bucket) is not None)

    def __init__(self, bucket: Bucket):
        super().__init__(bucket)
        plan = _plan(bucket)
        self.plan = plan
        members = bucket.members
        self.slot_labels = jnp.asarray(np.where(plan.slot_member < len(members),
                                                np.asarray([m.label_set for m in members] + [0])[plan.slot_member], 0),
                                       jnp.int32)
        self.program = packed_step.PackedProgram(plan, bucket.tx, bucket.lr_schedule, bucket.spec.use_bias,
                                                 bucket.shared_order)

    @property
    def hidden_units(self) -> int:
        """Hidden units computed per step: Σ widths per group."""
        return self.plan.groups * int(self.plan.col_member.shape[1])

    def orders(self) -> list[int]:
        """One order per group of the packed layout (a seed), or the shared one."""
        b = self.bucket
        return [int(b.train_cfg.data_seed)] if b.shared_order else sorted({m.seed for m in b.members})

    def cache_size(self) -> int:
        return self.program.run._cache_size() + self.program.run_with_curves._cache_size()

    def lower(self, pop, idx):
        b = self.bucket
        state = jax.eval_shape(self.program.pack, pop)
        return self.program.run.lower(state, *abstract((b.x_train, b.labels, self.slot_labels)), idx)

    def held(self, pop) -> int:
        """The padded population, the record, kept while the packed one trains."""
        return nbytes(pop)

    def begin(self, pop: Population):
        return self.program.pack(pop)

    def chunk(self, state, idx):
        b = self.bucket
        return self.program.run(state, b.x_train, b.labels, self.slot_labels, idx)

    def chunk_with_curves(self, state, idx, start, probe):
        b = self.bucket
        return self.program.run_with_curves(state, b.x_train, b.labels, self.slot_labels, idx, probe.every, start,
                                            probe.batches)

    def member_losses(self, loss) -> np.ndarray:
        return loss[:, self.plan.member_group, self.plan.member_slot]  # [S, U, G] → [S, K]

    def end(self, state, pop: Population) -> Population:
        return self.program.unpack(state, pop)
