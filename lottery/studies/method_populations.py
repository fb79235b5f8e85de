"""The populations of a pruning-method run (docs/science.md §7): one trained model per seed (× noise draw),
every method of ``prune_methods.methods`` applied at every ratio of ``prune_methods.ratios``, evaluated as
pruned and after fine-tuning the survivors.

For M dense models and R ratios, each method's population is the M·R models (ratio fastest)
that differ only in their ratio: scores are computed once per model (``jit(vmap)``), masks for all
ratios in one compiled call (``prune.methods.sweep``, the ratios traced), and the M·R pruned models
are evaluated and retrained together (one ``BucketTrainer``, compiled once and reused by every
method). Biprop / edge-popup train their scores as one M·R population (``train.scores``), each
member with its ratio. Which weights a method prunes: the trained ones (random, magnitude,
taylor1/2) or the initial ones (snip, biprop, edge_popup) — see ``lottery.prune.methods``.

Rows: ``retrained`` False — the pruned network as it is; True — after ``retrain_epochs`` epochs of
the survivors (fresh optimizer at ``retrain_lr``, learning-rate schedule over those epochs). For SNIP that is SNIP's
own protocol (the sparse net trained from its initialisation); for biprop it fine-tunes the
binarised values. The dense models are checkpointed and each method's rows are a part file: a killed
run resumes at the first method without rows.
"""
from __future__ import annotations

import functools
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from lottery.models import masks as model_masks
from lottery.prune import biprop, methods
from lottery.studies import eval_sets
from lottery.studies.levels import LevelResult, starting_population
from lottery.train import optim, order
from lottery.train import scores as score_training
from lottery.train.state import Member, Population, init_key
from lottery.train.trainer import BucketTrainer, chunk_steps

BRANCH = "prune_methods"  # the ``branch`` of every row of this study (``level`` is 0)
SCORE_STREAM = 0x4D  # fold-in constant of the method keys (random scores, Hutchinson, score init)
KEYS = ["method", "retrained", "ratio", "width", "seed", "noise_seed", "split"]


def _host(tree):
    return jax.tree.map(np.asarray, tree)


def _repeat(tree, r: int):
    """[M, ...] leaves → [M·R, ...], each model repeated R times (ratio fastest)."""
    return jax.tree.map(lambda a: jnp.repeat(jnp.asarray(a), r, axis=0), tree)


def trainers(config, spec, dataset, train_labels, backend=None) -> tuple[BucketTrainer, BucketTrainer]:
    """(the dense trainer: one model per seed × noise draw — M members, ``train.epochs``; the population trainer:
    the M·R pruned models, ratio fastest, ``retrain_epochs`` at ``retrain_lr``). train_labels [L, N];
    ``backend``: see :class:`BucketTrainer`."""
    section = config.prune_methods
    width = int(config.model.widths[0])
    members = [Member(width, s, ls) for s in config.train.seeds for ls in range(train_labels.shape[0])]
    population = [m for m in members for _ in range(len(section.ratios))]
    train = ml_collections.ConfigDict(config.train.to_dict())
    train.shard = False  # a pruning-method run builds its populations at their own size (no sharding padding yet)
    dense = BucketTrainer(spec, dataset.x_train, train_labels, members, train, config.optimizer,
                          dataset.num_classes, bins=config.eval.bins, pad_fill=dataset.black, backend=backend)
    retrain = ml_collections.ConfigDict(train.to_dict())
    retrain.epochs = max(int(section.retrain_epochs), 1)
    optimizer = ml_collections.ConfigDict(config.optimizer.to_dict())
    optimizer.lr = float(section.retrain_lr) or optimizer.lr
    return dense, BucketTrainer(spec, dataset.x_train, train_labels, population, retrain, optimizer,
                                dataset.num_classes, bins=config.eval.bins, pad_fill=dataset.black, backend=backend)


