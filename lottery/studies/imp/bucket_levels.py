"""Iterative magnitude pruning of a bucket, level by level, with rewinding and control branches.

Level 0 trains the dense population from step 0 to T. With late rewinding (``imp.rewind``
= ``10ep`` or ``500it``) the state at step k is kept as the rewind point. Level L ≥ 1 prunes
a fraction of the surviving weights of level L−1's *trained* weights, resets the survivors to
the rewind weights, starts a fresh optimizer state, and trains steps k → T: the learning-rate
schedule resumes at step k. Every level sees the same data order (a function of seed and step).

Branches of a finished level L ≥ 1 (``imp.branches``):
* ``reinit`` — level L's mask with a fresh random initialisation, trained 0 → T;
* ``random_global`` / ``random_layerwise`` — a random mask of the same density (total, or per
  layer) on the rewind weights, trained k → T;
* ``finetune`` — level L−1's trained weights pruned to level L's mask, trained k → T with a fresh
  optimizer (prune + retrain with learning-rate rewinding).

Each level's masks, trained params and metrics are checkpointed; a killed run resumes from the
last complete checkpoint and finishes with bitwise the same results.
"""
from __future__ import annotations

import dataclasses
import functools
import time
from typing import Callable

import flax.serialization
import jax
import jax.numpy as jnp
import ml_collections

from lottery.core import distributed
from lottery.core.errors import ConfigError
from lottery.models import init as model_init
from lottery.models import masks as model_masks
from lottery.prune import magnitude
from lottery.prune import random as random_prune
from lottery.studies.levels import LevelResult, starting_population
from lottery.train import order
from lottery.train.state import Population, init_key, param_shapes
from lottery.train import compaction
from lottery.train.trainer import BucketTrainer

BRANCHES = ("reinit", "random_global", "random_layerwise", "finetune")
REINIT_STREAM, RANDOM_MASK_STREAM = 0x2B, 0x3C


def rewind_step(spec: str, steps_per_epoch: int) -> int:
    """``init`` → 0; ``10ep`` → 10·S; ``500it`` → 500."""
    try:
        return order.steps_of(spec, steps_per_epoch)
    except ValueError:
        raise ValueError(f"imp.rewind must be 'init', 'Nep' or 'Nit', got {spec!r}") from None


def _host(tree):
    return jax.tree.map(distributed.host, tree)  # gathered to every process in a multi-process run


def level_name(level: int, branch: str = "main") -> str:
    return f"level_{level:03d}" + ("" if branch == "main" else f"_{branch}")


def section() -> ml_collections.ConfigDict:
    """The ``imp`` section (what :class:`BucketIMP` reads) at its defaults: the IMP study's own section."""
    p = ml_collections.ConfigDict()
    p.levels = 0  # pruning levels after the dense level 0
    p.fraction = 0.2  # of the surviving weights removed per level
    p.rule = "clean"  # clean (remove exactly ⌈f·R⌉) | openlth (OpenLTH sparse_global, see prune/magnitude.py)
    p.scope = "global"  # global | layerwise
    p.ignore = ()  # layer names never pruned, e.g. ("dense_0",)
    p.layer_rates = ()  # layerwise rate multipliers, e.g. ("dense_2=0.5",)
    p.rewind = "init"  # init | Nep | Nit (late rewinding to epoch/iteration N)
    p.branches = ()  # reinit, random_global, random_layerwise, finetune
    # Train each pruned level on its live units only (dead hidden units dropped, population
    # re-bucketed to smaller widths); exact up to float rounding, so only without weight decay.
    p.compact = True
    return p


