"""A synthetic robustness-run workdir in the exact schemas the dashboard reads.

`write_workdir(path)` writes DIR/config.json, DIR/analysis/*.parquet and DIR/analysis/corrupted/*.npy
for a small study (2 architectures × 3 methods × 4 ratios (0 included: a method's own unpruned
model) × 1 seed plus one dense model per architecture, 3 corruptions × 3 severities, 200 samples, 10 classes, 28×28×1 images, occlusion maps for a
few samples). The numbers are random but consistent with each other: evaluation accuracies are the
means of the per-sample correctness that scores.parquet and samples.parquet hold, angles and margins
agree with the prediction, and the MST edges are a minimum spanning tree of the embedding points.

`python tests/dashboard_fixture.py DIR [--models=50 --samples=10000]` writes one from the shell.
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
    n_models = len(models)
    labels = rng.integers(0, n_classes, n_samples)
    difficulty = rng.normal(0.0, 1.0, n_samples)  # shared across models: selections matter
    method_skill = {m: 0.3 * i for i, m in enumerate(["dense", *methods])}

    eval_rows, sample_frames, score_frames = [], [], []
    sets = [("clean", "clean", 0)] + [(f"{c}-{s}", c, s) for c in corruptions for s in severities]
    for mi, model in models.iterrows():
        base = 2.2 - 2.0 * model.ratio**3 - method_skill[model.method] * model.ratio
        correct = {}
        for name, corruption, severity in sets:
            logit = base - 0.35 * severity - difficulty + rng.normal(0, 0.3, n_samples)
            correct[name] = rng.random(n_samples) < 1 / (1 + np.exp(-logit))
            eval_rows.append((*model, name, corruption, severity, float(correct[name].mean())))
        geometry_sets = [("clean", "clean", 0)] + [(f"{c}-{geometry_severity}", c, geometry_severity) for c in corruptions]
        for name, corruption, severity in geometry_sets:
            ok = correct[name]
            other = (labels + rng.integers(1, n_classes, n_samples)) % n_classes
            pred = np.where(ok, labels, other).astype(np.int16)
            angles = rng.uniform(70, 110, (n_samples, n_classes))
            own = np.where(ok, rng.uniform(20, 60, n_samples), rng.uniform(60, 100, n_samples))
            angles[np.arange(n_samples), labels] = own
            angles[np.arange(n_samples), pred] = np.minimum(angles[np.arange(n_samples), pred], np.where(ok, own, own - rng.uniform(1, 20, n_samples)))
            length = rng.gamma(4.0, 2.0, n_samples) * (1.0 - 0.5 * model.ratio)
            margin = np.where(ok, rng.uniform(0.01, 5, n_samples), -rng.uniform(0.01, 5, n_samples))
            prob = np.where(ok, rng.uniform(0.5, 1, n_samples), rng.uniform(0, 0.5, n_samples))
            frame = pd.DataFrame({k: [v] * n_samples for k, v in zip(MODEL, model)})
            frame["eval_set"], frame["corruption"], frame["severity"] = name, corruption, severity
            frame["sample"] = np.arange(n_samples)
            frame["label"] = labels
            frame["pred"] = pred
            frame["correct"] = ok
            frame["angle_own"] = own
            frame["length"] = length
            frame["margin"] = margin
            frame["prob_own"] = prob
            frame = pd.concat([frame, pd.DataFrame(angles, columns=[f"angle_{k}" for k in range(n_classes)])], axis=1)
            sample_frames.append(frame)
        scores = pd.DataFrame({k: [v] * n_samples for k, v in zip(MODEL, model)})
        scores["sample"] = np.arange(n_samples)
        per_corruption = {c: sum(correct[f"{c}-{s}"].astype(int) for s in severities) for c in corruptions}
        scores["robustness"] = sum(per_corruption.values())
        scores["pruning_vulnerability"] = rng.integers(0, 3, n_samples)
        scores["pie"] = rng.random(n_samples) < 0.05
        for c in corruptions:
            scores[f"correct_{c}"] = per_corruption[c]
        score_frames.append(scores)

    evaluation = pd.DataFrame(eval_rows, columns=[*MODEL, "eval_set", "corruption", "severity", "accuracy"])
    evaluation.to_parquet(analysis / "evaluation.parquet", index=False)
    pd.concat(sample_frames, ignore_index=True).to_parquet(analysis / "samples.parquet", index=False)
    pd.concat(score_frames, ignore_index=True).to_parquet(analysis / "scores.parquet", index=False)

    # Embedding: one point per model × geometry eval set, clustered by method, MST over all points.
    embed_sets = ["clean"] + [f"{c}-{geometry_severity}" for c in corruptions]
    centres = {m: rng.normal(0, 5, 2) for m in models.method.unique()}
    point_rows = []
    for _, model in models.iterrows():
        for ei, name in enumerate(embed_sets):
            xy = centres[model.method] + rng.normal(0, 1, 2) + ei * 0.5
            point_rows.append((*model, name, len(point_rows), float(xy[0]), float(xy[1])))
    points = pd.DataFrame(point_rows, columns=[*MODEL, "eval_set", "point", "x", "y"])
    points.to_parquet(analysis / "embedding_points.parquet", index=False)
    trees = []  # one tree per eval set, as the engine writes (its trees are over the geometry vectors)
    for name, idx in points.groupby("eval_set", sort=True).indices.items():
        for i, j, d in _mst(points[["x", "y"]].to_numpy()[idx]):
            trees.append((int(points.point.iloc[idx[i]]), int(points.point.iloc[idx[j]]), d, name))
    edges = pd.DataFrame(trees, columns=["source", "target", "distance", "eval_set"])
    edges.to_parquet(analysis / "embedding_edges.parquet", index=False)

    # Occlusion maps for a few samples and every model.
    gh, gw = occlusion_grid
    occ_rows = []
    for _, model in models.iterrows():
        for sample in occlusion_samples:
            for measure in ("angle_own", "length", "margin", "prob_own"):
                yy, xx = np.mgrid[0:gh, 0:gw]
                blob = np.exp(-((yy - rng.uniform(3, gh - 3)) ** 2 + (xx - rng.uniform(3, gw - 3)) ** 2) / 8.0)
                values = (blob * rng.normal(0, 1) + rng.normal(0, 0.05, (gh, gw))).ravel().tolist()
                occ_rows.append((*model, int(sample), measure, gh, gw, values))
    occlusion = pd.DataFrame(occ_rows, columns=[*MODEL, "sample", "measure", "height", "width", "map"])
    occlusion = occlusion.sort_values("sample", kind="stable")  # sample-major, a row group per sample (the engine's)
    occlusion.to_parquet(analysis / "occlusion.parquet", index=False, row_group_size=len(models) * 4)

    cka_rows = []
    for arch in architectures:
        labels_ = [f"{m.method}@{m.ratio:g}/s{m.seed}n{m.noise_seed}" for _, m in models[models.architecture == arch].iterrows()]
        for a in labels_:
            for b in labels_:
                cka_rows.append((arch, a, b, 1.0 if a == b else float(rng.uniform(0.3, 0.9))))
    pd.DataFrame(cka_rows, columns=["architecture", "model_a", "model_b", "cka"]).to_parquet(analysis / "cka.parquet", index=False)

    # Images: digit-like blobs, brighter on the label's row band.
    h, w, c = image_shape
    clean = rng.integers(0, 40, (n_samples, h, w, c)).astype(np.uint8)
    for i, label in enumerate(labels):
        band = slice(int(label * h / n_classes), int(label * h / n_classes) + max(2, h // n_classes))
        clean[i, band, w // 4 : 3 * w // 4] = 230
    np.save(analysis / "corrupted" / "clean-0.npy", clean)
    for corruption in corruptions:
        for severity in severities if all_images else (geometry_severity,):
            noisy = np.clip(clean.astype(int) + rng.integers(-25 * severity, 25 * severity + 1, clean.shape), 0, 255)
            np.save(analysis / "corrupted" / f"{corruption}-{severity}.npy", noisy.astype(np.uint8))
    return path


def write_large_workdir(path, n_models=50, n_samples=10_000) -> Path:
    """The responsiveness fixture: one architecture, 7 methods × 7 ratios + dense = 50 models by default."""
    n_side = max(1, int(np.ceil(np.sqrt(max(1, n_models - 1)))))
    methods = [f"method{i}" for i in range(n_side)]
    ratios = list(np.round(np.linspace(0.2, 0.98, n_side), 3))
    return write_workdir(path, architectures=("lenet5-w1",), methods=methods, ratios=ratios, n_samples=n_samples,
                         occlusion_samples=(0, 1, 2, 3, 4), all_images=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir")
    parser.add_argument("--models", type=int, default=0, help="write the large fixture with this many models (≈)")
    parser.add_argument("--samples", type=int, default=10_000)
    args = parser.parse_args()
    if args.models:
        write_large_workdir(args.workdir, args.models, args.samples)
    else:
        write_workdir(args.workdir)
    print(os.path.abspath(args.workdir))


if __name__ == "__main__":
    main()
