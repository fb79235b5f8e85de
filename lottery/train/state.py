"""Population state and its initialisation.

A population is K models of one padded shape. Every leaf of its state has a leading model
axis K: params, masks (bool), opt_state, step [K] int32 (the schedule's clock), finite [K]
bool (False once a model's training loss was NaN/inf), stats (batch-norm running statistics,
{layer: {mean, var}}; empty for nets without batch-norm). params, masks and stats are flat
layer trees (:mod:`lottery.models.layers`).
"""
from __future__ import annotations

import dataclasses
from typing import Any

import flax
import jax
import jax.numpy as jnp
import numpy as np

from lottery.models import init as model_init
from lottery.models.forward import member_stats, param_shapes  # noqa: F401 (param_shapes: for train/ and its callers)

INIT_STREAM = 0x1A  # fold-in constant of initialisation keys


@flax.struct.dataclass
class Population:
    params: Any
    masks: Any
    opt_state: Any
    step: jax.Array
    finite: jax.Array
    stats: Any = dataclasses.field(default_factory=dict)

    @property
    def size(self) -> int:
        return int(self.step.shape[0])


@dataclasses.dataclass(frozen=True)
class Member:
    """One model of a population: its width, seed (init and own data order) and label set."""

    width: int
    seed: int
    label_set: int = 0


def init_key(seed: int) -> jax.Array:
    """The initialisation key of a model seed."""
    return jax.random.fold_in(jax.random.PRNGKey(seed), INIT_STREAM)


def initial_stats(module, input_shape, k: int) -> dict:
    """:func:`member_stats` for k models ([K, C])."""
    return jax.tree.map(lambda a: jnp.broadcast_to(a, (k, *a.shape)), member_stats(module, input_shape))


def stacked_padding_masks(spec, shapes, members, padded_width: int, input_size: int, num_classes: int):
    """Padding masks of every member, stacked: leaves [K, *shape] bool."""
    per = [spec.padding_masks(shapes, m.width, padded_width, input_size, num_classes) for m in members]
    return jax.tree.map(lambda *ms: jnp.asarray(np.stack(ms)), *per)


def init_population(spec, module, tx, members, padded_width: int, input_shape, num_classes: int) -> Population:
    """Initial state of ``members`` padded to ``padded_width`` (see :mod:`lottery.models.init`)."""
    shapes = param_shapes(module, input_shape)
    input_size = int(np.prod(input_shape))
    masks = stacked_padding_masks(spec, shapes, members, padded_width, input_size, num_classes)
    keys = jnp.stack([init_key(m.seed) for m in members])
    params = jax.jit(jax.vmap(lambda k, m: model_init.init_params(k, shapes, m, spec.init)))(keys, masks)
    opt_state = jax.vmap(tx.init)(params)
    k = len(members)
    return Population(params, masks, opt_state, jnp.zeros((k,), jnp.int32), jnp.ones((k,), bool),
                      initial_stats(module, input_shape, k))
