"""The populations of a pruning-method run (docs/science.md §7): one trained model per seed (× noise draw),
every method of ``prune_methods.methods`` applied at every ratio of ``prune_methods.ratios``, evaluated as
pruned and after fine-tuning the survivors, and the dense reference they are compared against.

For M dense models and R ratios, each method's population is the M·R models (ratio fastest)
that differ only in their ratio: scores are computed once per model (``jit(vmap)``), masks for all
ratios in one compiled call (``prune.methods.sweep``, the ratios traced), and the M·R pruned models
are evaluated and retrained together (one ``BucketTrainer``, compiled once and reused by every
method). Biprop / edge-popup train their scores as one M·R population (``train.scores``), each
member with its ratio. Which weights a method prunes: the trained ones (random, magnitude,
taylor1/2) or the initial ones (snip, biprop, edge_popup) — see ``lottery.prune.methods``.

**Matched budgets.** Every model of the comparison has the same training behind it, counted in optimizer steps
over the training set (:func:`budget`): ``train.epochs`` of pre-training, then ``retrain_epochs`` of fine-tuning.

* ``dense`` (:data:`DENSE`, the reference): the M dense models, trained ``train.epochs``, then fine-tuned exactly as
  the pruned models are (same epochs, fresh optimizer at ``retrain_lr``), nothing pruned — ratio 0 of the same
  procedure, so a difference from it at any ratio is the pruning, not the training.
* random, magnitude, taylor1/2: pruned from the dense models (``train.epochs`` behind them), then fine-tuned.
* snip: pruned at initialisation, then the sparse net trains ``train.epochs`` with the dense recipe (SNIP's own
  protocol), then is fine-tuned like the others.
* biprop / edge-popup: the weights stay at their initialisation; the scores train ``score_epochs``, which must
  equal ``train.epochs`` (checked), then the kept weights are fine-tuned.

Rows: ``retrained`` False — after pre-training (and pruning), before fine-tuning; True — after ``retrain_epochs``
epochs of the survivors (fresh optimizer at ``retrain_lr``, learning-rate schedule over those epochs). Every row
carries its budget (``train_epochs``, ``score_epochs``, ``retrain_epochs``, ``total_epochs``, ``total_steps``). The
dense models are checkpointed and each population's rows are a part file: a killed run resumes at the first
population without rows.
"""
from __future__ import annotations

import dataclasses
import functools
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from lottery.models import masks as model_masks
from lottery.prune import biprop, methods
from lottery.store.result_tables import DENSE
from lottery.studies import population_eval_sets
from lottery.studies.levels import LevelResult, starting_population
from lottery.train import optim, order
from lottery.train import scores as score_training
from lottery.train.state import Member, Population, init_key
from lottery.train.trainer import BucketTrainer, build_bucket, chunk_steps

BRANCH = "prune_methods"  # the ``branch`` of every row of this study (``level`` is 0)
SCORE_STREAM = 0x4D  # fold-in constant of the method keys (random scores, Hutchinson, score init)
KEYS = ["method", "retrained", "ratio", "width", "seed", "noise_seed", "split"]


def _host(tree):
    return jax.tree.map(np.asarray, tree)


def _repeat(tree, r: int):
    """[M, ...] leaves → [M·R, ...], each model repeated R times (ratio fastest)."""
    return jax.tree.map(lambda a: jnp.repeat(jnp.asarray(a), r, axis=0), tree)


def trains_after_pruning(name: str) -> bool:
    """Whether method ``name`` prunes the initial weights and then trains them (SNIP): its sparse nets get the dense
    models' ``train.epochs`` after pruning instead of before."""
    method = methods.get(name)
    return method.prunes == "init" and not method.learned