class MethodPopulations:
    """The compiled pieces of one run: the dense trainer (M models) and the population trainer (M·R).

    config: the run's config (in a robustness run, one architecture's); run: the study's :class:`Run`."""

    def __init__(self, config, spec, run, checkpoints):
        dataset, train_labels = run.dataset, run.train_labels
        self.config, self.section, self.spec, self.data = config, config.prune_methods, spec, dataset
        self.labels, self.ckpt, self.progress = train_labels, checkpoints, run.progress
        self.ratios = np.asarray(self.section.ratios, np.float32)
        self.dense, self.trainer = trainers(config, spec, dataset, train_labels)
        self.members = self.dense.members[:self.dense.reported]  # (unsharded: no padding members)
        self.population = self.trainer.members[:self.trainer.reported]
        self.eval_sets = eval_sets.for_members(run, self.population)
        self.scope, self.ignore = self.section.scope, tuple(self.section.ignore)
        self.sweep = jax.jit(functools.partial(methods.sweep, scope=self.scope, ignore=self.ignore))
        self.label_set = jnp.asarray([m.label_set for m in self.members], jnp.int32)

    # -- the dense models ---------------------------------------------------------------
    def dense_weights(self) -> dict:
        """{"init", "trained": params [M, ...], "masks": padding masks, "finite": [M]} and, for batch-norm nets,
        "stats_init", "stats_trained": the running statistics that go with them (checkpointed)."""
        saved = self.ckpt.load("dense")
        if saved is not None:
            return saved
        pop = self.dense.init()
        init, stats_init = _host(pop.params), _host(pop.stats)
        pop, _, _ = self.dense.train(pop, 0, self.dense.total_steps, self.progress("dense training"))
        out = {"init": init, "trained": _host(pop.params), "masks": _host(pop.masks), "finite": np.asarray(pop.finite)}
        if pop.stats:
            out.update(stats_init=stats_init, stats_trained=_host(pop.stats))
        self.ckpt.save("dense", out)
        return out

    # -- one method ---------------------------------------------------------------------
    def _keys(self, name: str) -> jax.Array:
        i = methods.NAMES.index(name)
        return jnp.stack([jax.random.fold_in(jax.random.fold_in(init_key(m.seed), SCORE_STREAM), i)
                          for m in self.members])

    def _batches(self, count: int):
        """The first ``count`` batches of every dense model's data order: x [M, nb, B, *input], y, valid [M, nb, B]."""
        idx = order.step_batches([m.seed for m in self.members], 0, count, self.data.train_size,
                                 int(self.config.train.batch_size)).transpose(1, 0, 2)
        safe = jnp.asarray(np.maximum(idx, 0))
        y = jax.vmap(lambda ls, s: self.labels[ls][s])(self.label_set, safe)
        return self.data.x_train[safe], y, jnp.asarray(idx >= 0)

    def context(self, method: methods.Method) -> methods.Context:
        return methods.Context(self.dense.module, self.section.hessian, int(self.section.hutchinson_samples), method.binarise)

    def prune(self, name: str, dense: dict):
        """(params, masks, batch-norm statistics) of the M·R pruned models of method ``name``; leaves [M·R, ...]."""
        method = methods.get(name)
        weights, base = dense[method.prunes], dense["masks"]
        count = {"snip": self.section.snip_batches, "taylor1": self.section.taylor_batches,
                 "taylor2": self.section.taylor_batches}.get(name, 1)
        data = self._batches(int(count)) if method.needs_data and not method.learned else (None, None, None)
        ctx = self.context(method)
        data_axis = 0 if data[0] is not None else None
        score = jax.jit(jax.vmap(functools.partial(method.scores, ctx), in_axes=(0, 0, 0) + (data_axis,) * 3))
        scores = score(weights, base, self._keys(name), *data)
        r = len(self.ratios)
        stats = _repeat(dense.get(f"stats_{method.prunes}", {}), r)
        if method.learned:
            return (*self._learn(ctx, _repeat(weights, r), _repeat(base, r), _repeat(scores, r)), stats)
        masks = jax.tree.map(lambda a: a.reshape(-1, *a.shape[2:]), self.sweep(scores, base, jnp.asarray(self.ratios)))
        return _repeat(weights, r), masks, stats

    def _learn(self, ctx, params, base, scores):
        """Trains biprop / edge-popup scores of the M·R population; returns (w̃ params, keep masks)."""
        cfg = self.section.score_optimizer
        per_epoch, epochs = self.trainer.steps_per_epoch, int(self.section.score_epochs)
        program = score_training.ScoreProgram(ctx, optim.direction(cfg), optim.schedule(cfg, per_epoch, epochs),
                                              scope=self.scope, ignore=self.ignore)
        k, batch = len(self.population), int(self.config.train.batch_size)
        ratio = jnp.asarray(np.tile(self.ratios, len(self.members)))
        steps = epochs * per_epoch
        state, _ = score_training.train(program, program.init(scores), params, base, ratio, self.data.x_train,
                                        self.labels, jnp.asarray([m.label_set for m in self.population], jnp.int32),
                                        [m.seed for m in self.population], steps, chunk_steps([steps], k, batch, per_epoch),
                                        batch, self.progress("score training"))
        net = jax.jit(jax.vmap(lambda p, m, s, q: biprop.network(ctx, p, m, s, q, scope=self.scope, ignore=self.ignore)))
        eff, keep = net(params, base, state.scores, ratio)
        return jax.lax.stop_gradient(eff), keep

    def pruned_population(self, params, masks, finite, retrained: bool, stats) -> Population:
        """The M·R pruned models as a population, after fine-tuning the survivors when ``retrained``."""
        pop = self._population(params, masks, finite, stats)
        if retrained:
            pop, _, _ = self.trainer.train(pop, 0, self.trainer.total_steps, self.progress("retraining"))
        return pop

    def evaluate(self, params, masks, finite, retrained: bool, stats) -> LevelResult:
        t0 = time.perf_counter()
        pop = self.pruned_population(params, masks, finite, retrained, stats)
        return self.result(pop, time.perf_counter() - t0)

    def result(self, pop: Population, seconds: float) -> LevelResult:
        """Errors and losses of ``pop`` on the evaluation splits (``seconds``: the time it took to make it)."""
        t0 = time.perf_counter()
        metrics = self.trainer.evaluate(pop, self.eval_sets)
        return LevelResult(0, BRANCH, np.asarray(model_masks.count_weights(pop.masks)), metrics, np.asarray(pop.finite),
                           seconds + time.perf_counter() - t0)

    def _population(self, params, masks, finite, stats) -> Population:
        return starting_population(self.trainer, params, masks, 0, np.repeat(np.asarray(finite, bool), len(self.ratios)),
                                   stats)

    def row_extras(self, name: str, retrained: bool) -> list[dict]:
        epochs = int(self.section.retrain_epochs) if retrained else 0
        return [{"method": name, "ratio": float(self.ratios[i % len(self.ratios)]), "retrained": retrained,
                 "retrain_epochs": epochs, "scope": self.scope} for i in range(len(self.population))]
