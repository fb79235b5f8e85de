"""The dataset object every trainer and analysis reads."""
from __future__ import annotations

import dataclasses
from typing import Callable, Optional

import jax


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """Train and test arrays on device, clean labels.

    x_train: [N, *features] float32;  y_train: [N] int32
    x_test:  [M, *features] float32;  y_test:  [M] int32
    posterior: for synthetic data with a known generative model, x [n, *features] →
        exact Bayes posterior p(y | x) [n, classes]; None for real data.
    """

    name: str
    x_train: jax.Array
    y_train: jax.Array
    x_test: jax.Array
    y_test: jax.Array
    num_classes: int
    posterior: Optional[Callable[[jax.Array], jax.Array]] = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def train_size(self) -> int:
        return int(self.x_train.shape[0])
