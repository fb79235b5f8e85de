"""VGG for 32×32 images (the CIFAR variant with batch-norm; Flax linen, NHWC).

Each stage is 3×3 conv (no bias) + batch-norm + ReLU layers followed by a 2×2 max-pool; after five
stages a 32×32 input is 1×1 and a linear head with bias gives the logits (OpenLTH's ``cifar_vgg``
has the same single linear head). ``width`` is the first stage's filters (64 for the usual net);
the stages have W, 2W, 4W, 8W, 8W filters.
"""
from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from lottery.models.resnet import conv_bn

# Convolutions per stage.
DEPTHS = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}
MULTIPLIERS = (1, 2, 4, 8, 8)


class VGG(nn.Module):
    """x [B, H, W, C] → logits [B, classes]."""

    convs: Sequence[int]  # per stage
    width: int
    num_classes: int

    @nn.compact
    def __call__(self, x, train: bool = False, mask=None):
        for s, (n, mult) in enumerate(zip(self.convs, MULTIPLIERS)):
            for i in range(n):
                x = nn.relu(conv_bn(x, self.width * mult, 3, 1, train, f"stage{s}_{i}", mask))
            x = nn.max_pool(x, (2, 2), strides=(2, 2))
        x = jnp.mean(x, axis=(1, 2))  # 1×1 for a 32×32 input
        return nn.Dense(self.num_classes, name="head")(x)


def vgg(depth: int, width: int, num_classes: int) -> VGG:
    if depth not in DEPTHS:
        raise ValueError(f"VGG depth must be one of {sorted(DEPTHS)}, got {depth}")
    return VGG(DEPTHS[depth], width, num_classes)
