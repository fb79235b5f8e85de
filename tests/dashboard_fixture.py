"""A synthetic robustness-run workdir in the exact schemas the dashboard reads.

`write_workdir(path)` writes DIR/config.json, DIR/analysis/*.parquet and DIR/analysis/corrupted/*.npy
for a small study (2 architectures × 3 methods × 4 ratios (0 included: a method's own unpruned
model) × 1 seed plus one dense model per architecture, 3 corruptions × 3 severities, 200 samples, 10 classes, 28×28×1 images, occlusion maps for a
few samples). The numbers are random but consistent with each other: evaluation accuracies are the
means of the per-sample correctness that scores.parquet and samples.parquet hold, angles and margins
agree with the prediction, and the MST edges are a minimum spanning tree of the embedding points.

`python tests/dashboard_fixture.py DIR [--models=100 --samples=10000 --classes=100]` writes one from the shell
(numpy throughout, one eval set at a time: the 100 × 10,000 × 100 one, 1.8 GB of samples, in 30–60 s here).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

MODEL = ["architecture", "method", "ratio", "seed", "noise_seed"]


def _models(architectures, methods, ratios, seeds) -> pd.DataFrame:
    """One row per model: a dense model (ratio 0) per architecture × seed, then every method × ratio."""
    rows = []
    for arch in architectures:
        for seed in seeds:
            rows.append((arch, "dense", 0.0, seed, 0))
            for method in methods:
                for ratio in ratios:
                    rows.append((arch, method, float(ratio), seed, 0))
    return pd.DataFrame(rows, columns=MODEL)


def _mst(xy: np.ndarray) -> list[tuple[int, int, float]]:
    """A minimum spanning tree of points xy [P, 2] under the Euclidean distance (scipy), as the engine's
    embedding_edges rows (source, target, distance) over those points."""
    from scipy.sparse.csgraph import minimum_spanning_tree
    from scipy.spatial.distance import cdist

    tree = minimum_spanning_tree(cdist(xy, xy)).tocoo()
    return [(int(i), int(j), float(d)) for i, j, d in zip(tree.row, tree.col, tree.data)]


def _sets(corruptions, severities):
    """The evaluation sets (name, corruption, severity): clean, then every corruption × severity."""
    return [("clean", "clean", 0)] + [(f"{c}-{s}", c, s) for c in corruptions for s in severities]


def _correctness(rng, models, sets, difficulty, methods) -> dict:
    """Per eval set name a bool matrix [models, samples]: correct with the probability of a logistic model of
    the model's ratio and method, the severity and the sample's difficulty (shared by all models)."""
    skill = {m: 0.3 * i for i, m in enumerate(["dense", *methods])}
    ratio = models["ratio"].to_numpy(float)
    base = 2.2 - 2.0 * ratio**3 - models["method"].map(skill).to_numpy(float) * ratio
    shape = (len(models), len(difficulty))
    correct = {}
    for name, _, severity in sets:
        logit = base[:, None] - 0.35 * severity - difficulty[None, :] + rng.normal(0, 0.3, shape)
        correct[name] = rng.random(shape) < 1 / (1 + np.exp(-logit))
    return correct


def _uniform(rng, lo, hi, shape):
    """Uniform float32 draws in [lo, hi) (float32: the big fixture's angles stay 400 MB, not 800)."""
    return (lo + (hi - lo) * rng.random(shape, dtype=np.float32)).astype(np.float32)


def _geometry(rng, ok, labels, n_classes, ratio) -> dict:
    """The per model × sample measures of one eval set [M, N] agreeing with correctness `ok` [M, N]: a wrong
    prediction is another class, the angle to the own class is small when correct, the predicted class has
    the smallest angle of the two, margin and prob_own have the sign / side of the prediction. Angles
    [M, N, C] float32."""
    m, n = ok.shape
    other = (labels[None, :] + rng.integers(1, n_classes, (m, n))) % n_classes
    pred = np.where(ok, labels[None, :], other)
    angles = _uniform(rng, 70, 110, (m, n, n_classes))
    own = np.where(ok, _uniform(rng, 20, 60, (m, n)), _uniform(rng, 60, 100, (m, n)))
    np.put_along_axis(angles, np.broadcast_to(labels, (m, n))[..., None], own[..., None], axis=2)
    at_pred = np.take_along_axis(angles, pred[..., None], axis=2)[..., 0]
    below = np.where(ok, own, own - _uniform(rng, 1, 20, (m, n)))
    np.put_along_axis(angles, pred[..., None], np.minimum(at_pred, below)[..., None], axis=2)
    return {"pred": pred.astype(np.int16), "correct": ok, "angle_own": own,
            "length": (rng.gamma(4.0, 2.0, (m, n)) * (1.0 - 0.5 * ratio[:, None])).astype(np.float32),
            "margin": np.where(ok, _uniform(rng, 0.01, 5, (m, n)), -_uniform(rng, 0.01, 5, (m, n))),
            "prob_own": np.where(ok, _uniform(rng, 0.5, 1, (m, n)), _uniform(rng, 0, 0.5, (m, n))),
            "angles": angles}


def _per_sample_columns(models, n_samples) -> dict:
    """The model key columns of a model-major [models × samples] table, and `sample`."""
    columns = {k: np.repeat(models[k].to_numpy(), n_samples) for k in MODEL}
    columns["sample"] = np.tile(np.arange(n_samples), len(models))
    return columns


def _write_samples(path, models, correct, labels, geometry_sets, n_classes, rng):
    """samples.parquet: per geometry eval set (one row group each, written one set at a time) every model ×
    sample's prediction, measures and angles to every class (angle_0 … angle_{C−1}), in the engine's dtypes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    n_models, n_samples = len(models), len(labels)
    keys = _per_sample_columns(models, n_samples)
    ratio = models["ratio"].to_numpy(float)
    writer = None
    try:
        for name, corruption, severity in geometry_sets:
            g = _geometry(rng, correct[name], labels, n_classes, ratio)
            columns = {**{k: keys[k] for k in MODEL}, "eval_set": np.full(n_models * n_samples, name),
                       "corruption": np.full(n_models * n_samples, corruption),
                       "severity": np.full(n_models * n_samples, severity), "sample": keys["sample"],
                       "label": np.tile(labels, n_models)}
            columns.update({k: g[k].ravel() for k in ("pred", "correct", "angle_own", "length", "margin", "prob_own")})
            angles = g.pop("angles").reshape(n_models * n_samples, n_classes)
            columns.update({f"angle_{k}": angles[:, k] for k in range(n_classes)})
            table = pa.table({k: pa.array(np.ascontiguousarray(v)) for k, v in columns.items()})
            writer = writer or pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()


def _scores(models, correct, corruptions, severities, rng) -> pd.DataFrame:
    """scores.parquet: per model × sample the correct count per corruption (over severities), robustness (their
    sum), a pruning vulnerability and the PIE flag."""
    n_samples = next(iter(correct.values())).shape[1]
    scores = pd.DataFrame(_per_sample_columns(models, n_samples))
    per_corruption = {c: sum(correct[f"{c}-{s}"].astype(np.int64) for s in severities).ravel() for c in corruptions}
    scores["robustness"] = sum(per_corruption.values()) if per_corruption else 0
    scores["pruning_vulnerability"] = rng.integers(0, 3, len(scores))
    scores["pie"] = rng.random(len(scores)) < 0.05
    for c in corruptions:
        scores[f"correct_{c}"] = per_corruption[c]
    return scores


def _embedding(models, embed_sets, rng):
    """embedding_points (one point per model × geometry eval set, clustered by method) and embedding_edges (a
    minimum spanning tree per eval set over its points, as the engine writes: source, target, distance)."""
    centres = {m: rng.normal(0, 5, 2) for m in models.method.unique()}
    n_sets = len(embed_sets)
    points = models.loc[models.index.repeat(n_sets), MODEL].reset_index(drop=True)
    points["eval_set"] = np.tile(embed_sets, len(models))
    points["point"] = np.arange(len(points))
    xy = (np.stack([centres[m] for m in points["method"]]) + rng.normal(0, 1, (len(points), 2))
          + np.tile(np.arange(n_sets), len(models))[:, None] * 0.5)
    points["x"], points["y"] = xy[:, 0], xy[:, 1]
    trees = []
    for name, idx in points.groupby("eval_set", sort=True).indices.items():
        trees += [(int(idx[i]), int(idx[j]), d, name) for i, j, d in _mst(xy[idx])]
    return points, pd.DataFrame(trees, columns=["source", "target", "distance", "eval_set"])


def _occlusion(models, occlusion_samples, grid, rng) -> pd.DataFrame:
    """occlusion.parquet rows: per model × sample × measure a blob-shaped map on the occlusion grid, sample-major."""
    gh, gw = grid
    yy, xx = np.mgrid[0:gh, 0:gw]
    rows = []
    for model in models[MODEL].itertuples(index=False):
        for sample in occlusion_samples:
            for measure in ("angle_own", "length", "margin", "prob_own"):
                blob = np.exp(-((yy - rng.uniform(3, gh - 3)) ** 2 + (xx - rng.uniform(3, gw - 3)) ** 2) / 8.0)
                values = (blob * rng.normal(0, 1) + rng.normal(0, 0.05, (gh, gw))).ravel().tolist()
                rows.append((*model, int(sample), measure, gh, gw, values))
    occlusion = pd.DataFrame(rows, columns=[*MODEL, "sample", "measure", "height", "width", "map"])
    return occlusion.sort_values("sample", kind="stable")  # sample-major, a row group per sample (the engine's)


def _cka(models, architectures, rng) -> pd.DataFrame:
    """cka.parquet: per architecture every pair of its models' labels, 1 on the diagonal."""
    rows = []
    for arch in architectures:
        labels_ = [f"{m.method}@{m.ratio:g}/s{m.seed}n{m.noise_seed}" for m in models[models.architecture == arch].itertuples()]
        rows += [(arch, a, b, 1.0 if a == b else float(rng.uniform(0.3, 0.9))) for a in labels_ for b in labels_]
    return pd.DataFrame(rows, columns=["architecture", "model_a", "model_b", "cka"])


def _write_images(folder, labels, n_classes, image_shape, corruptions, severities, rng):
    """corrupted/clean-0.npy (digit-like: a bright band on the label's rows) and corrupted/<c>-<s>.npy (noisier)."""
    h, w, c = image_shape
    clean = rng.integers(0, 40, (len(labels), h, w, c)).astype(np.uint8)
    top = (labels * h / n_classes).astype(int)
    rows = np.arange(h)[None, :]
    band = (rows >= top[:, None]) & (rows < top[:, None] + max(2, h // n_classes))  # [N, H]
    clean[:, :, w // 4 : 3 * w // 4][band] = 230
    np.save(folder / "clean-0.npy", clean)
    for corruption in corruptions:
        for severity in severities:
            noisy = np.clip(clean.astype(int) + rng.integers(-25 * severity, 25 * severity + 1, clean.shape), 0, 255)
            np.save(folder / f"{corruption}-{severity}.npy", noisy.astype(np.uint8))


def write_workdir(
    path,
    architectures=("lenet5-w1", "fcn-w2"),
    methods=("magnitude", "snip", "random"),
    ratios=(0.0, 0.5, 0.8, 0.95),
    seeds=(0,),
    corruptions=("gaussian_noise", "fog", "rotate"),
    severities=(1, 2, 3),
    geometry_severity=3,
    n_samples=200,
    n_classes=10,
    image_shape=(28, 28, 1),
    occlusion_samples=(0, 1, 2),
    occlusion_grid=(14, 14),
    all_images=True,
    random_seed=0,
    dataset="mnist",
) -> Path:
    """Write the workdir and return its path. `all_images=False` writes only the clean images and
    those at the geometry severity (the large responsiveness fixture)."""
    rng = np.random.default_rng(random_seed)
    path = Path(path)
    analysis = path / "analysis"
    (analysis / "corrupted").mkdir(parents=True, exist_ok=True)
    config = {
        "run_id": "fixture-robustness",
        "config": {
            "experiment": "robustness_lottery_fixture",
            "data": {"name": dataset},
            "robustness": {
                "architectures": list(architectures),
                "corruptions": list(corruptions),
                "severities": list(severities),
                "geometry_severity": geometry_severity,
            },
            "prune_methods": {"methods": list(methods), "ratios": [float(r) for r in ratios]},
        },
    }
    (path / "config.json").write_text(json.dumps(config, indent=1))

    models = _models(architectures, methods, ratios, seeds)
    labels = rng.integers(0, n_classes, n_samples)
    difficulty = rng.normal(0.0, 1.0, n_samples)  # shared across models: selections matter
    sets = _sets(corruptions, severities)
    correct = _correctness(rng, models, sets, difficulty, methods)
    evaluation = pd.concat([models.assign(eval_set=name, corruption=corruption, severity=severity,
                                          accuracy=correct[name].mean(axis=1)) for name, corruption, severity in sets],
                           ignore_index=True)
    evaluation.to_parquet(analysis / "evaluation.parquet", index=False)
    geometry_sets = _sets(corruptions, (geometry_severity,))
    _write_samples(analysis / "samples.parquet", models, correct, labels, geometry_sets, n_classes, rng)
    _scores(models, correct, corruptions, severities, rng).to_parquet(analysis / "scores.parquet", index=False)

    points, edges = _embedding(models, [name for name, _, _ in geometry_sets], rng)
    points.to_parquet(analysis / "embedding_points.parquet", index=False)
    edges.to_parquet(analysis / "embedding_edges.parquet", index=False)
    occlusion = _occlusion(models, occlusion_samples, occlusion_grid, rng)
    occlusion.to_parquet(analysis / "occlusion.parquet", index=False, row_group_size=len(models) * 4)
    _cka(models, architectures, rng).to_parquet(analysis / "cka.parquet", index=False)
    _write_images(analysis / "corrupted", labels, n_classes, image_shape, corruptions,
                  severities if all_images else (geometry_severity,), rng)
    return path


def write_large_workdir(path, n_models=50, n_samples=10_000, n_classes=10) -> Path:
    """The responsiveness fixture: one architecture, a square of methods × ratios + dense ≈ n_models models (7 × 7
    + 1 = 50 by default); with 100 classes CIFAR-100's names and 32×32×3 images."""
    n_side = max(1, int(np.ceil(np.sqrt(max(1, n_models - 1)))))
    methods = [f"method{i}" for i in range(n_side)]
    ratios = list(np.round(np.linspace(0.2, 0.98, n_side), 3))
    cifar = n_classes == 100
    return write_workdir(path, architectures=("lenet5-w1",), methods=methods, ratios=ratios, n_samples=n_samples,
                         n_classes=n_classes, occlusion_samples=(0, 1, 2, 3, 4), all_images=False,
                         dataset="cifar100" if cifar else "mnist", image_shape=(32, 32, 3) if cifar else (28, 28, 1),
                         occlusion_grid=(16, 16) if cifar else (14, 14))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir")
    parser.add_argument("--models", type=int, default=0, help="write the large fixture with this many models (≈)")
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--classes", type=int, default=10)
    args = parser.parse_args()
    if args.models:
        write_large_workdir(args.workdir, args.models, args.samples, args.classes)
    else:
        write_workdir(args.workdir)
    print(os.path.abspath(args.workdir))


if __name__ == "__main__":
    main()
