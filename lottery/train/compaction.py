"""Training a pruned population on its live sub-networks (dead-unit compaction): the compact re-bucketing of a
trained population (the pure mask and parameter transforms are :mod:`lottery.prune.compact`).

Before a level trains, the hidden units that cannot influence training (see
:mod:`lottery.prune.compact`) are dropped from every model, the population is re-bucketed to
the widest remaining hidden layer — rounded up a ladder of sizes 2ᵏ and 3·2ᵏ⁻¹ so that few
programs are ever compiled — and trained there; the trained sub-networks are written back into
the full-shape parameters, which stay the record (pruning, checkpoints and results never see
the compact shapes). Requires a fresh optimizer state and no weight decay: then results equal
the uncompacted run's up to float summation order. A level trains compacted only when that computes
fewer hidden units than the bucket as it is.

Compaction is not a training strategy (those :func:`lottery.train.strategies.choose` picks per bucket): it wraps
a whole ``BucketTrainer`` for the ranges that start from a fresh optimizer (IMP levels ≥ 1 and branches), and
trains the compact population with another trainer of the same bucket (``BucketTrainer.resized``). Its
``train`` has the trainer's shape (population, step range, progress → population, plus the hidden sizes trained).
"""
from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp

from lottery.prune import compact
from lottery.train.state import Population


def ladder(n: int) -> int:
    """The smallest size ≥ n of the form 2ᵏ or 3·2ᵏ⁻¹ (1, 2, 3, 4, 6, 8, 12, 16, 24, …)."""
    size = 1
    while True:
        for s in (size, 3 * size // 2):
            if s >= n and s >= 1:
                return s
        size *= 2


def applies(trainer, compact: bool) -> bool:
    """Whether ``trainer``'s levels train compacted: ``imp.compact``, a fully connected net, an unsharded layout,
    and no weight decay (compaction is exact only when a zero-gradient weight never moves)."""
    return (bool(compact) and trainer.spec.fully_connected and float(trainer.bucket.opt_cfg.weight_decay) == 0.0
            and not trainer.layout.sharded)


def _gather(params, masks, widths):
    live = jax.vmap(compact.live_units)(params, masks)
    idx = [jax.vmap(functools.partial(compact.live_indices, width=w))(l) for l, w in zip(live, widths)]
    cp, cm = jax.vmap(compact.compact)(params, masks, idx)
    return cp, cm, idx


def _live_counts(params, masks):
    return [jnp.max(jnp.sum(l, axis=1)) for l in jax.vmap(compact.live_units)(params, masks)]


@functools.cache
def _programs():
    """(gather, expand, live counts) compiled: built on first use, never at import, and shared by every bucket.
    gather(params, masks, widths) → (compact params, compact masks, live indices per hidden layer); expand(full
    params, compact params, indices) → full params; live counts(params, masks) → the widest live count per hidden
    layer (all with the model axis K first)."""
    return (jax.jit(_gather, static_argnums=2), jax.jit(jax.vmap(compact.expand)), jax.jit(_live_counts))


class Compacted:
    """``train(pop, start, stop, progress)`` for a BucketTrainer, on live sub-networks when smaller.

    Compact trainers are cached by hidden sizes: one compile per rung of the ladder reached.
    """

    def __init__(self, trainer):
        self.trainer = trainer
        self.trainers = {}

    def hidden_sizes(self, pop: Population) -> tuple[int, ...]:
        """The ladder-rounded widest live count of every hidden layer of the population."""
        _, _, live_counts = _programs()
        return tuple(ladder(max(int(c), 1)) for c in live_counts(pop.params, pop.masks))

    def train(self, pop: Population, start: int, stop: int, progress=None, probe=None,
              observe=None) -> tuple[Population, tuple[int, ...]]:
        """Trains steps [start, stop) of a population whose optimizer state is fresh (``probe`` / ``observe``: see
        ``BucketTrainer.train``; a compacted population is measured in its compact shapes, by its own trainer).

        Returns (population in full shapes, hidden sizes actually trained).
        """
        full = tuple(int(pop.masks[n]["kernel"].shape[2]) for n in compact._layers(pop.masks)[:-1])
        sizes = self.hidden_sizes(pop)
        # Every member is compacted to the same sizes: worth it only when that computes fewer hidden
        # units than the bucket does now (a packed bucket of mixed widths has no padding to remove).
        if len(self.trainer.members) * sum(sizes) >= self.trainer.strategy.hidden_units:
            pop, _, _ = self.trainer.train(pop, start, stop, progress, probe, observe)
            return pop, full
        trainer = self.trainers.get(sizes)
        if trainer is None:
            spec = dataclasses.replace(self.trainer.spec, name=self.trainer.spec.name + "_compact", hidden=sizes)
            trainer = self.trainers[sizes] = self.trainer.resized(spec)
        gather, expand, _ = _programs()
        cp, cm, idx = gather(pop.params, pop.masks, sizes)
        small = Population(cp, cm, trainer.fresh_opt_state(cp), pop.step, pop.finite)
        small, _, _ = trainer.train(small, start, stop, progress, probe, observe)
        params = expand(pop.params, small.params, idx)
        return pop.replace(params=params, step=small.step, finite=small.finite), sizes
