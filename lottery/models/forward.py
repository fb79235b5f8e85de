"""One model's forward pass on flat variables (see :mod:`lottery.models.layers`), with or without batch-norm."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from lottery.models import layers


def logits(module, params, stats, x, *, train: bool = False, valid=None):
    """(logits [B, C], batch-norm statistics after the pass) of one model.

    params: flat params (already masked); stats: flat running statistics ({layer: {mean, var}}; empty
    for a net without batch-norm); x [B, *input]; valid [B] bool or None (all valid).
    train: normalise with the statistics of the valid examples of the batch and update the running
    statistics (PyTorch's ``model.train()``); else normalise with the running statistics, unchanged.
    """
    variables = {"params": layers.nested(params)}
    if not stats:
        return module.apply(variables, x), stats
    variables["batch_stats"] = layers.nested(stats)
    if not train:
        return module.apply(variables, x, train=False), stats
    mask = None if valid is None else valid.reshape(-1, *([1] * (x.ndim - 1)))
    out, updated = module.apply(variables, x, train=True, mask=mask, mutable=["batch_stats"])
    return out, layers.flat(updated["batch_stats"])


def variable_shapes(module, input_shape) -> dict:
    """{collection: flat pytree of ShapeDtypeStruct} of ``module`` on inputs [1, *input_shape]."""
    x = jax.ShapeDtypeStruct((1, *input_shape), jnp.float32)
    return {name: layers.flat(tree) for name, tree in jax.eval_shape(module.init, jax.random.PRNGKey(0), x).items()}


def param_shapes(module, input_shape):
    """The flat params pytree of ShapeDtypeStruct of ``module`` on inputs [1, *input_shape]."""
    return variable_shapes(module, input_shape)["params"]


def member_stats(module, input_shape) -> dict:
    """One model's batch-norm running statistics before training: means 0, variances 1 ([C]; empty without
    batch-norm)."""
    shapes = variable_shapes(module, input_shape).get("batch_stats", {})
    return {name: {"mean": jnp.zeros(layer["mean"].shape, jnp.float32), "var": jnp.ones(layer["var"].shape, jnp.float32)}
            for name, layer in shapes.items()}
