"""LeNet-5 (Flax linen, NHWC): conv 5×5 (6W filters, padding 2) → ReLU → max-pool 2 → conv 5×5
(16W filters) → ReLU → max-pool 2 → linear 120W → ReLU → linear 84W → ReLU → linear head.

The classic net is W = 1 (on 28×28 inputs: 5×5×16 = 400 features into the first linear layer);
convolutions and linear layers have biases, as in the original and in study B's models.
"""
from __future__ import annotations

import flax.linen as nn


class LeNet5(nn.Module):
    """x [B, H, W, C] → logits [B, classes]."""

    width: int
    num_classes: int

    @nn.compact
    def __call__(self, x, train: bool = False, mask=None):  # no batch-norm: train and mask unused
        x = nn.relu(nn.Conv(6 * self.width, (5, 5), padding=2, name="conv0")(x))
        x = nn.max_pool(x, (2, 2), strides=(2, 2))
        x = nn.relu(nn.Conv(16 * self.width, (5, 5), padding="VALID", name="conv1")(x))
        x = nn.max_pool(x, (2, 2), strides=(2, 2))
        x = x.reshape(x.shape[0], -1)
        x = nn.relu(nn.Dense(120 * self.width, name="dense0")(x))
        x = nn.relu(nn.Dense(84 * self.width, name="dense1")(x))
        return nn.Dense(self.num_classes, name="head")(x)