def budget(section, train_epochs: int, steps_per_epoch: int, name: str, retrained: bool) -> dict:
    """The training behind one row's model (``name``: :data:`DENSE` or a method; ``section``: ``prune_methods``):
    {"train_epochs": epochs of weight training at the dense recipe (before pruning, or after it for SNIP; 0 for
    biprop / edge-popup, whose weights stay at their initialisation), "score_epochs": epochs of score training
    (biprop / edge-popup), "retrain_epochs": fine-tuning epochs (0 unless ``retrained``), "total_epochs": their sum,
    "total_steps": the optimizer steps of all of them, ``steps_per_epoch`` = ⌈N / batch⌉ each}."""
    learned = name != DENSE and methods.get(name).learned
    weights = 0 if learned else int(train_epochs)
    scores = int(section.score_epochs) if learned else 0
    tune = int(section.retrain_epochs) if retrained else 0
    total = weights + scores + tune
    return {"train_epochs": weights, "score_epochs": scores, "retrain_epochs": tune, "total_epochs": total,
            "total_steps": total * int(steps_per_epoch)}


def population_epochs(section, train_epochs: int, name: str) -> int:
    """Epochs the M·R population of method ``name`` trains after pruning: SNIP's ``train.epochs``, biprop's /
    edge-popup's score epochs, and the fine-tuning (what a plan of the run counts beyond the dense training)."""
    b = budget(section, train_epochs, 1, name, True)
    return b["score_epochs"] + b["retrain_epochs"] + (b["train_epochs"] if trains_after_pruning(name) else 0)


def finetune_optimizer(config) -> ml_collections.ConfigDict:
    """The fine-tuning optimizer: ``config.optimizer`` at ``prune_methods.retrain_lr`` (0: ``optimizer.lr``)."""
    optimizer = ml_collections.ConfigDict(config.optimizer.to_dict())
    optimizer.lr = float(config.prune_methods.retrain_lr) or optimizer.lr
    return optimizer


def trainer(config, spec, dataset, train_labels, members: list[Member], epochs: int, optimizer,
            backend=None) -> BucketTrainer:
    """A trainer of ``members`` for ``epochs`` with ``optimizer`` and the run's ``train`` section (unsharded: a
    pruning-method run builds its populations at their own size). train_labels [L, N]."""
    train = ml_collections.ConfigDict(config.train.to_dict())
    train.shard = False
    train.epochs = max(int(epochs), 1)
    return BucketTrainer(build_bucket(spec, dataset.x_train, train_labels, members, train, optimizer,
                                      dataset.num_classes, bins=config.eval.bins, pad_fill=dataset.black,
                                      backend=backend))


def trainers(config, spec, dataset, train_labels, backend=None) -> tuple[BucketTrainer, BucketTrainer]:
    """(the dense trainer: one model per seed × noise draw — M members, ``train.epochs``; the population trainer:
    the M·R pruned models, ratio fastest, ``retrain_epochs`` at ``retrain_lr``). train_labels [L, N];
    ``backend``: see :class:`BucketTrainer`."""
    section = config.prune_methods
    width = int(config.model.widths[0])
    members = [Member(width, s, ls) for s in config.train.seeds for ls in range(train_labels.shape[0])]
    population = [m for m in members for _ in range(len(section.ratios))]
    dense = trainer(config, spec, dataset, train_labels, members, config.train.epochs, config.optimizer, backend)
    return dense, trainer(config, spec, dataset, train_labels, population, section.retrain_epochs,
                          finetune_optimizer(config), backend)


@dataclasses.dataclass(frozen=True)
class Stage:
    """Where one population is fine-tuned and evaluated: its fine-tuning trainer, its members (M for the dense
    reference, M·R for a method, ratio fastest), their evaluation sets and the ratios of each dense model's models
    [R] (the reference: [0])."""

    trainer: BucketTrainer
    members: list
    eval_sets: list
    ratios: np.ndarray


