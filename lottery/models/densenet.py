"""DenseNet-BC for 32×32 images (Flax linen, NHWC), with batch-norm — the CIFAR DenseNet of Huang et
al. (2017) in the form of the widely used kuangliu/pytorch-cifar ``DenseNet121``.

The growth rate k is the swept width (k = 32 for DenseNet-121). For x [B, H, W, C]:

* stem: one 3×3 convolution, 2k filters, stride 1, padding 1 (no batch-norm, ReLU or pool after it);
* four dense blocks of (6, 12, 24, 16) bottleneck layers; a bottleneck layer on c channels is
  BN → ReLU → 1×1 conv (4k filters) → BN → ReLU → 3×3 conv (k filters, padding 1), and its k output
  channels are concatenated to its input, so a block of n layers takes c to c + n·k channels;
* between blocks a transition: BN → ReLU → 1×1 conv to ⌊c / 2⌋ channels → 2×2 average pool, stride 2;
* after the last block BN → ReLU → global average pool → linear head (with bias).

Shapes at k = 32 on 32×32×3 (DenseNet-121): stem 32×32×64; block 0 → 32×32×256, transition →
16×16×128; block 1 → 16×16×512, transition → 8×8×256; block 2 → 8×8×1024, transition → 4×4×512;
block 3 → 4×4×1024; pool → 1024; head → classes.

Convolutions have no bias (batch-norm precedes each but the stem). Prunable weights (OpenLTH's
count: every ``kernel`` — convolutions and the head, no biases or batch-norm): 6,872,768 at k = 32
on 32×32×3 with 10 classes (``tests/test_densenet.py`` checks this against a formula from the layer
shapes).

Batch-norm keeps running statistics in the ``batch_stats`` collection (momentum 0.9, i.e. PyTorch's
0.1; ε = 1e-5); ``train`` selects batch statistics and updates them. ``mask`` (None, or bool
[B, 1, 1, 1] marking the valid examples) goes to every batch-norm, so padded examples never enter the
batch statistics.
"""
from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

# Bottleneck layers per dense block of DenseNet-121.
DENSENET121_BLOCKS = (6, 12, 24, 16)
BOTTLENECK = 4  # the bottleneck 1×1 convolution has BOTTLENECK · k filters
REDUCTION = 0.5  # a transition keeps ⌊c · REDUCTION⌋ channels


def bn_relu(x, train: bool, mask, name: str):
    """Batch-norm (statistics over the examples ``mask`` marks valid) followed by ReLU; x [B, H, W, C]."""
    bn = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5, name=name)
    return nn.relu(bn(x, mask=mask))


def conv(x, features: int, kernel: int, name: str):
    """Stride-1 convolution without bias, padding kernel // 2 (the spatial size is kept for odd kernels)."""
    return nn.Conv(features, (kernel, kernel), padding=kernel // 2, use_bias=False, name=name)(x)


class DenseNet(nn.Module):
    """x [B, H, W, C] → logits [B, classes]."""

    blocks: Sequence[int]  # bottleneck layers per dense block
    growth: int  # k
    num_classes: int

    @nn.compact
    def __call__(self, x, train: bool = False, mask=None):
        k = self.growth
        x = conv(x, 2 * k, 3, "stem_conv")
        for b, layers in enumerate(self.blocks):
            if b > 0:  # transition from block b − 1
                t = f"transition{b}"
                x = conv(bn_relu(x, train, mask, f"{t}_bn"), int(x.shape[-1] * REDUCTION), 1, f"{t}_conv")
                x = nn.avg_pool(x, (2, 2), strides=(2, 2))
            for i in range(layers):
                p = f"block{b}_layer{i}"
                y = conv(bn_relu(x, train, mask, f"{p}_bn1"), BOTTLENECK * k, 1, f"{p}_conv1")
                y = conv(bn_relu(y, train, mask, f"{p}_bn2"), k, 3, f"{p}_conv2")
                x = jnp.concatenate([x, y], axis=-1)
        x = jnp.mean(bn_relu(x, train, mask, "final_bn"), axis=(1, 2))
        return nn.Dense(self.num_classes, name="head")(x)


def densenet(depth_blocks: Sequence[int], width: int, num_classes: int) -> DenseNet:
    """A CIFAR DenseNet-BC with ``depth_blocks`` bottleneck layers per dense block and growth rate ``width``."""
    if width < 1:
        raise ValueError(f"a DenseNet's width is its growth rate k (32 for DenseNet-121) and must be ≥ 1, got {width}")
    depth_blocks = tuple(int(n) for n in depth_blocks)
    if not depth_blocks or min(depth_blocks) < 1:
        raise ValueError(f"a DenseNet needs one or more dense blocks of ≥ 1 layer each, got {depth_blocks}")
    return DenseNet(depth_blocks, int(width), int(num_classes))


def densenet121(width: int, num_classes: int) -> DenseNet:
    """DenseNet-121 for CIFAR: blocks of (6, 12, 24, 16) layers; ``width`` = growth rate (32 for the usual net)."""
    return densenet(DENSENET121_BLOCKS, width, num_classes)
