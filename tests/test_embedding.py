"""Geometric vectors, their UMAP layout and minimum spanning tree (docs/science.md §8, §9.2).

The UMAP layout must be identical in two separate processes (the test runs a small script twice in
subprocesses, in parallel). Its cost is umap-learn's first import and fit: numba compiles its
kernels, ~25 s on a cold cache and ~10 s with the on-disk cache warm, per process.
The tree is checked against a brute-force Prim's algorithm written in numpy.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from lottery.analysis import embedding

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _prim(X):
    """Total weight of a minimum spanning tree of the points X by Prim's algorithm (O(P²) loop)."""
    P = len(X)
    D = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    in_tree = np.zeros(P, bool)
    in_tree[0] = True
    best = D[0].copy()
    total = 0.0
    for _ in range(P - 1):
        j = int(np.argmin(np.where(in_tree, np.inf, best)))
        total += best[j]
        in_tree[j] = True
        best = np.minimum(best, D[j])
    return total


def _spans(edges, P):
    parent = list(range(P))

    def find(a):
        while parent[a] != a:
            a = parent[a]
        return a

    for i, j in edges:
        parent[find(i)] = find(j)
    return len({find(a) for a in range(P)}) == 1


@pytest.mark.parametrize("P,D,duplicates", [(12, 5, False), (20, 3, True), (2, 4, False)])
def test_minimum_spanning_tree(P, D, duplicates):
    X = np.random.default_rng(P).normal(size=(P, D))
    if duplicates:  # coincident points: distance 0 must stay an edge
        X[5] = X[3]
        X[7] = X[3]
    edges, weights = embedding.minimum_spanning_tree(X)
    assert edges.shape == (P - 1, 2) and weights.shape == (P - 1,)
    assert np.all(edges[:, 0] < edges[:, 1])
    assert _spans(edges, P)
    np.testing.assert_allclose(weights, np.linalg.norm(X[edges[:, 0]] - X[edges[:, 1]], axis=1), rtol=1e-12)
    np.testing.assert_allclose(weights.sum(), _prim(X), rtol=1e-12)
    if duplicates:
        assert np.sum(weights == 0) == 2


def test_geometric_vectors():
    rng = np.random.default_rng(0)
    angle = rng.uniform(30, 120, size=(4, 6))
    length = rng.uniform(0, 1000, size=(4, 6))
    margin = np.full((4, 6), 2.5)
    v = embedding.geometric_vectors(angle, length, margin)
    assert v.shape == (4, 18)
    np.testing.assert_allclose(v[:, :6], (angle - angle.mean()) / angle.std())
    np.testing.assert_allclose(v[:, 6:12], (length - length.mean()) / length.std())
    np.testing.assert_array_equal(v[:, 12:], 0.0)  # constant block
    with pytest.raises(ValueError, match="margin has non-finite"):
        embedding.geometric_vectors(angle, length, np.where(margin > 0, np.inf, margin))
    with pytest.raises(ValueError, match="share one shape"):
        embedding.geometric_vectors(angle, length, margin[:, :3])


def test_small_populations_fall_back_to_pca():
    X = np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    Y = embedding.umap_2d(X, seed=0)
    assert Y.shape == (3, 2)
    D = lambda A: np.linalg.norm(A[:, None] - A[None], axis=-1)  # noqa: E731
    np.testing.assert_allclose(D(Y), D(X), atol=1e-12)  # three points lie in a plane: distances kept
    np.testing.assert_array_equal(embedding.umap_2d(X[:1], seed=0), np.zeros((1, 2)))
    pts, eds = embedding.tables(Y, *embedding.minimum_spanning_tree(X), {"model": ["a", "b", "c"]})
    assert list(pts.columns) == ["point", "x", "y", "model"] and len(eds) == 2
    assert list(eds.columns) == ["source", "target", "weight"]


SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    from lottery.analysis import embedding
    rng = np.random.default_rng(0)
    shape = (30, 40)
    v = embedding.geometric_vectors(rng.uniform(0, 180, shape), rng.gamma(2.0, size=shape), rng.normal(size=shape))
    np.save(sys.argv[1], embedding.umap_2d(v, seed=7))
""")


def test_umap_is_identical_across_processes(tmp_path):
    script = tmp_path / "layout.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    outs = [tmp_path / f"layout{i}.npy" for i in range(2)]
    procs = [subprocess.Popen([sys.executable, str(script), str(o)], env=env, stderr=subprocess.PIPE) for o in outs]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()[-2000:]
    a, b = (np.load(o) for o in outs)
    assert a.shape == (30, 2) and np.all(np.isfinite(a))
    np.testing.assert_array_equal(a, b)


def test_embed_gives_one_tree_per_eval_set_in_the_geometry_space():
    """robustness_tables.embed: a tree per evaluation set over that set's geometry vectors (not the 2-D
    layout), its weight Prim's on those vectors; coincident points stay joined at distance 0."""
    import pandas as pd

    from lottery.studies.robustness import tables as robustness_tables
    from lottery.studies.robustness.populations import KEYS

    rng = np.random.default_rng(7)
    n, sets, models = 6, ("clean", "fog-3", "rotate-3"), 5
    rows = []
    for m in range(models):
        for s in sets:
            values = rng.normal(size=(3, n))
            if s == "fog-3" and m == 1:  # coincident with model 0's fog-3 point
                values = first
            if s == "fog-3" and m == 0:
                first = values
            rows.append(pd.DataFrame({"architecture": "a", "method": "magnitude", "ratio": 0.1 * m, "seed": 0,
                                      "noise_seed": 0, "eval_set": s, "sample": np.arange(n),
                                      "angle_own": values[0], "length": values[1], "margin": values[2]}))
    samples = pd.concat(rows, ignore_index=True)
    points, edges = robustness_tables.embed(samples, seed=0)
    assert sorted(edges.eval_set.unique()) == sorted(sets) and len(edges) == len(points) - len(sets)
    ordered = samples.sort_values(KEYS + ["eval_set", "sample"], kind="stable")
    vectors = embedding.geometric_vectors(*(ordered[k].to_numpy(np.float32).reshape(len(points), n)
                                            for k in ("angle_own", "length", "margin")))
    for s in sets:
        ids = points.point[points.eval_set == s].to_numpy()
        tree = edges[edges.eval_set == s]
        assert set(tree.source) | set(tree.target) <= set(ids)
        assert _spans(np.searchsorted(ids, tree[["source", "target"]].to_numpy()), len(ids))
        np.testing.assert_allclose(tree.distance.sum(), _prim(vectors[ids]), rtol=1e-9)
        np.testing.assert_allclose(tree.distance, np.linalg.norm(vectors[tree.source] - vectors[tree.target], axis=1))
    assert (edges[edges.eval_set == "fog-3"].distance == 0).sum() == 1
