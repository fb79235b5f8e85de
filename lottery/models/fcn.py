"""Fully connected networks of any depth (Flax linen).

The module holds no masks: a population applies it to ``params * masks`` (see
:mod:`lottery.models.masks`), so a pruned or padded weight is exactly 0 in the forward pass
and its gradient is exactly 0.
"""
from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax


class FCN(nn.Module):
    """x [batch, *input] → logits [batch, features[-1]]; ReLU between layers.

    features: output size of every layer, the last one being the number of classes.
    Layers are named ``dense_0 … dense_{L-1}``; each has ``kernel`` [in, out] and, with
    ``use_bias``, ``bias`` [out].
    """

    features: Sequence[int]
    use_bias: bool = True

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False, mask=None) -> jax.Array:  # no batch-norm: train, mask unused
        x = x.reshape((x.shape[0], -1))
        for i, f in enumerate(self.features):
            x = nn.Dense(f, use_bias=self.use_bias, name=f"dense_{i}")(x)
            if i < len(self.features) - 1:
                x = nn.relu(x)
        return x
