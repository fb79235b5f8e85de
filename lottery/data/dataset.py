"""The dataset object every trainer and analysis reads."""
from __future__ import annotations

import dataclasses
from typing import Callable, Optional

import jax
import numpy as np


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """Train and test arrays on device, clean labels.

    x_train: [N, *features] float32;  y_train: [N] int32
    x_test:  [M, *features] float32;  y_test:  [M] int32
    posterior: for synthetic data with a known generative model, x [n, *features] →
        exact Bayes posterior p(y | x) [n, classes]; None for real data.
    black: for images, a black pixel after normalisation (per channel [C]): what crop augmentation
        pads with, as torchvision's RandomCrop before Normalize does; None otherwise.
    pixels: for images, the normalisation (mean [C], std [C]) of pixels scaled to [0, 1]: x = (p − mean)/std,
        so the stored images map back to pixels (corruptions act on pixels); None otherwise.
    """

    name: str
    x_train: jax.Array
    y_train: jax.Array
    x_test: jax.Array
    y_test: jax.Array
    num_classes: int
    posterior: Optional[Callable[[jax.Array], jax.Array]] = None
    black: Optional[tuple] = None
    pixels: Optional[tuple] = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def train_size(self) -> int:
        return int(self.x_train.shape[0])


def first_classes(dataset: Dataset, k: int) -> Dataset:
    """The examples of classes 0…k−1 only, labels unchanged (so still 0…k−1), ``num_classes = k``, named
    ``NAME_kK``; ``k = 0`` (or k equal to the number of classes): the dataset as it is.
    x_train [N, ...] → [N', ...] with N' the examples of the first k classes (likewise the test split)."""
    if not k or k == dataset.num_classes:
        return dataset
    if not 1 <= k < dataset.num_classes:
        raise ValueError(f"{dataset.name} has {dataset.num_classes} classes, cannot keep the first {k}")
    train, test = np.asarray(dataset.y_train) < k, np.asarray(dataset.y_test) < k
    return dataclasses.replace(dataset, name=f"{dataset.name}_k{k}", num_classes=k,
                               x_train=dataset.x_train[train], y_train=dataset.y_train[train],
                               x_test=dataset.x_test[test], y_test=dataset.y_test[test], posterior=None)
