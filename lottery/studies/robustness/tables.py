"""The last stage of a robustness run: the tables of ``DIR/analysis`` the report and the dashboard read, written
through :mod:`lottery.store.analysis` once every population's part exists —

* ``evaluation``, ``samples``, ``scores``, ``correlations``: the parts' tables concatenated in part order;
  ``occlusion`` the same, sorted by sample (one Parquet row group per sample);
* ``cka``: linear CKA between the clean features of every pair of models of an architecture;
* ``embedding_points`` / ``embedding_edges``: UMAP of the per-(model, evaluation set) geometry vectors and a
  minimum spanning tree per evaluation set over its vectors;
* ``dimensionality``: the curse-of-dimensionality check (:mod:`lottery.studies.robustness.dimensionality`), itself a
  part, made once.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pandas as pd

from lottery.analysis import embedding, similarity
from lottery.store import analysis as store
from lottery.studies.robustness.analyser import METRICS
from lottery.studies.robustness.dimensionality import dimension_table
from lottery.studies.robustness.eval_sets import RobustnessEvalSets
from lottery.studies.robustness.populations import KEYS


def write_tables(config, workdir: str, parts: list[str], dataset, sets: RobustnessEvalSets, log) -> None:
    """The merged tables of the parts ``parts`` ("<tag>-<method>", in run order), the CKA matrices, the similarity
    embedding and the dimensionality check."""
    r = config.robustness
    for table in ("evaluation", "samples", "scores", "correlations"):
        store.write_table(workdir, table, store.gather(workdir, parts, table))
    occ = store.gather(workdir, parts, "occlusion")
    if len(occ):  # sample-major, one row group per sample: the dashboard reads one sample's maps alone
        occ = occ.sort_values("sample", kind="stable").reset_index(drop=True)
    store.write_table(workdir, "occlusion", occ, row_group_size=max(1, len(occ) // max(1, occ["sample"].nunique()))
                      if len(occ) else None)
    store.write_table(workdir, "cka", cka_table(workdir, parts))
    samples = store.load(workdir, "samples")
    points, edges = embed(samples, int(r.umap_seed))
    store.write_table(workdir, "embedding_points", points)
    store.write_table(workdir, "embedding_edges", edges)
    if not store.part_done(workdir, "dimensionality"):
        store.write_part(workdir, "dimensionality", {"dimensionality": dimension_table(config, dataset, sets, log)}, {})
    store.write_table(workdir, "dimensionality", store.part_table(workdir, "dimensionality", "dimensionality"))
    log(f"analysis tables: {store.root(workdir)}")


def cka_table(workdir: str, parts: list[str]) -> pd.DataFrame:
    """Linear CKA between the clean features of every pair of models of each architecture: rows architecture,
    model_a, model_b ("method@ratio/sSEEDnNOISE"), cka; P² rows for P models of an architecture."""
    frames = []
    by_arch: dict[str, list[str]] = {}
    for part in parts:
        arch = part.rsplit("-", 1)[0]
        by_arch.setdefault(arch, []).append(part)
    for arch, names in by_arch.items():
        keys = pd.concat([store.part_table(workdir, n, "evaluation").query("eval_set == 'clean'")[KEYS]
                          for n in names], ignore_index=True)
        feats = np.concatenate([store.part_array(workdir, n, "feats") for n in names])
        matrix = np.asarray(similarity.cka_matrix(jnp.asarray(feats)))
        label = [f"{k.method}@{k.ratio:g}/s{k.seed}n{k.noise_seed}" for k in keys.itertuples()]
        i, j = np.indices(matrix.shape).reshape(2, -1)
        frames.append(pd.DataFrame({"architecture": arch, "model_a": np.asarray(label)[i],
                                    "model_b": np.asarray(label)[j], "cka": matrix.ravel()}))
    return pd.concat(frames, ignore_index=True)


def embed(samples: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The geometric-similarity embedding: one point per (model, evaluation set), its vector [3N] the set's
    standardised geometry (embedding.geometric_vectors over every point) → (points: keys, eval_set, point,
    x, y of one UMAP layout of all points; edges: source, target (point ids), distance, eval_set — one
    minimum spanning tree per evaluation set over that set's vectors in the original 3N-dimensional space,
    P_set − 1 edges each)."""
    group = KEYS + ["eval_set"]
    samples = samples.sort_values(group + ["sample"], kind="stable")
    points = samples.groupby(group, sort=False).size().reset_index()[group]
    n = samples["sample"].nunique()
    blocks = {m: samples[m].to_numpy(np.float32).reshape(len(points), n) for m in METRICS}
    vectors = np.asarray(embedding.geometric_vectors(blocks["angle_own"], blocks["length"], blocks["margin"]))
    xy = np.asarray(embedding.umap_2d(vectors, seed))
    points = points.assign(point=np.arange(len(points)), x=xy[:, 0], y=xy[:, 1])
    trees = []
    for name, idx in points.groupby("eval_set", sort=True).indices.items():
        edges, weights = embedding.minimum_spanning_tree(vectors[idx])
        trees.append(pd.DataFrame({"source": idx[edges[:, 0]], "target": idx[edges[:, 1]],
                                   "distance": np.asarray(weights), "eval_set": name}))
    return points, pd.concat(trees, ignore_index=True)
