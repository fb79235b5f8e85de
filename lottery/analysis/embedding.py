"""The geometric similarity view's data (docs/science.md §8, §9.2): one vector per (model, evaluation set) made of
its per-sample angle to the own class, feature length and margin, projected to 2-D with UMAP and
joined by a minimum spanning tree.

Host-side numpy / umap-learn / scipy; deterministic for a given seed.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.sparse import csgraph
from scipy.spatial import distance

BLOCKS = ("angle_own", "length", "margin")


def _standardise(block: np.ndarray, name: str) -> np.ndarray:
    if not np.all(np.isfinite(block)):
        raise ValueError(f"geometric vectors: {name} has non-finite values (an infinite margin? see geometry.measures)")
    sd = block.std()
    return (block - block.mean()) / sd if sd > 0 else np.zeros_like(block)


def geometric_vectors(angle_own, length, margin) -> np.ndarray:
    """[P, 3N] float64: each point p (one model on one evaluation set of N samples) is the concatenation
    of its angle_own [N], length [N] and margin [N] (inputs [P, N] each).

    Each of the three blocks is standardised as a whole — minus its mean and divided by its standard
    deviation over all P × N entries — so degrees, feature-norm units and margin units weigh alike,
    while differences between points and between samples inside a block keep their relative sizes
    (a per-column z-score would blow up samples on which all models agree). A constant block becomes 0.
    Non-finite values → ValueError.
    """
    blocks = [np.asarray(b, np.float64) for b in (angle_own, length, margin)]
    shapes = {b.shape for b in blocks}
    if len(shapes) != 1 or blocks[0].ndim != 2:
        raise ValueError(f"geometric vectors: angle_own, length, margin must share one shape [P, N], got "
                         f"{[list(b.shape) for b in blocks]}")
    return np.concatenate([_standardise(b, n) for b, n in zip(blocks, BLOCKS)], axis=1)


def _pca_2d(vectors: np.ndarray) -> np.ndarray:
    """First two principal coordinates [P, 2] (zero-padded when the points span fewer dimensions);
    each axis' sign fixed so its largest-magnitude coordinate is positive."""
    X = vectors - vectors.mean(0)
    out = np.zeros((X.shape[0], 2))
    if X.shape[0] > 1 and np.any(X):
        U, S, _ = np.linalg.svd(X, full_matrices=False)
        k = min(2, int(np.sum(S > S[0] * 1e-12)))
        coords = U[:, :k] * S[:k]
        signs = np.sign(coords[np.argmax(np.abs(coords), axis=0), np.arange(k)])
        out[:, :k] = coords * np.where(signs == 0, 1.0, signs)
    return out


def umap_2d(vectors, seed: int) -> np.ndarray:
    """2-D UMAP layout [P, 2] of vectors [P, D] (Euclidean; init='pca', random_state=seed,
    n_neighbors=min(15, P − 1)). With a random_state umap-learn runs its optimisation single-threaded,
    so the layout is the same run to run and process to process for a given seed.

    With P < 4 points UMAP's neighbour graph is degenerate (it needs ≥ 2 neighbours and spectral or
    PCA structure), so the layout is the first two principal coordinates instead (zeros for P = 1).
    """
    X = np.asarray(vectors, np.float64)
    if X.ndim != 2:
        raise ValueError(f"umap_2d: vectors must be [P, D], got shape {list(X.shape)}")
    if X.shape[0] < 4:
        return _pca_2d(X)
    import umap  # slow import (numba); only here

    reducer = umap.UMAP(n_components=2, n_neighbors=min(15, X.shape[0] - 1), init="pca", random_state=int(seed),
                        metric="euclidean", n_jobs=1)
    with warnings.catch_warnings():  # "n_jobs overridden to 1 by setting random_state": intended
        warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)
        return np.asarray(reducer.fit_transform(X), np.float64)


def minimum_spanning_tree(vectors):
    """Minimum spanning tree of the points vectors [P, D] under Euclidean distance in the ORIGINAL
    D-dimensional space → (edges int64 [P − 1, 2] with i < j, weights float64 [P − 1]), sorted by
    (weight, i, j).

    The tree is built before any projection because UMAP keeps neighbourhoods, not distances: drawn
    over the UMAP layout, the tree shows which points are truly nearest, including where the 2-D
    picture tears apart or folds together.

    scipy's csgraph reads a zero entry as "no edge", so coincident points would disconnect the graph;
    the tree is computed on distance + c (c > 0, the smallest positive distance) for every pair —
    every spanning tree has P − 1 edges, so a constant shift leaves the minimum tree unchanged — and
    the weights returned are the true distances.
    """
    X = np.asarray(vectors, np.float64)
    P = X.shape[0]
    if P < 2:
        return np.zeros((0, 2), np.int64), np.zeros(0)
    D = distance.squareform(distance.pdist(X, "euclidean"))
    positive = D[D > 0]
    c = positive.min() if positive.size else 1.0
    shifted = D + c
    np.fill_diagonal(shifted, 0.0)
    tree = csgraph.minimum_spanning_tree(shifted).tocoo()
    edges = np.sort(np.stack([tree.row, tree.col], axis=1), axis=1).astype(np.int64)
    weights = D[edges[:, 0], edges[:, 1]]
    order = np.lexsort((edges[:, 1], edges[:, 0], weights))
    return edges[order], weights[order]


def tables(coords, edges, weights, points: dict | None = None):
    """(points DataFrame: point, x, y and the columns of ``points`` (e.g. model, eval_set, ratio — [P]
    each); edges DataFrame: source, target, weight) for the similarity view."""
    coords = np.asarray(coords)
    pts = pd.DataFrame({"point": np.arange(len(coords)), "x": coords[:, 0], "y": coords[:, 1]})
    for name, col in (points or {}).items():
        pts[name] = np.asarray(col)
    edges = np.asarray(edges)
    eds = pd.DataFrame({"source": edges[:, 0], "target": edges[:, 1], "weight": np.asarray(weights)})
    return pts, eds
