"""Where on the input space a model's posterior departs from the Bayes posterior (docs/science.md §6, A fig. 5).

* Along the axis between the two class means: the relative position t = (x − μ₀)·(μ₁ − μ₀) / ‖μ₁ − μ₀‖²
  (t = 0 at the class-0 mean, 1 at the class-1 mean), binned; the Bayes p(y=0) is a logistic in t
  for the linear mixture.
* On the 2-D PCA projection of the inputs: a grid of cells over which the gap is averaged.
The bin indices are numpy on the host; :class:`PosteriorBinning` accumulates the binned sums on the device.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

AXIS_RANGE = (-1.0, 2.0)
AXIS_BINS = 30
MAP_GRID = 24


def class_means(means: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mixture means [classes, components, D] and weights [classes, components] → class means [classes, D]."""
    return np.einsum("ck,ckd->cd", weights, means)


def axis_position(x: np.ndarray, mu0: np.ndarray, mu1: np.ndarray) -> np.ndarray | None:
    """Relative position t [N] of points x [N, D] along μ₀ → μ₁; None when the class means coincide (xor)."""
    d = mu1 - mu0
    norm2 = float(d @ d)
    if norm2 < 1e-12:
        return None
    return (np.asarray(x, np.float64) - mu0) @ d / norm2


def axis_bins(t: np.ndarray, lo: float = AXIS_RANGE[0], hi: float = AXIS_RANGE[1], bins: int = AXIS_BINS) -> np.ndarray:
    """Bin index [N] int32 of each t in [lo, hi) split into ``bins`` equal bins; −1 outside."""
    idx = np.floor((t - lo) / (hi - lo) * bins).astype(np.int64)
    return np.where((idx >= 0) & (idx < bins), idx, -1).astype(np.int32)


def axis_centers(lo: float = AXIS_RANGE[0], hi: float = AXIS_RANGE[1], bins: int = AXIS_BINS) -> np.ndarray:
    return lo + (np.arange(bins) + 0.5) * (hi - lo) / bins


def pca_basis(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean [D], the top two principal directions [2, D]) of inputs x [N, D] (SVD, sign fixed so the
    largest-magnitude entry of each direction is positive)."""
    x = np.asarray(x, np.float64).reshape(len(x), -1)
    mean = x.mean(0)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    comps = vt[:2]
    signs = np.sign(comps[np.arange(2), np.abs(comps).argmax(1)])
    return mean, comps * signs[:, None]


def grid_cells(coords: np.ndarray, lo: np.ndarray, hi: np.ndarray, grid: int = MAP_GRID) -> np.ndarray:
    """Cell index [N] int32 (row-major over grid × grid) of 2-D coords [N, 2] in the box [lo, hi); −1 outside."""
    ij = np.floor((coords - lo) / (hi - lo) * grid).astype(np.int64)
    inside = np.all((ij >= 0) & (ij < grid), axis=1)
    return np.where(inside, ij[:, 0] * grid + ij[:, 1], -1).astype(np.int32)


class PosteriorBinning:
    """An evaluation add-on: the posterior of each model binned along the class-mean axis and its gap to the
    target posterior binned on the PCA map, accumulated batch by batch beside the evaluator's own sums.

    axis / cells: (bin index [N] int, number of bins) of every evaluation point (−1: outside), or None.
    Accumulates ``axis`` [K, bins, 3] (count, Σ p_model(y=0), Σ p_target(y=0)) and ``map`` [K, cells, 3]
    (count, Σ gap, Σ noise-adjusted gap).
    """

    def __init__(self, axis=None, cells=None):
        self.axis, self.cells = axis, cells
        self.axis_bins = 0 if axis is None else int(axis[1])
        self.map_cells = 0 if cells is None else int(cells[1])

    @property
    def key(self) -> tuple[int, int]:
        """What changes the compiled evaluation program: the numbers of bins."""
        return self.axis_bins, self.map_cells

    def batched(self, n: int, nb: int, eb: int) -> tuple[np.ndarray, np.ndarray]:
        """(axis bins, map cells) of the N points padded to nb batches of eb, int32 [nb, eb] each (−1: none)."""
        def one(spec):
            idx = np.full(n, -1, np.int32) if spec is None else np.asarray(spec[0], np.int32)
            return np.pad(idx, (0, nb * eb - n), constant_values=-1).reshape(nb, eb)
        return one(self.axis), one(self.cells)

    def zeros(self, k: int) -> dict:
        out = {}
        if self.axis_bins:
            out["axis"] = jnp.zeros((k, self.axis_bins, 3))
        if self.map_cells:
            out["map"] = jnp.zeros((k, self.map_cells, 3))
        return out

    def update(self, acc: dict, probs, target, gap, adj, valid, axis_index, cell_index) -> dict:
        """One batch: probs [K, eb, C], target [eb, C], gap / adj [K, eb], valid [eb] bool, indices [eb]."""
        def binned(index, size, values):  # [eb] bins, [K, eb] values → [K, size]
            onehot = jax.nn.one_hot(jnp.where(valid, index, -1), size, dtype=jnp.float32)  # −1 → all zeros
            return values @ onehot

        out = {}
        counts = jnp.broadcast_to(valid.astype(jnp.float32), gap.shape)  # [K, eb]
        target0 = jnp.broadcast_to(target[:, 0], gap.shape)
        if self.axis_bins:
            out["axis"] = acc["axis"] + jnp.stack([binned(axis_index, self.axis_bins, counts),
                                                   binned(axis_index, self.axis_bins, probs[..., 0]),
                                                   binned(axis_index, self.axis_bins, target0)], -1)
        if self.map_cells:
            out["map"] = acc["map"] + jnp.stack([binned(cell_index, self.map_cells, counts),
                                                 binned(cell_index, self.map_cells, gap),
                                                 binned(cell_index, self.map_cells, adj)], -1)
        return out
