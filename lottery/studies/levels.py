"""What every study trains from and reports: a level's starting population and its result.

A *level* is one population trained and evaluated as a whole — an IMP level or branch, the dense models
of a pruning-method run, or one method's pruned population.
"""
from __future__ import annotations

import dataclasses
from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np

from lottery.train.state import Population


@dataclasses.dataclass
class LevelResult:
    """What a level (or branch) produced: level, branch ('main', a branch name, or a study's own label),
    weights remaining [K], metrics (see ``BucketTrainer.evaluate``), finite [K], seconds (None if restored)."""

    level: int
    branch: str
    remaining: np.ndarray
    metrics: dict
    finite: np.ndarray
    seconds: Optional[float]
    trained_width: Optional[int] = None  # widest hidden layer trained (< padded width when compacted)
    # learning curves: {step: {label name: {"error", "loss": [K]}}} observed during training (None: not observed)
    curves: Optional[dict] = None


def starting_population(trainer, params, masks, step: int, finite, stats) -> Population:
    """The K = len(trainer.members) models of a level before it trains.

    params / masks / stats: leaves [K, ...] (numpy or jax; stats empty without batch-norm); the params are
    masked (pruned weights start at exactly 0); the optimizer state is fresh; every member's schedule clock
    is ``step``; finite [K] is inherited (a model whose ancestor diverged stays flagged).
    """
    params = jax.tree.map(lambda p, m: jnp.asarray(p) * jnp.asarray(m), params, masks)
    k = len(trainer.members)
    return Population(params, jax.tree.map(jnp.asarray, masks), trainer.fresh_opt_state(params),
                      jnp.full((k,), step, jnp.int32), jnp.asarray(finite, bool), jax.tree.map(jnp.asarray, stats))