class BucketIMP:
    """IMP for one bucket: the compiled train, eval and prune functions are built once and reused."""

    def __init__(self, trainer: BucketTrainer, imp_cfg, eval_sets: list, checkpoints, progress: Callable = None):
        """Learning curves: every ``trainer.bucket.curve_every`` steps of a level's training (0: none), errors and
        losses of every member on the labelled evaluation sets."""
        self.trainer, self.cfg, self.eval_sets, self.ckpt = trainer, imp_cfg, eval_sets, checkpoints
        self.curve_every = trainer.bucket.curve_every
        self.probe = trainer.probe([s for s in eval_sets if s.labels is not None]) if self.curve_every else None
        self.progress = progress or (lambda label: None)
        self.rewind_at = rewind_step(imp_cfg.rewind, trainer.steps_per_epoch)  # the rewind step k
        self.total = trainer.total_steps  # the last step T
        rates = dict(r.split("=") for r in imp_cfg.layer_rates) if imp_cfg.layer_rates else {}
        rule = functools.partial(magnitude.prune, rule=imp_cfg.rule, scope=imp_cfg.scope,
                                 ignore=tuple(imp_cfg.ignore), rates={n: float(v) for n, v in rates.items()})
        self.prune = jax.jit(jax.vmap(lambda p, m, f: rule(p, m, f)))
        self.random_masks = jax.jit(jax.vmap(random_prune.like, in_axes=(0, 0, 0, None)), static_argnums=3)
        shapes = param_shapes(trainer.module, tuple(trainer.x_train.shape[1:]))
        self.reinit = jax.jit(jax.vmap(lambda key, m: model_init.init_params(key, shapes, m, trainer.spec.init)))
        self.compacted = compaction.Compacted(trainer) if compaction.applies(trainer, imp_cfg.compact) else None

    # -- pieces -------------------------------------------------------------------------
    def _keys(self, stream: int, level: int) -> jax.Array:
        return jnp.stack([jax.random.fold_in(jax.random.fold_in(init_key(m.seed), stream), level) for m in self.trainer.members])

    def _state(self, params, masks, step: int, finite, stats) -> Population:
        return starting_population(self.trainer, params, masks, step, finite, stats)

    def _finish(self, level, branch, pop, label, start, t0):
        """Trains a level's starting state to the end (compacted when it pays, for any state with a
        fresh optimizer, i.e. every level but 0), evaluates it, and times it."""
        curves = {} if self.probe else None
        seen = dict(probe=self.probe, observe=curves.__setitem__) if self.probe else {}
        if self.compacted is not None and (level > 0 or branch != "main"):
            pop, sizes = self.compacted.train(pop, start, self.total, self.progress(label), **seen)
        else:
            pop, _, _ = self.trainer.train(pop, start, self.total, self.progress(label), **seen)
            sizes = (self.trainer.padded_width,)
        metrics = self.trainer.evaluate(pop, self.eval_sets)
        reported = self.trainer.reported  # the layout's inert padding members are not results
        remaining = distributed.host(model_masks.count_weights(pop.masks))[:reported]
        result = LevelResult(level, branch, remaining, metrics, distributed.host(pop.finite)[:reported],
                             time.perf_counter() - t0, max(sizes), curves)
        return pop, result

    def _save(self, name, pop, result):
        stats = {"stats": _host(pop.stats)} if pop.stats else {}
        self.ckpt.save(name, {"params": _host(pop.params), "masks": _host(pop.masks), "finite": distributed.host(pop.finite),
                              "remaining": result.remaining, "metrics": result.metrics, **stats})

    def _restored(self, level, branch, saved) -> LevelResult:
        return LevelResult(level, branch, saved["remaining"], saved["metrics"], saved["finite"][:self.trainer.reported], None)

    # -- the levels ---------------------------------------------------------------------
    def rewind_point(self):
        """(rewind params and batch-norm statistics as numpy, the full population state at step k for level 0
        to continue)."""
        saved = self._load_rewind()
        if saved is not None:
            return saved["params"], saved.get("stats", {}), self._population(saved)
        pop = self.trainer.init()
        if self.rewind_at:
            pop, _, _ = self.trainer.train(pop, 0, self.rewind_at, self.progress("rewind point"))
        state = _host({f.name: getattr(pop, f.name) for f in dataclasses.fields(pop) if f.name != "stats" or pop.stats})
        # Optimizer states are optax named tuples: stored as plain dicts, rebuilt on load.
        self.ckpt.save("rewind", {**state, "opt_state": flax.serialization.to_state_dict(state["opt_state"])})
        return state["params"], state.get("stats", {}), self._population(state)

    def _check_models(self, saved, name: str):
        """ConfigError unless a checkpoint holds this trainer's number of models (a sharded run pads them)."""
        if saved is not None and saved["finite"].shape[0] != len(self.trainer.members):
            raise ConfigError("workdir", f"checkpoint {name} holds {saved['finite'].shape[0]} models, this run "
                                         f"{len(self.trainer.members)}: it was written on another number of devices "
                                         f"(train.shard pads to a multiple of them, over all processes of a "
                                         f"multi-process run); resume on the same devices")
        return saved

    def _load_rewind(self):
        saved = self._check_models(self.ckpt.load("rewind"), "rewind")
        if saved is not None:
            template = self.trainer.fresh_opt_state(jax.tree.map(jnp.asarray, saved["params"]))
            saved["opt_state"] = flax.serialization.from_state_dict(template, saved["opt_state"])
        return saved

    @staticmethod
    def _population(state) -> Population:
        return Population(**{k: jax.tree.map(jnp.asarray, v) for k, v in state.items()})

    def run(self, levels: int, on_result: Callable[[LevelResult], None]) -> None:
        """Runs (or restores) levels 0 … levels and their branches, calling ``on_result`` for each."""
        rewind_params, rewind_stats, state_k = None, None, None
        prev = None  # (trained params, masks, finite, stats) of the previous level, numpy
        for level in range(levels + 1):
            saved = self._check_models(self.ckpt.load(level_name(level)), level_name(level))
            if saved is not None:
                result = self._restored(level, "main", saved)
            else:
                if rewind_params is None:
                    rewind_params, rewind_stats, state_k = self.rewind_point()
                t0 = time.perf_counter()
                if level == 0:
                    pop = state_k
                    start = self.rewind_at
                else:
                    masks = _host(self.prune(jax.tree.map(jnp.asarray, prev[0]), jax.tree.map(jnp.asarray, prev[1]),
                                             jnp.full((len(self.trainer.members),), self.cfg.fraction, jnp.float32)))
                    pop, start = self._state(rewind_params, masks, self.rewind_at, prev[2], rewind_stats), self.rewind_at
                pop, result = self._finish(level, "main", pop, f"level {level}", start, t0)
                self._save(level_name(level), pop, result)
                saved = {"params": _host(pop.params), "masks": _host(pop.masks), "finite": distributed.host(pop.finite),
                         "stats": _host(pop.stats)}
            on_result(result)
            if level >= 1:
                for branch in self.cfg.branches:
                    self._branch(level, branch, prev, saved["masks"], on_result)
            prev = (saved["params"], saved["masks"], saved["finite"], saved.get("stats", {}))

    def _branch(self, level, branch, prev, masks, on_result):
        name = level_name(level, branch)
        saved = self.ckpt.load(name)
        if saved is not None:
            on_result(self._restored(level, branch, saved))
            return
        rewind = self._load_rewind()
        t0 = time.perf_counter()
        if branch == "reinit":
            fresh = self.reinit(self._keys(REINIT_STREAM, level), jax.tree.map(jnp.asarray, rewind["masks"]))
            pop, start = self._state(fresh, masks, 0, prev[2], self.trainer.initial_stats()), 0
        elif branch.startswith("random_"):
            scope = branch.split("_", 1)[1]
            rmasks = _host(self.random_masks(self._keys(RANDOM_MASK_STREAM, level), jax.tree.map(jnp.asarray, rewind["masks"]),
                                             jax.tree.map(jnp.asarray, masks), scope))
            pop, start = self._state(rewind["params"], rmasks, self.rewind_at, prev[2], rewind.get("stats", {})), self.rewind_at
        elif branch == "finetune":
            pop, start = self._state(prev[0], masks, self.rewind_at, prev[2], prev[3]), self.rewind_at
        else:
            raise ValueError(f"unknown branch {branch!r}; allowed: {BRANCHES}")
        pop, result = self._finish(level, branch, pop, f"level {level} {branch}", start, t0)
        self._save(name, pop, result)
        on_result(result)
