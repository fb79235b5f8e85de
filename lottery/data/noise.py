"""Symmetric label noise (docs/science.md §1.2), two modes.

* ``permute`` — study A's wording: a random subset of ⌈η·N⌉ examples has its labels
  permuted among itself, so the multiset of labels (the class balance) is unchanged and
  some labels stay right by chance.
* ``uniform`` — OpenLTH's ``random_labels_fraction``: ⌈η·N⌉ examples each get a label
  drawn uniformly from all classes (possibly the true one); the expected flip rate is
  η·(1 − 1/C).

Both are functions of a key, so the noise draw has its own seed, separate from the model's.
"""
from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

MODES = ("permute", "uniform")


@dataclasses.dataclass(frozen=True)
class NoisyLabels:
    """One noise draw.

    labels:    [N] int32 — the corrupted labels.
    corrupted: [n] int32 — indices that were drawn for corruption (sorted); n = ⌈η·N⌉.
    flip_rate: fraction of all N labels that actually differ from the clean ones.
    """

    labels: jax.Array
    corrupted: jax.Array
    flip_rate: float


def corrupted_count(fraction: float, n: int) -> int:
    """⌈fraction·n⌉, robust to float error (0.2·10 is 2, not 3)."""
    return int(math.ceil(round(fraction * n, 9)))


def noisy_labels(key: jax.Array, labels: jax.Array, fraction: float, mode: str, num_classes: int) -> NoisyLabels:
    """One noise draw on ``labels`` [N] int (``mode``: permute or uniform): a :class:`NoisyLabels`."""
    if mode not in MODES:
        raise ValueError(f"noise mode must be one of {MODES}, got {mode!r}")
    labels = jnp.asarray(labels, jnp.int32)
    n = labels.shape[0]
    count = corrupted_count(fraction, n)
    kidx, kval = jax.random.split(key)
    idx = jnp.sort(jax.random.permutation(kidx, n)[:count]).astype(jnp.int32)
    if mode == "permute":
        new = labels[idx][jax.random.permutation(kval, count)]
    else:
        new = jax.random.randint(kval, (count,), 0, num_classes, jnp.int32)
    noisy = labels.at[idx].set(new)
    flip = float(jnp.mean(noisy != labels)) if n else 0.0
    return NoisyLabels(noisy, idx, flip)


def expected_flip_rate(fraction: float, num_classes: int) -> float:
    """Expected fraction of flipped labels for balanced classes, in either mode.

    uniform: η·(1 − 1/C). permute: a permuted label keeps its value with probability
    Σ_c p_c² = 1/C for balanced classes, so also η·(1 − 1/C) (η/2 for binary labels).
    """
    return fraction * (1.0 - 1.0 / num_classes)
