"""The FLOP count every throughput figure of the benchmark is measured against.

Training one fully connected model for one epoch costs ≈ 6·W·N floating-point operations:
W prunable weights (kernels; biases and activations are negligible), N examples, and per
weight and example one multiply-add in the forward pass (2 FLOP), and two in the backward
pass (input gradient and weight gradient, 4 FLOP). Only the model's *true* weights count:
padding, masked weights and recomputation are work the engine chose to do, not useful work.
"""
from __future__ import annotations


def fcn_weights(sizes) -> int:
    """Kernel weights of a dense net with layer sizes (input, hidden…, classes)."""
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def train_epoch_flops(sizes, examples: int) -> float:
    """6 · W · N: one training epoch of one model."""
    return 6.0 * fcn_weights(sizes) * examples
