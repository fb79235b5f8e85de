"""The FLOP count every throughput figure of the benchmark is measured against.

Training one fully connected model for one epoch costs ≈ 6·W·N floating-point operations:
W prunable weights (kernels; biases and activations are negligible), N examples, and per
weight and example one multiply-add in the forward pass (2 FLOP), and two in the backward
pass (input gradient and weight gradient, 4 FLOP). Only the model's *true* weights count:
padding, masked weights and recomputation are work the engine chose to do, not useful work.
A convolution costs its kernel weights once per output position (:func:`forward_macs`).
"""
from __future__ import annotations

import flax
import jax
import jax.numpy as jnp
import numpy as np


def fcn_weights(sizes) -> int:
    """Kernel weights of a dense net with layer sizes (input, hidden…, classes)."""
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def train_epoch_flops(sizes, examples: int) -> float:
    """6 · W · N: one training epoch of one model."""
    return 6.0 * fcn_weights(sizes) * examples


def forward_macs(spec, width: int, input_shape, num_classes: int) -> int:
    """Multiply-adds of one example's forward pass through the prunable layers of a model of the registry
    (:mod:`lottery.models.registry`), true width, no padding: Σ kernel weights × output positions (a dense layer
    has one position, a convolution H_out·W_out, read off the layer's output shape by ``jax.eval_shape`` — nothing
    is computed). Batch-norm, activations, pooling, biases and the optimizer update are not counted."""
    if spec.fully_connected:
        return fcn_weights(spec.layer_sizes(width, int(np.prod(input_shape)), num_classes))
    module = spec.module(width, num_classes)
    x = jax.ShapeDtypeStruct((1, *input_shape), jnp.float32)
    variables = spec.variable_shapes(width, tuple(input_shape), num_classes)
    _, state = jax.eval_shape(lambda v, x: module.apply(v, x, train=False, capture_intermediates=True,
                                                        mutable=["intermediates"]), variables, x)
    outputs = flax.traverse_util.flatten_dict(flax.core.unfreeze(state["intermediates"]), sep="/")
    total = 0
    for layer, kernel in spec.kernel_shapes(width, tuple(input_shape), num_classes).items():
        out = jax.tree.leaves(outputs[layer + "/__call__"])[0].shape  # [1, *positions, features]
        total += int(np.prod(kernel)) * int(np.prod(out[1:-1]))
    return total


def model_epoch_flops(spec, width: int, input_shape, num_classes: int, examples: int) -> float:
    """6 · forward multiply-adds · N: one training epoch of one model (for a fully connected net, 6 · W · N)."""
    return 6.0 * forward_macs(spec, width, input_shape, num_classes) * examples
