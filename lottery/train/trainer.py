"""One bucket of a population: its compiled programs, its chunking and its batch indices.

:func:`build_bucket` builds what the bucket needs (model, optimizer, layout) once, as one
:class:`~lottery.train.strategies.Bucket`; ``BucketTrainer(bucket)`` builds its evaluation programs, lets
:func:`lottery.train.strategies.choose` pick how it trains (sliced to fit ``train.memory``), cuts every range of
steps into equal chunks and draws the batch indices of each chunk. Pure apart from the ``progress`` callback.
"""
from __future__ import annotations

import dataclasses
import math
import time
from typing import Any, Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np

from lottery.core import distributed
from lottery.models.registry import ModelSpec
from lottery.train import optim, order, program_memory, sharding, strategies
from lottery.train.curve_probe import CurveProbe
from lottery.train.eval_set import EvalSet
from lottery.train.evaluate import EvalProgram
from lottery.train.state import Member, Population, init_population, initial_stats
from lottery.train.strategies import Bucket, Strategy

CHUNK_INDEX_BUDGET = 8_000_000  # int32 batch indices held on the host per chunk


def chunk_steps(boundaries: list[int], models: int, batch: int, steps_per_epoch: int) -> int:
    """Largest chunk length (in steps) dividing every boundary and within the host budget.

    Every range trained (0 → k, k → T) is then a whole number of equal chunks: one compile.
    Prefers whole epochs when the boundaries allow it.
    """
    g = 0
    for b in boundaries:
        g = math.gcd(g, int(b))
    cap = max(1, CHUNK_INDEX_BUDGET // (max(models, 1) * batch))
    divisors = [d for d in range(1, min(cap, g) + 1) if g % d == 0]
    whole_epochs = [d for d in divisors if d % steps_per_epoch == 0]
    return max(whole_epochs or divisors)


AUGMENT_STREAM = 0x4D  # fold-in constant of a member's augmentation key
AUGMENT_PAD = 4  # pixels of padding before the random crop (the CIFAR standard)


def shards(train_cfg, loop: bool) -> bool:
    """Whether a bucket's model axis is sharded over the devices (local ones, or every process's in a
    multi-process run): ``train.shard`` and more than one device (not for member loops, which run members
    one by one). Unsharded, every process of a multi-process run computes the whole bucket alike."""
    return bool(train_cfg.shard) and jax.device_count() > 1 and not loop


def shard_devices() -> list:
    """The devices a sharded bucket spans: the local ones, or all of them in a multi-process run."""
    return jax.devices() if distributed.processes() > 1 else jax.local_devices()


def augment_key(seed: int) -> jax.Array:
    """The augmentation key of a model seed (step s augments with ``fold_in(key, s)``)."""
    return jax.random.fold_in(jax.random.PRNGKey(seed), AUGMENT_STREAM)


def build_bucket(spec: ModelSpec, x_train, labels, members: list[Member], train_cfg, opt_cfg, num_classes: int, *,
                 boundaries: tuple[int, ...] = (), bins: int = 15, pad_fill=None, backend: Optional[str] = None,
                 curve_every: int = 0) -> Bucket:
    """The :class:`~lottery.train.strategies.Bucket` of ``members``, built once: x_train [N, *input]; labels [L, N]
    int32 label sets (members pick one with ``label_set``); the ``train`` and ``optimizer`` config sections.
    boundaries: steps every range trained starts or stops at (besides 0 and the end); bins: calibration bins of the
    evaluation; pad_fill: the value (per channel) around a randomly cropped image (``train.augment``); backend: the
    backend the strategy is chosen for (None: this machine's; another one only to plan a run); curve_every: steps
    between two learning-curve measurements (0: none). Lays the members out over the devices (padded with inert
    copies of the last one when sharded) and places the data, the label sets and augmentation keys."""
    loop = strategies.one_by_one(spec, train_cfg, backend)
    layout = sharding.Layout(shard_devices() if shards(train_cfg, loop) else jax.local_devices()[:1])
    padded = layout.padded(members)
    x_train, labels = layout.replicated((x_train, labels))
    padded_width = max(m.width for m in padded)
    steps_per_epoch = order.steps_per_epoch(int(x_train.shape[0]), int(train_cfg.batch_size))
    augment = ({"pad": AUGMENT_PAD, "fill": jnp.asarray(0.0 if pad_fill is None else pad_fill, jnp.float32)}
               if train_cfg.augment else None)
    return Bucket(spec=spec, module=spec.module(padded_width, num_classes), padded_width=padded_width, members=padded,
                  reported=len(members), layout=layout, x_train=x_train, labels=labels,
                  label_set=layout.by_model(jnp.asarray([m.label_set for m in padded], jnp.int32)),
                  num_classes=num_classes, train_cfg=train_cfg, opt_cfg=opt_cfg, tx=optim.direction(opt_cfg),
                  lr_schedule=optim.schedule(opt_cfg, steps_per_epoch, int(train_cfg.epochs)), member_loop=loop,
                  augment=augment,
                  augment_keys=layout.by_model(jnp.stack([augment_key(m.seed) for m in padded])) if augment else None,
                  backend=backend, boundaries=tuple(boundaries), bins=int(bins), curve_every=int(curve_every))


class BucketTrainer:
    """Everything compiled for one bucket: init, the training strategy, the evaluation program.

    ``BucketTrainer(bucket)`` with ``bucket`` from :func:`build_bucket`. Steps are global: epoch e covers steps
    [e·S, (e+1)·S), S = ⌈N / batch⌉. With ``train.augment`` (images) every member's batches are randomly cropped and
    flipped. With ``bucket.curve_every`` (:meth:`probe`) a strategy that measures inside its chunk program keeps the
    chunk it has without them, any other one gets chunks that end on every measurement. With ``train.memory`` the
    trainer adopts the strategy :meth:`fit_memory` returns for that budget.
    """

    def __init__(self, bucket: Bucket):
        b = self.bucket = bucket
        # read through by the studies (the bucket is the one record of them)
        self.spec, self.module, self.members, self.reported = b.spec, b.module, b.members, b.reported
        self.layout, self.padded_width, self.x_train = b.layout, b.padded_width, b.x_train
        self.train_size = int(b.x_train.shape[0])
        self.batch = int(b.train_cfg.batch_size)
        self.steps_per_epoch = order.steps_per_epoch(self.train_size, self.batch)
        self.total_steps = int(b.train_cfg.epochs) * self.steps_per_epoch
        eval_batch = int(b.train_cfg.eval_batch_size)
        self.evaluator = EvalProgram(b.module, eval_batch, b.num_classes, b.bins, b.member_loop)
        # error and loss only (no calibration statistics): the learning curves, evaluated during training
        self.curve_evaluator = EvalProgram(b.module, eval_batch, b.num_classes, 0, b.member_loop)
        self.strategy = strategies.choose(b)
        between = (b.curve_every,) if b.curve_every and not self.strategy.curves_inside else ()
        self.chunk = chunk_steps([self.total_steps, *b.boundaries, *between], len(self.strategy.orders()), self.batch,
                                 self.steps_per_epoch)
        budget = program_memory.budget(b.train_cfg.memory)
        if budget is not None:
            self.strategy, _ = self.fit_memory(budget)  # the slices that fit, adopted for every range trained

    def fit_memory(self, budget: int) -> tuple[Strategy, int]:
        """(the strategy that trains this bucket's members within ``budget`` bytes, its number of slices): the
        trainer's own and 1 when its chunk program fits, else the fewest consecutive slices of its members that fit
        (:func:`lottery.train.strategies.fit_memory`). Changes nothing here. ConfigError (``train.memory``) when even
        the smallest slice does not fit."""
        return strategies.fit_memory(self.strategy, budget, lambda s: self.program_bytes(s)[0])

    def program_bytes(self, strategy: Optional[Strategy] = None) -> tuple[int, float]:
        """(device bytes the chunk program of ``strategy`` (default: the trainer's) needs by XLA's memory analysis +
        what the strategy holds beside it, seconds spent compiling it here: 0 when cached). Nothing is run."""
        lowered, held = self.chunk_program(strategy)
        need, seconds = program_memory.lowered_bytes(lowered)
        return need + held, seconds

    @property
    def member_loop(self) -> bool:
        """Whether members train (and are evaluated) one by one."""
        return self.bucket.member_loop

    def resized(self, spec: ModelSpec) -> "BucketTrainer":
        """A trainer of the same bucket (members, data, optimizer, chunking) with another model spec of the same
        family (e.g. compacted): only the spec and its module change."""
        b = self.bucket
        return BucketTrainer(dataclasses.replace(b, spec=spec, module=spec.module(b.padded_width, b.num_classes)))

    def init(self) -> Population:
        return init_population(self.spec, self.module, self.bucket.tx, self.members, self.padded_width,
                               tuple(self.x_train.shape[1:]), self.bucket.num_classes)

    def chunk_program(self, strategy: Optional[Strategy] = None) -> tuple[Any, int]:
        """(the training program of one chunk of ``strategy`` (default: the trainer's) lowered on abstract inputs,
        bytes the strategy holds beside it): for planning a run — nothing is allocated, trained or run
        (``jax.eval_shape`` of :meth:`init`)."""
        strategy = strategy or self.strategy
        pop = jax.eval_shape(self.init)
        rows = () if self.bucket.shared_order else (len(strategy.orders()),)
        idx = jax.ShapeDtypeStruct((self.chunk, *rows, self.batch), jnp.int32)
        return strategy.lower(pop, idx), strategy.held(pop)

    def fresh_opt_state(self, params):
        return jax.vmap(self.bucket.tx.init)(params)

    def initial_stats(self) -> dict:
        """Batch-norm running statistics before training ([K, C] means 0, variances 1; empty without batch-norm)."""
        return initial_stats(self.module, tuple(self.x_train.shape[1:]), len(self.members))

    def _indices(self, start: int) -> jax.Array:
        """The batch indices of the chunk starting at step ``start``: [chunk, orders, B] ([chunk, B] shared)."""
        idx = order.step_batches(self.strategy.orders(), start, self.chunk, self.train_size, self.batch)
        if self.bucket.shared_order:
            return self.layout.replicated(jnp.asarray(idx[:, 0]))
        return self.layout.by_model(jnp.asarray(idx), axis=1)

    def probe(self, sets: "list[EvalSet]") -> CurveProbe:
        """The learning-curve probe of this bucket (every ``curve_every`` steps) on the labelled ``sets``."""
        k = len(self.members)
        batches = []
        for es in sets:
            xb, yb, vb = self.curve_evaluator.batched(es.x, sharding.pad_models(es.labels, k))
            batches.append((self.layout.replicated(xb), self.layout.by_model(yb, axis=1), self.layout.replicated(vb)))
        return CurveProbe(self.bucket.curve_every, [es.label_names for es in sets], batches, self.curve_evaluator)

    def train(self, pop: Population, start: int, stop: int,
              progress: Optional[Callable[[int, int], None]] = None, probe: Optional[CurveProbe] = None,
              observe: Optional[Callable[[int, dict], None]] = None) -> tuple[Population, np.ndarray, float]:
        """Trains steps [start, stop) (multiples of ``self.chunk``); ``pop.step`` must equal start.
        With a ``probe`` (:meth:`probe`), ``observe(step, {label name: {"loss", "error": [K]}})`` receives every
        learning-curve measurement, at the steps that are multiples of ``probe.every``.

        Returns (population, training losses [stop − start, K], seconds). The input
        population is donated (its arrays are consumed; in member-loop mode its per-member slices are).
        """
        assert (stop - start) % self.chunk == 0 and start % self.chunk == 0, (start, stop, self.chunk)
        t0 = time.perf_counter()
        if probe is not None and probe.evaluator is not self.curve_evaluator:
            probe = probe.replaced(evaluator=self.curve_evaluator)  # another trainer's probe (e.g. of the uncompacted bucket)
        seen = None if probe is None else (lambda step, m: observe(step, probe.named(m, self.reported)))
        pop, losses = self.strategy.run(self.layout.by_model(pop), start, stop, self.chunk, self._indices, progress,
                                        probe, seen)
        return pop, losses, time.perf_counter() - t0

    def evaluate(self, pop: Population, sets: "list[EvalSet]", evaluator: Optional[EvalProgram] = None) -> dict:
        """Metrics of every model on every evaluation set (a sequence of :class:`EvalSet`).

        Returns {label name: {"loss", "error": [K], "top": [K, bins, 3], "classwise": [K, C, bins, 3]}}
        and, for sets with a target, {"posterior_" + set name: {"gap_mean", "gap_max", "gap_adj_mean",
        "gap_adj_max": [K], and the binning's "axis" / "map"}}. ``evaluator``: another EvalProgram of this bucket
        (``curve_evaluator``: errors and losses only).
        """
        out = {}
        pop = self.layout.by_model(pop)
        k = len(self.members)
        for es in sets:
            padded = dataclasses.replace(es, labels=self.layout.by_model(sharding.pad_models(es.labels, k)),
                                         flip=self.layout.by_model(sharding.pad_models(es.flip, k)))
            r = (evaluator or self.evaluator).run(pop.params, pop.masks, padded, pop.stats)
            for j, name in enumerate(es.label_names):
                out[name] = {key: r[key][:, j] for key in ("loss", "error", "top", "classwise") if key in r}
            if "gap_mean" in r:
                out["posterior_" + es.name] = {key: r[key] for key in ("gap_mean", "gap_max", "gap_adj_mean",
                                                                       "gap_adj_max", "axis", "map") if key in r}
        return jax.tree.map(lambda a: a[:self.reported], out)  # without the layout's inert padding members


def train_bucket(spec: ModelSpec, x_train, labels, members: list[Member], train_cfg, opt_cfg, num_classes: int,
                 progress: Optional[Callable[[int, int], None]] = None):
    """Initialises and trains ``members`` for all epochs: (trainer, population, losses [steps, K], seconds)."""
    trainer = BucketTrainer(build_bucket(spec, x_train, labels, members, train_cfg, opt_cfg, num_classes))
    pop, losses, seconds = trainer.train(trainer.init(), 0, trainer.total_steps, progress)
    return trainer, pop, losses, seconds