class MethodPopulations:
    """The compiled pieces of one run: the dense trainer (M models, ``train.epochs``), the two fine-tuning stages —
    ``reference`` (the M dense models) and ``pruned`` (a method's M·R models, ``trainer``) — and, for SNIP, the
    ``pretrainer`` of its M·R sparse nets (``train.epochs``, built when first used).

    config: the run's config (in a robustness run, one architecture's); run: the study's :class:`Run`."""

    def __init__(self, config, spec, run, checkpoints):
        dataset, train_labels = run.dataset, run.train_labels
        self.config, self.section, self.spec, self.data = config, config.prune_methods, spec, dataset
        self.labels, self.ckpt, self.progress = train_labels, checkpoints, run.progress
        self.ratios = np.asarray(self.section.ratios, np.float32)
        self.dense, self.trainer = trainers(config, spec, dataset, train_labels)
        self.members = self.dense.members[:self.dense.reported]  # (unsharded: no padding members)
        self.population = self.trainer.members[:self.trainer.reported]
        self.eval_sets = population_eval_sets.for_members(run, self.population)
        self.scope, self.ignore = self.section.scope, tuple(self.section.ignore)
        self.sweep = jax.jit(functools.partial(methods.sweep, scope=self.scope, ignore=self.ignore))
        self.label_set = jnp.asarray([m.label_set for m in self.members], jnp.int32)
        self.reference = Stage(trainer(config, spec, dataset, train_labels, self.members, self.section.retrain_epochs,
                                       finetune_optimizer(config)),
                               self.members, population_eval_sets.for_members(run, self.members), np.zeros(1, np.float32))
        self.pruned = Stage(self.trainer, self.population, self.eval_sets, self.ratios)

    @functools.cached_property
    def pretrainer(self) -> BucketTrainer:
        """The M·R sparse nets of a method that prunes before training (SNIP), trained with the dense recipe."""
        return trainer(self.config, self.spec, self.data, self.labels, self.population, self.config.train.epochs,
                       self.config.optimizer)

    def stage(self, name: str) -> Stage:
        return self.reference if name == DENSE else self.pruned

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

    def start(self, name: str, dense: dict) -> Population:
        """The population of ``name`` before fine-tuning, with ``train.epochs`` of training behind it (see
        :func:`budget`): :data:`DENSE` — the M dense models as trained; a method — its M·R pruned models (SNIP's
        sparse nets trained from their initialisation first). A population of the stage's fine-tuning trainer
        (fresh optimizer, schedule clock 0); ``dense``: :meth:`dense_weights`."""
        stage = self.stage(name)
        if name == DENSE:
            return starting_population(stage.trainer, dense["trained"], dense["masks"], 0, dense["finite"],
                                       dense.get("stats_trained", {}))
        params, masks, stats = self.prune(name, dense)
        finite = np.repeat(np.asarray(dense["finite"], bool), len(self.ratios))
        if trains_after_pruning(name):
            pop = starting_population(self.pretrainer, params, masks, 0, finite, stats)
            pop, _, _ = self.pretrainer.train(pop, 0, self.pretrainer.total_steps, self.progress(f"{name} training"))
            params, stats, finite = _host(pop.params), _host(pop.stats), np.asarray(pop.finite)
        return starting_population(stage.trainer, params, masks, 0, finite, stats)

    def finetune(self, name: str, pop: Population) -> Population:
        """``pop`` (:meth:`start`) after ``retrain_epochs`` of fine-tuning its survivors (``pop`` is consumed)."""
        t = self.stage(name).trainer
        pop, _, _ = t.train(pop, 0, t.total_steps, self.progress("fine-tuning"))
        return pop

    def result(self, name: str, pop: Population, seconds: float) -> LevelResult:
        """Errors and losses of ``pop`` (the population of ``name``) on the evaluation splits (``seconds``: the time
        it took to make it)."""
        t0 = time.perf_counter()
        stage = self.stage(name)
        metrics = stage.trainer.evaluate(pop, stage.eval_sets)
        return LevelResult(0, BRANCH, np.asarray(model_masks.count_weights(pop.masks)), metrics, np.asarray(pop.finite),
                           seconds + time.perf_counter() - t0)

    def row_extras(self, name: str, retrained: bool) -> list[dict]:
        """One dict of the prune-method columns per member of ``name``'s population: method, ratio, retrained,
        scope and the budget (:func:`budget`)."""
        stage = self.stage(name)
        spent = budget(self.section, self.config.train.epochs, stage.trainer.steps_per_epoch, name, retrained)
        scope = "" if name == DENSE else self.scope
        return [{"method": name, "ratio": float(r), "retrained": retrained, "scope": scope, **spent}
                for r in np.tile(stage.ratios, len(self.members))]
