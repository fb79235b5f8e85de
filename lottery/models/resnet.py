"""Residual networks for 32×32 images (Flax linen, NHWC), with batch-norm.

* :class:`CifarResNet` — OpenLTH's ``cifar_resnet_D_W``: a 3×3 stem of W filters, three stages of
  (D − 2) / 6 basic blocks with W, 2W, 4W filters (the first block of stages 2 and 3 strides 2 and
  has a 1×1 convolution + batch-norm shortcut), global average pooling, a linear head with bias.
  Study A's CIFAR-10 "ResNet-18" is ``resnet_20`` at width W and its MNIST "ResNet-6" is
  ``resnet_8`` on 1-channel input. Prunable weights (OpenLTH's count): every convolution and the
  head's kernel — ``resnet_20`` at W = 16 has 270,896.
* :class:`ResNet18` — the standard ResNet-18 with a CIFAR stem (3×3, stride 1, no max-pool): four
  stages of two basic blocks with W, 2W, 4W, 8W filters (W = 64 is the usual net).

Convolutions have no bias (batch-norm follows each). Batch-norm keeps running statistics in the
``batch_stats`` collection (momentum 0.9, i.e. PyTorch's 0.1; ε = 1e-5); ``train`` selects batch
statistics and updates them, over the examples ``mask`` [B, 1, 1, 1] marks valid (all when None).
"""
from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax


def conv_bn(x, features: int, kernel: int, stride: int, train: bool, name: str, mask=None):
    """Convolution (no bias, 'SAME'-style padding) followed by batch-norm; x [B, H, W, C].
    mask: None or [B, 1, 1, 1] bool, the examples batch statistics are computed over (False marks
    the padding of a partial batch)."""
    x = nn.Conv(features, (kernel, kernel), strides=(stride, stride), padding=kernel // 2, use_bias=False,
                name=f"{name}_conv")(x)
    return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5, name=f"{name}_bn")(x, mask=mask)


class BasicBlock(nn.Module):
    """Two 3×3 conv-BN layers with a residual connection (a 1×1 conv-BN shortcut when the shape changes)."""

    features: int
    stride: int = 1

    @nn.compact
    def __call__(self, x, train: bool, mask=None):
        y = nn.relu(conv_bn(x, self.features, 3, self.stride, train, "a", mask))
        y = conv_bn(y, self.features, 3, 1, train, "b", mask)
        if self.stride != 1 or x.shape[-1] != self.features:
            x = conv_bn(x, self.features, 1, self.stride, train, "shortcut", mask)
        return nn.relu(y + x)


class _StagedResNet(nn.Module):
    """Stem, stages of basic blocks, global average pool, linear head: x [B, H, W, C] → logits [B, classes]."""

    stem: int
    stages: Sequence[tuple[int, int]]  # (filters, blocks) per stage
    num_classes: int

    @nn.compact
    def __call__(self, x, train: bool = False, mask=None):
        x = nn.relu(conv_bn(x, self.stem, 3, 1, train, "stem", mask))
        for s, (filters, blocks) in enumerate(self.stages):
            for b in range(blocks):
                x = BasicBlock(filters, 2 if (s > 0 and b == 0) else 1, name=f"stage{s}_block{b}")(x, train, mask)
        x = jax.numpy.mean(x, axis=(1, 2))
        return nn.Dense(self.num_classes, name="head")(x)


def cifar_resnet(depth: int, width: int, num_classes: int) -> _StagedResNet:
    """OpenLTH's ``cifar_resnet_{depth}_{width}``; depth must be 6n + 2."""
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"a CIFAR ResNet has depth 6n + 2 ≥ 8 (8, 14, 20, 32, 44, 56, 110 …), got {depth}")
    n = (depth - 2) // 6
    return _StagedResNet(width, ((width, n), (2 * width, n), (4 * width, n)), num_classes)


def resnet18(width: int, num_classes: int) -> _StagedResNet:
    """ResNet-18 with a CIFAR stem; ``width`` = filters of the first stage (64 for the usual net)."""
    return _StagedResNet(width, ((width, 2), (2 * width, 2), (4 * width, 2), (8 * width, 2)), num_classes)
