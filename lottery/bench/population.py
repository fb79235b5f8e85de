"""The engine's side of the benchmark: populations trained by :class:`BucketTrainer`, timed.

Every bucket is measured as a user's run executes it (the configured bucket plan, padding and
data order): the first chunk (compile + one epoch) is timed apart from the steady epochs.
"""
from __future__ import annotations

import dataclasses
import time

import jax
import jax.numpy as jnp
import numpy as np

from lottery import configs
from lottery.models.registry import ModelSpec
from lottery.train import buckets as bucketing
from lottery.train.state import Member
from lottery.train.strategies.packed import Packed, packs
from lottery.train.trainer import BucketTrainer, build_bucket


@dataclasses.dataclass
class BucketTiming:
    widths: list
    models: int
    compile_s: float  # first chunk minus one steady epoch
    seconds: float  # the steady epochs
    epochs: int
    floor_seconds: float | None = None  # the same epochs of the first layer's products alone (packed buckets)

    @property
    def model_epochs_per_s(self) -> float:
        return self.models * self.epochs / self.seconds


def train_config(epochs: int, batch: int, shared_order: bool = False, lr: float = 0.1):
    """The train and optimizer sections of a plain SGD run (the studies' settings)."""
    c = configs.base()
    c.train.epochs, c.train.batch_size, c.train.shared_data_order = epochs, batch, shared_order
    c.optimizer.lr = lr
    return c


def trainer_for(spec: ModelSpec, x, y, widths, seeds, cfg, num_classes: int) -> BucketTrainer:
    members = [Member(w, s) for w in widths for s in seeds]
    return BucketTrainer(build_bucket(spec, x, jnp.asarray(y)[None], members, cfg.train, cfg.optimizer, num_classes,
                                      boundaries=(-(-x.shape[0] // cfg.train.batch_size),)))


def time_buckets(spec: ModelSpec, x, y, widths, seeds, epochs: int, batch: int, num_classes: int,
                 shared_order: bool = False) -> list[BucketTiming]:
    """Trains every bucket of the width plan for 1 + ``epochs`` epochs; times the last ``epochs``.

    x [N, *input] device array; y [N] int32.
    """
    cfg = train_config(epochs + 1, batch, shared_order)
    out = []
    for widths_b in bucketing.plan_for(widths, cfg.train, packs(spec, cfg.train, cfg.optimizer), pads=spec.fully_connected):
        trainer = trainer_for(spec, x, y, widths_b, seeds, cfg, num_classes)
        s = trainer.steps_per_epoch
        pop = trainer.init()
        jax.block_until_ready(pop)
        t0 = time.perf_counter()
        pop, _, _ = trainer.train(pop, 0, s)
        first = time.perf_counter() - t0
        pop, _, seconds = trainer.train(pop, s, (epochs + 1) * s)
        floor = None
        if isinstance(trainer.strategy, Packed):
            plan = trainer.strategy.plan
            floor = epochs * first_layer_seconds(x, plan.groups, int(plan.col_member.shape[1]), batch, epochs)
        out.append(BucketTiming(list(widths_b), len(trainer.members), max(first - seconds / epochs, 0.0),
                                seconds, epochs, floor))
    return out


def first_layer_seconds(x, groups: int, hidden: int, batch: int, epochs: int) -> float:
    """Seconds per epoch of only the first layer's two products in a packed bucket of ``groups``
    data orders and ``hidden`` packed units each: per step and group, its own batch gathered, the
    forward [B, D] × [D, H] and the weight gradient [D, B] × [B, H] (the input needs no gradient).

    Every packed step does at least this work, so it bounds what the rest of a step (output
    layer, activations, loss, update) may still win. x [N, D] device array.
    """
    n, d = int(x.shape[0]), int(np.prod(x.shape[1:]))
    steps = -(-n // batch)
    rng = np.random.default_rng(0)
    idx = jnp.asarray(np.stack([np.resize(rng.permutation(n), steps * batch).reshape(steps, batch)
                                for _ in range(groups)], axis=1))  # [S, U, B]
    w = jnp.asarray(rng.normal(0, 0.1, (groups, d, hidden)).astype(np.float32))

    @jax.jit
    def epoch(w, x, idx):
        def body(w, i):
            xb = x.reshape(n, d)[i]  # [U, B, D]
            z = jnp.einsum("ubd,udh->ubh", xb, w)
            return w - 1e-4 * jnp.einsum("ubd,ubh->udh", xb, jnp.maximum(z, 0.0)), None
        return jax.lax.scan(body, w, idx)[0]

    w = jax.block_until_ready(epoch(w, x, idx))
    t0 = time.perf_counter()
    for _ in range(epochs):
        w = epoch(w, x, idx)
    jax.block_until_ready(w)
    return (time.perf_counter() - t0) / epochs


class MemoryCheckpoints:
    """BucketIMP's checkpoint interface kept in memory: nothing is written (benchmarks only)."""

    def __init__(self):
        self.items = {}

    def save(self, name, tree):
        self.items[name] = jax.tree.map(np.asarray, tree)

    def load(self, name):
        return self.items.get(name)


def compile_counts(runner) -> dict[str, int]:
    """How many times each compiled program of a BucketIMP was compiled (1 each when reused)."""
    def size(t):
        return t.strategy.cache_size()

    counts = {"train": size(runner.trainer), "prune": runner.prune._cache_size()}
    if runner.compacted is not None:
        counts.update({f"train_compacted_{'x'.join(map(str, k))}": size(t) for k, t in runner.compacted.trainers.items()})
    return counts


def imp_level_times(spec: ModelSpec, x, y, width: int, seeds, epochs: int, batch: int, levels: int,
                    num_classes: int, compact: bool) -> tuple[list[dict], dict[str, int]]:
    """IMP (20% per level, rewind to init) of ``width`` × seeds, ``epochs`` per level, run twice by
    the same runner: the second run, whose programs are all compiled, is the one timed.

    Returns (per level {level, density, seconds, trained_width}, compile counts per program);
    trained_width is the widest hidden layer actually trained, smaller than ``width`` once dead
    units are compacted away.
    """
    from lottery.studies.imp import bucket_levels as imp

    cfg = train_config(epochs, batch)
    cfg.imp = imp.section()
    cfg.imp.levels, cfg.imp.compact = levels, compact
    trainer = trainer_for(spec, x, y, [width], seeds, cfg, num_classes)
    runner = imp.BucketIMP(trainer, cfg.imp, {}, MemoryCheckpoints())
    runner.run(levels, lambda r: None)
    runner.ckpt = MemoryCheckpoints()
    total = spec.weight_count(width, int(np.prod(x.shape[1:])), num_classes)
    rows = []

    def on_result(r):
        rows.append({"level": r.level, "density": float(r.remaining.mean()) / total, "seconds": r.seconds,
                     "trained_width": r.trained_width})

    runner.run(levels, on_result)
    return rows, compile_counts(runner)
