"""Training one bucket of a population over a range of steps, in compiled chunks.

Pure apart from the ``progress`` callback: the caller decides what to print or save.
"""
from __future__ import annotations

import functools
import math
import time
from typing import Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np

from lottery import distributed
from lottery.models.registry import ModelSpec
from lottery.train import optim, order, packed, sharding
from lottery.train.evaluate import EvalProgram
from lottery.train.state import Member, Population, init_population, initial_stats
from lottery.train.step import TrainProgram

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


def packs(spec, train_cfg, opt_cfg) -> bool:
    """Whether buckets of this model train packed (:mod:`lottery.train.packed`): ``train.pack``, a fully
    connected net with one hidden layer, and an optimizer that keeps no per-weight state (plain SGD, any
    weight decay)."""
    stateless = not jax.tree.leaves(optim.direction(opt_cfg).init({"w": jnp.zeros(1)}))
    return bool(train_cfg.get("pack", False)) and spec.fully_connected and len(spec.hidden) == 1 and stateless


MEMBERS = ("auto", "vmap", "loop")


def member_loop(spec, train_cfg) -> bool:
    """Whether the members of a bucket train one by one (``train.members``: ``loop``; ``auto`` chooses it for
    convolutional nets on a CPU, see :class:`TrainProgram`) rather than vmapped."""
    how = train_cfg.get("members", "auto")
    if how == "auto":
        return not spec.fully_connected and jax.default_backend() == "cpu"
    return how == "loop"


def shards(train_cfg, loop: bool) -> bool:
    """Whether a bucket's model axis is sharded over the devices (local ones, or every process's in a
    multi-process run): ``train.shard`` and more than one device (not for member loops, which run members
    one by one). Unsharded, every process of a multi-process run computes the whole bucket alike."""
    return bool(train_cfg.get("shard", True)) and jax.device_count() > 1 and not loop


def shard_devices() -> list:
    """The devices a sharded bucket spans: the local ones, or all of them in a multi-process run."""
    return jax.devices() if distributed.processes() > 1 else jax.local_devices()


def augment_key(seed: int) -> jax.Array:
    """The augmentation key of a model seed (step s augments with ``fold_in(key, s)``)."""
    return jax.random.fold_in(jax.random.PRNGKey(seed), AUGMENT_STREAM)


