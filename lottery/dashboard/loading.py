"""Reading a robustness workdir for the dashboard: which files it needs, the class names, and `load`, which
builds the `LoadedAnalysis` once (tables, model list, per-model correctness matrices, per-model sample groups).

Reads only DIR/config.json and DIR/analysis/ (Parquet tables and corrupted/*.npy images), through the store's
readers (`lottery.store.workdir`, `lottery.store.analysis`). Everything the server computes per request is a
pure function of the loaded frames (accuracy_table, class_ranking, sample_frames, spanning_tree, attribution).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pandas as pd

from lottery.dashboard.accuracy_table import correctness
from lottery.dashboard.model_index import MODEL, model_list
from lottery.dashboard.sample_frames import angle_columns
from lottery.store import analysis as store
from lottery.store import workdir as wd

TABLES = ("evaluation", "samples", "scores", "embedding_points", "embedding_edges", "occlusion")
COMMAND = "python -m lottery.main --config=experiments/robustness_lottery_mnist.py:quick --workdir={workdir}"


class MissingData(Exception):
    """The workdir, its config.json or some analysis tables are missing; `missing` lists the paths."""

    def __init__(self, workdir, missing):
        self.workdir, self.missing = str(workdir), list(missing)
        super().__init__(f"{workdir}: missing {', '.join(self.missing)}")

    @property
    def command(self) -> str:
        """The command that writes the tables into this workdir."""
        return COMMAND.format(workdir=self.workdir)


def missing_files(workdir) -> list[str]:
    """The paths (relative to the workdir) the dashboard needs and cannot find; [] when all are there."""
    workdir = str(Path(workdir))
    if not os.path.isdir(workdir):
        return [workdir + "/ (no such directory)"]
    needed = ([wd.config_path(workdir)] + [store.table_path(workdir, t) for t in TABLES]
              + [store.eval_set_images_path(workdir, "clean")])
    missing = [os.path.relpath(p, workdir) for p in needed if not os.path.exists(p)]
    edges = "embedding_edges"
    if os.path.exists(store.table_path(workdir, edges)) and "eval_set" not in store.table_columns(workdir, edges):
        # one tree over every set: an older analysis
        missing.append("analysis/embedding_edges.parquet's eval_set column (a tree per eval set; rerun the command)")
    return missing


# Class names of the datasets the engine knows (config.json's data.name); others are numbered.
CLASS_NAMES = {
    "mnist": [str(k) for k in range(10)],
    "fashion_mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                      "Ankle boot"],
    "cifar10": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
    "cifar100": """apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly camel
        can castle caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup dinosaur dolphin
        elephant flatfish forest fox girl hamster house kangaroo keyboard lamp lawn_mower leopard lion lizard lobster
        man maple_tree motorcycle mountain mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck
        pine_tree plain plate poppy porcupine possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk
        skyscraper snail snake spider squirrel streetcar sunflower sweet_pepper table tank telephone television tiger
        tractor train trout tulip turtle wardrobe whale willow_tree wolf woman worm""".split(),
    "cifar100_coarse": """aquatic_mammals fish flowers food_containers fruit_and_vegetables household_electrical_devices
        household_furniture insects large_carnivores large_man-made_outdoor_things large_natural_outdoor_scenes
        large_omnivores_and_herbivores medium_mammals non-insect_invertebrates people reptiles small_mammals trees
        vehicles_1 vehicles_2""".split(),
}


def class_names(config: dict, n_classes: int) -> list[str]:
    """The class names of a run (config.json): data.class_names when given, else the known dataset's (first
    n_classes, as data.classes keeps the first k; cifar100 with data.label_kind 'coarse': its 20 superclasses),
    else 'class k'."""
    data_cfg = config.get("config", {}).get("data", {})
    known = str(data_cfg.get("name", "")).replace("-", "_")
    if data_cfg.get("label_kind") == "coarse":
        known += "_coarse"
    names = list(data_cfg.get("class_names") or CLASS_NAMES.get(known, []))
    return [names[k] if k < len(names) else f"class {k}" for k in range(n_classes)]


@dataclasses.dataclass
class LoadedAnalysis:
    """The analysis of one robustness run as the dashboard holds it: the config, the tables and what every request
    needs precomputed."""

    workdir: Path
    config: dict
    evaluation: pd.DataFrame
    samples: pd.DataFrame
    scores: pd.DataFrame
    points: pd.DataFrame
    edges: pd.DataFrame
    occlusion_samples: list  # the samples with occlusion maps, ascending
    models: pd.DataFrame
    corruptions: list
    methods: list
    n_severities: int
    n_classes: int
    eval_sets: list
    sample_ids: np.ndarray
    matrices: dict
    groups: dict  # (model id, eval_set) → row positions in samples (a slice where they are contiguous)
    class_names: list
    ratios: list  # the pruned ratios of the table's x axis, ascending (0 included when a method has it)

    def model_samples(self, model_id: int, eval_set: str) -> pd.DataFrame:
        """The samples.parquet rows of one model on one eval set (empty when absent)."""
        idx = self.groups.get((int(model_id), eval_set))
        return self.samples.iloc[idx] if idx is not None else self.samples.iloc[:0]

    def occlusion(self, sample: int) -> pd.DataFrame:
        """The occlusion.parquet rows of one sample (every model × measure; empty when it has no maps). The
        table is sample-major with a row group per sample, so only that sample's group is read: the maps of
        every analysed sample need not fit in memory."""
        return store.read_table(str(self.workdir), "occlusion", filters=[("sample", "==", int(sample))])

    def images(self, eval_set: str):
        """The uint8 images of an eval set (memory-mapped), or None when its .npy is absent."""
        return store.eval_set_images(str(self.workdir), eval_set)


def _positions(idx: np.ndarray):
    """Row positions as a slice when they are one ascending run (as the engine writes samples.parquet: a model's
    rows of one eval set together), so that selecting them is a view, not a copy of ~100 columns; else as given."""
    if len(idx) and idx[-1] - idx[0] == len(idx) - 1 and (np.diff(idx) == 1).all():
        return slice(int(idx[0]), int(idx[-1]) + 1)
    return idx


def load(workdir) -> LoadedAnalysis:
    """Read the workdir's config and analysis tables (raises MissingData naming what is absent)."""
    workdir = Path(workdir)
    missing = missing_files(workdir)
    if missing:
        raise MissingData(workdir, missing)
    config = wd.read_config(str(workdir))
    cfg = config.get("config", {})
    read = lambda name: store.read_table(str(workdir), name, categorical=name == "samples")  # noqa: E731
    evaluation, samples, scores = read("evaluation"), read("samples"), read("scores")
    for col in samples.columns:
        if samples[col].dtype == np.float64 and col not in MODEL:
            samples[col] = samples[col].astype(np.float32)
    models = model_list(pd.concat([evaluation[MODEL], scores[MODEL].drop_duplicates()], ignore_index=True))
    robustness = cfg.get("robustness", {})
    corruptions = list(robustness.get("corruptions") or sorted(set(evaluation["corruption"]) - {"clean"}))
    corruptions = [c for c in corruptions if f"correct_{c}" in scores.columns]
    n_severities = len(robustness.get("severities") or []) or int(evaluation.loc[evaluation.severity > 0, "severity"].nunique()) or 1
    methods = [m for m in (cfg.get("prune_methods", {}).get("methods") or []) if m != "dense"]
    methods = methods or sorted(set(evaluation["method"]) - {"dense"})
    sample_ids, matrices = correctness(models, samples, scores, corruptions, n_severities)
    keyed = samples[MODEL].drop_duplicates().merge(models[MODEL + ["id"]], on=MODEL)
    to_id = {tuple(r[:-1]): r[-1] for r in keyed.itertuples(index=False)}
    groups = {}
    for key, idx in samples.groupby(MODEL + ["eval_set"], sort=False, observed=True).indices.items():
        groups[(int(to_id[tuple(key[:-1])]), key[-1])] = _positions(idx)
    eval_sets = ["clean"] + sorted(set(samples["eval_set"]) - {"clean"})
    n_classes = len(angle_columns(samples)) or int(samples["label"].max()) + 1
    ratios = sorted(float(r) for r in set(models.loc[models["method"] != "dense", "ratio"]))
    occlusion_samples = store.read_table(str(workdir), "occlusion", columns=["sample"])["sample"]
    occlusion_samples = sorted(int(v) for v in set(occlusion_samples))
    return LoadedAnalysis(workdir, config, evaluation, samples, scores, read("embedding_points"),
                          read("embedding_edges"), occlusion_samples, models,
                          corruptions, methods, n_severities, n_classes, eval_sets, sample_ids, matrices, groups,
                          class_names(config, n_classes), ratios)
