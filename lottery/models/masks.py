"""Masks: padding masks of a model inside a wider bucket, and weight counts.

A mask pytree mirrors the (flat, see :mod:`lottery.models.layers`) params pytree with bool leaves.
Kernel masks are the prunable weights (OpenLTH counts conv and linear weights only, output layer
included); bias and batch-norm masks only mark padding.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def padding_masks(shapes, true_sizes, padded_sizes):
    """Bool masks [*shape] that keep the first ``true_sizes`` units of every dense layer.

    shapes: params pytree of ShapeDtypeStruct for the padded model (dense_i → kernel [in, out]).
    true_sizes / padded_sizes: (input, hidden…, classes) of the true and padded model.
    """
    masks = {}
    for i in range(len(true_sizes) - 1):
        name = f"dense_{i}"
        rows = np.arange(padded_sizes[i]) < true_sizes[i]
        cols = np.arange(padded_sizes[i + 1]) < true_sizes[i + 1]
        masks[name] = {"kernel": rows[:, None] & cols[None, :]}
        if "bias" in shapes[name]:
            masks[name]["bias"] = cols.copy()
    return masks


def kernel_leaves(tree) -> dict:
    """{layer name: kernel leaf} — the prunable weights of a (flat) params or masks pytree; layers
    without a kernel (batch-norm) are not prunable."""
    return {name: layer["kernel"] for name, layer in sorted(tree.items()) if "kernel" in layer}


def count_weights(masks) -> jax.Array:
    """Surviving prunable weights per model: masks with a leading model axis → [models] int32."""
    return sum(jnp.sum(m.reshape(m.shape[0], -1), axis=1, dtype=jnp.int32) for m in kernel_leaves(masks).values())


def count_per_layer(masks) -> dict[str, int]:
    """{layer: surviving weights} for one model's masks."""
    return {name: int(np.sum(np.asarray(m))) for name, m in kernel_leaves(masks).items()}