class BucketTrainer:
    """Everything compiled for one bucket: init, the train program, the eval program.

    x_train [N, *input]; labels [L, N] int32 label sets; members pick one with ``label_set``.
    Steps are global: epoch e covers steps [e·S, (e+1)·S), S = ⌈N / batch⌉. With ``train.augment``
    (images) every member's batches are randomly cropped (``pad_fill`` around, per channel) and flipped.
    """

    def __init__(self, spec: ModelSpec, x_train, labels, members: list[Member], train_cfg, opt_cfg,
                 num_classes: int, boundaries: tuple[int, ...] = (), bins: int = 15, pad_fill=None):
        self._args = (x_train, labels, members, train_cfg, opt_cfg, num_classes, boundaries, bins, pad_fill)
        self.opt_cfg = opt_cfg
        self.member_loop = member_loop(spec, train_cfg)
        self.layout = sharding.Layout(shard_devices() if shards(train_cfg, self.member_loop) else jax.local_devices()[:1])
        self.reported = len(members)  # members beyond these are the layout's inert padding
        members = self.layout.padded(members)
        x_train, labels = self.layout.replicated((x_train, labels))
        self.spec, self.members, self.num_classes = spec, members, num_classes
        self.x_train, self.labels = x_train, labels
        self.n = int(x_train.shape[0])
        self.batch = int(train_cfg.batch_size)
        self.steps_per_epoch = order.steps_per_epoch(self.n, self.batch)
        self.total_steps = int(train_cfg.epochs) * self.steps_per_epoch
        self.padded_width = max(m.width for m in members)
        self.module = spec.module(self.padded_width, num_classes)
        self.tx = optim.direction(opt_cfg)
        shared = bool(train_cfg.shared_data_order)
        self.lr_schedule = optim.schedule(opt_cfg, self.steps_per_epoch, int(train_cfg.epochs))
        augment = ({"pad": AUGMENT_PAD, "fill": jnp.asarray(0.0 if pad_fill is None else pad_fill, jnp.float32)}
                   if train_cfg.get("augment", False) else None)
        self.augment_keys = self.layout.by_model(jnp.stack([augment_key(m.seed) for m in members])) if augment else None
        self.program = TrainProgram(self.module, self.tx, self.lr_schedule, shared, augment, self.member_loop)
        self.evaluator = EvalProgram(self.module, int(train_cfg.eval_batch_size), num_classes, int(bins), self.member_loop)
        self.label_set = self.layout.by_model(jnp.asarray([m.label_set for m in members], jnp.int32))
        self.seeds = [int(train_cfg.data_seed)] if shared else [m.seed for m in members]
        self.packed = self._packed_program(train_cfg, opt_cfg, shared)
        if self.packed is not None:  # one order per group of the packed layout
            self.seeds = [int(train_cfg.data_seed)] if shared else sorted({m.seed for m in members})
        self.chunk = chunk_steps([self.total_steps, *boundaries], len(self.seeds), self.batch, self.steps_per_epoch)

    def _packed_program(self, train_cfg, opt_cfg, shared: bool):
        """A :class:`PackedProgram` when the bucket can train packed (one hidden layer, an optimizer
        without per-weight state, ``train.pack``), else None."""
        if not packs(self.spec, train_cfg, opt_cfg) or train_cfg.get("augment", False) or self.layout.sharded:
            return None
        sizes = [self.spec.layer_sizes(m.width, 0, self.num_classes) for m in self.members]
        seeds = sorted({m.seed for m in self.members})
        # One group per seed even with a shared order: a group's block-diagonal output layer grows with
        # the square of its members, so a whole population in one group costs more than it saves.
        groups = [seeds.index(m.seed) for m in self.members]
        plan = packed.PackPlan.build([s[1] for s in sizes], groups)
        if plan is None:
            return None
        self.slot_labels = jnp.asarray(np.where(plan.slot_member < len(self.members),
                                                np.asarray([m.label_set for m in self.members] + [0])[plan.slot_member], 0),
                                       jnp.int32)
        return packed.PackedProgram(plan, self.tx, self.lr_schedule, self.spec.use_bias, shared)

    @property
    def hidden_units(self) -> int:
        """Hidden units computed per step over the population (the cost compaction compares against):
        Σ widths per group when packed, K × the padded widths otherwise."""
        if self.packed is not None:
            return self.packed.plan.groups * int(self.packed.plan.col_member.shape[1])
        sizes = self.spec.layer_sizes(self.padded_width, 0, self.num_classes)[1:-1]
        return len(self.members) * int(sum(sizes))

    def resized(self, spec: ModelSpec) -> "BucketTrainer":
        """The same members, data, optimizer and chunking with another model spec (e.g. compacted)."""
        return BucketTrainer(spec, *self._args)

    def init(self) -> Population:
        return init_population(self.spec, self.module, self.tx, self.members, self.padded_width,
                               tuple(self.x_train.shape[1:]), self.num_classes)

    def fresh_opt_state(self, params):
        return jax.vmap(self.tx.init)(params)

    def initial_stats(self) -> dict:
        """Batch-norm running statistics before training ([K, C] means 0, variances 1; empty without batch-norm)."""
        return initial_stats(self.module, tuple(self.x_train.shape[1:]), len(self.members))

    def _indices(self, start: int) -> jax.Array:
        idx = order.step_batches(self.seeds, start, self.chunk, self.n, self.batch)
        if self.program.shared_order:
            return self.layout.replicated(jnp.asarray(idx[:, 0]))
        return self.layout.by_model(jnp.asarray(idx), axis=1)

    def train(self, pop: Population, start: int, stop: int,
              progress: Optional[Callable[[int, int], None]] = None) -> tuple[Population, np.ndarray, float]:
        """Trains steps [start, stop) (multiples of ``self.chunk``); ``pop.step`` must equal start.

        Returns (population, training losses [stop − start, K], seconds). The input
        population is donated (its arrays are consumed; in member-loop mode its per-member slices are).
        """
        assert (stop - start) % self.chunk == 0 and start % self.chunk == 0, (start, stop, self.chunk)
        pop = self.layout.by_model(pop)
        if self.packed is not None:  # gathered into the packed layout for the range, written back after
            plan = self.packed.plan
            state = self.packed.pack(pop)
            run = functools.partial(self.packed.run, x_train=self.x_train, labels=self.labels,
                                    slot_labels=self.slot_labels)
            member_losses = lambda loss: loss[:, plan.member_group, plan.member_slot]  # noqa: E731  [S, U, G] → [S, K]
        else:
            state = pop
            run = functools.partial(self.program.run, x_train=self.x_train, labels=self.labels,
                                    label_set=self.label_set, augment_keys=self.augment_keys)
            member_losses = lambda loss: loss  # noqa: E731
        losses = []
        t0 = time.perf_counter()
        idx = self._indices(start) if stop > start else None
        for s in range(start, stop, self.chunk):
            state, loss = run(state, idx=idx)  # asynchronous
            if s + self.chunk < stop:
                idx = self._indices(s + self.chunk)  # drawn on the host while the chunk runs
            losses.append(member_losses(distributed.host(loss)))  # waits for the chunk
            if progress:
                progress(s + self.chunk - start, stop - start)
        pop = self.packed.unpack(state, pop) if self.packed is not None else state
        out = np.concatenate(losses) if losses else np.zeros((0, len(self.members)), np.float32)
        return pop, out, time.perf_counter() - t0

    def evaluate(self, pop: Population, splits: dict) -> dict:
        """Metrics of every model on every evaluation set.

        splits: {group: {"x": [N, *input], "labels": [K, M, N] or None, "names": M split names,
        "target": optional posterior [N, C], "flip": optional [K]}}.
        Returns {split name: {"loss", "error": [K], "top": [K, bins, 3], "classwise": [K, C, bins, 3]}}
        and, for groups with a target, {"posterior_" + group: {"gap_mean", "gap_max", "gap_adj_mean",
        "gap_adj_max": [K]}}.
        """
        out = {}
        pop = self.layout.by_model(pop)
        k = len(self.members)
        for group, spec in splits.items():
            labels = self.layout.by_model(sharding.pad_models(spec.get("labels"), k))
            flip = self.layout.by_model(sharding.pad_models(spec.get("flip"), k))
            r = self.evaluator.run(pop.params, pop.masks, spec["x"], labels, spec.get("target"),
                                   flip, spec.get("axis"), spec.get("cells"), pop.stats)
            for j, name in enumerate(spec.get("names", ())):
                out[name] = {key: r[key][:, j] for key in ("loss", "error", "top", "classwise") if key in r}
            if "gap_mean" in r:
                out["posterior_" + group] = {key: r[key] for key in ("gap_mean", "gap_max", "gap_adj_mean", "gap_adj_max",
                                                                     "axis", "map") if key in r}
        return jax.tree.map(lambda a: a[:self.reported], out)  # without the layout's inert padding members


def train_bucket(spec: ModelSpec, x_train, labels, members: list[Member], train_cfg, opt_cfg, num_classes: int,
                 progress: Optional[Callable[[int, int], None]] = None):
    """Initialises and trains ``members`` for all epochs: (trainer, population, losses [steps, K], seconds)."""
    trainer = BucketTrainer(spec, x_train, labels, members, train_cfg, opt_cfg, num_classes)
    pop, losses, seconds = trainer.train(trainer.init(), 0, trainer.total_steps, progress)
    return trainer, pop, losses, seconds
