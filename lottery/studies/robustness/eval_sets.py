"""The evaluation sets of a robustness run: the clean test examples and their corrupted versions, one per
corruption × severity of the ``robustness`` section (uint8 pixels made once and cached in the workdir through
:mod:`lottery.store.analysis`, normalised like the training data on demand)."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from lottery.data import corruptions
from lottery.store import analysis as store

CORRUPTION_STREAM = 0xC0  # fold-in constant of the corruption keys under robustness.seed


class RobustnessEvalSets:
    """The clean set (``x_clean`` [N, H, W, C] normalised, ``labels`` [N], ``pixels`` uint8 [N, H, W, C]) and the
    corrupted sets ``sets()``, corruption-major; constructing it caches the clean pixels as ``clean-0``."""

    def __init__(self, r, dataset, workdir: str):
        self.section, self.workdir = r, workdir
        self.mean, self.std = (np.asarray(v, np.float32) for v in dataset.pixels)
        self.x_clean = dataset.x_test
        self.labels = dataset.y_test
        self.pixels = np.clip(np.rint((np.asarray(dataset.x_test) * self.std + self.mean) * 255.0), 0, 255).astype(np.uint8)
        store.cached_images(store.corrupted_path(workdir, "clean", 0), lambda: self.pixels)
        self.names = tuple(r.corruptions)
        self.severities = tuple(int(s) for s in r.severities)

    def images(self, name: str, severity: int) -> np.ndarray:
        """uint8 [N, H, W, C] corrupted pixels of corruption ``name`` at ``severity`` (deterministic per
        ``robustness.seed``, type and severity)."""
        index = corruptions.ALL.index(name) * 8 + severity
        key = jax.random.fold_in(jax.random.fold_in(jax.random.PRNGKey(int(self.section.seed)), CORRUPTION_STREAM), index)
        return store.cached_images(store.corrupted_path(self.workdir, name, severity),
                                   lambda: np.asarray(corruptions.corrupt_images(self.pixels, name, severity, key)))

    def x(self, name: str, severity: int) -> jax.Array:
        """float32 [N, H, W, C]: the corrupted set normalised like the training data."""
        return jnp.asarray((self.images(name, severity).astype(np.float32) / 255.0 - self.mean) / self.std)

    def sets(self) -> list[tuple[str, int]]:
        """(name, severity) of every corrupted set, corruption-major."""
        return [(n, s) for n in self.names for s in self.severities]
