"""Study B's robustness lottery (``config.kind = "robustness"``, docs/science.md §8): for every architecture of
``robustness.architectures`` (:mod:`lottery.studies.robustness.configs`), the populations of a pruning-method run,
each in four stages —

1. trained: the dense models, every method at every ratio, the survivors fine-tuned, the result rows written
   (:mod:`lottery.studies.robustness.populations`);
2. evaluated on the clean test examples and every corruption × severity (:mod:`lottery.studies.robustness.eval_sets`)
   through the geometry of its last feature layer (:mod:`lottery.studies.robustness.analyser`);
3. analysed: scores and correlations (:mod:`lottery.studies.robustness.scores`), occlusion maps
   (:mod:`lottery.studies.robustness.occlusion`);
4. written as one resumable part (``lottery.store.analysis``: a killed run redoes only the population it was in) —

then the merged and cross-model tables (CKA, UMAP + MST, dimensionality: :mod:`lottery.studies.robustness.tables`)."""
from __future__ import annotations

import dataclasses
import os
import time

import jax.numpy as jnp
import ml_collections
import numpy as np
import pandas as pd

from lottery import validate
from lottery.data import catalog as data_catalog
from lottery.data import corruptions
from lottery.core.errors import ConfigError
from lottery.models import registry as model_registry
from lottery.report import robustness_section
from lottery.store import analysis as store, result_tables
from lottery.store.result_tables import DENSE
from lottery.studies import prune_methods
from lottery.studies.interface import Run, Study
from lottery.studies.prune_methods.populations import KEYS as METHOD_KEYS
from lottery.studies.robustness.analyser import METRICS, Analyser, analyser_of, evaluate_sets
from lottery.studies.robustness.configs import architecture_configs, architectures, check_each_architecture
from lottery.studies.robustness.eval_sets import RobustnessEvalSets
from lottery.studies.robustness.occlusion import occlusion_batch_size, occlusion_table
from lottery.studies.robustness.populations import Architecture, rows_path
from lottery.studies.robustness.scores import score_tables
from lottery.studies.robustness.tables import write_tables


def check_section(c) -> None:
    """The ``robustness`` section."""
    r = c.robustness
    if isinstance(r.architectures, str) or not r.architectures:
        raise ConfigError("robustness.architectures", f"must be a non-empty list of 'model:width', got {r.architectures!r}")
    for a in r.architectures:
        name, sep, width = str(a).partition(":")
        if not sep or not width.isdigit() or int(width) < 1:
            raise ConfigError("robustness.architectures", f"entries are 'model:width' with a width ≥ 1, got {a!r}")
        try:
            model_registry.get(name)
        except ValueError:
            raise ConfigError("robustness.architectures", f"unknown model {name!r} in {a!r}; allowed: "
                                                          f"{', '.join(model_registry.NAMES)}") from None
    if len(set(r.architectures)) != len(r.architectures):
        raise ConfigError("robustness.architectures", f"must not repeat an entry, got {tuple(r.architectures)!r}")
    validate.choices("robustness.corruptions", r.corruptions, corruptions.ALL, "corruptions")
    validate.ints("robustness.severities", r.severities, 1, "severities 1…5")
    if max(r.severities) > 5:
        raise ConfigError("robustness.severities", f"severities are 1…5, got {tuple(r.severities)!r}")
    if not validate.is_int(r.geometry_severity) or not (r.geometry_severity == 0 or r.geometry_severity in r.severities):
        raise ConfigError("robustness.geometry_severity", f"must be 0 (clean only) or one of robustness.severities "
                                                          f"{tuple(r.severities)}, got {r.geometry_severity!r}")
    for field in ("seed", "train_examples", "test_examples", "umap_seed"):
        validate.count(f"robustness.{field}", r[field], 0)
    if not validate.is_int(r.occlusion_samples) or r.occlusion_samples < -1:
        raise ConfigError("robustness.occlusion_samples", f"must be a count ≥ 0 or -1 (every analysed sample), "
                                                          f"got {r.occlusion_samples!r}")
    validate.positive("robustness.occlusion_patch", r.occlusion_patch, integer=True)
    validate.positive("robustness.occlusion_stride", r.occlusion_stride, integer=True)
    validate.ints("robustness.random_dims", r.random_dims, 2, "dimensions ≥ 2")
    if isinstance(r.dimension_widths, str) or any(not validate.is_int(w) or w < 1 for w in r.dimension_widths):
        raise ConfigError("robustness.dimension_widths", f"must be a list of LeNet-5 widths ≥ 1, got {r.dimension_widths!r}")
    if not validate.is_real(r.report_ratio) or r.report_ratio not in tuple(c.prune_methods.ratios):
        raise ConfigError("robustness.report_ratio", f"must be one of prune_methods.ratios {tuple(c.prune_methods.ratios)}, "
                                                     f"got {r.report_ratio!r}")
    if c.data.name in data_catalog.GMM_LAYOUTS:
        raise ConfigError("data.name", f"the robustness study corrupts images; {c.data.name} gives vectors")


def section() -> ml_collections.ConfigDict:
    """The ``robustness`` section at its defaults (MNIST-C's set: the 19 CIFAR-10-C types and MNIST-C's own 9)."""
    r = ml_collections.ConfigDict()
    r.architectures = ("lenet5:1",)  # "model:width", each with the whole method × ratio grid
    r.corruptions = corruptions.ALL  # corruptions.CIFAR_C: the 19 types of CIFAR-10-C
    r.severities = (1, 2, 3, 4, 5)
    r.seed = 0  # the corruptions' random draws
    r.train_examples = 0  # the first n training examples (0: all)
    r.test_examples = 0  # the first n test examples, clean and corrupted, analysed per sample (0: all)
    r.geometry_severity = 3  # the corrupted sets kept per sample (samples table, embedding, dashboard); 0: clean only
    r.occlusion_samples = 8  # occlusion maps of the first n test examples, every model (-1: every analysed one)
    r.occlusion_patch = 4
    r.occlusion_stride = 2
    r.umap_seed = 0
    r.random_dims = (2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048)
    r.dimension_widths = (1, 2, 4, 8)  # LeNet-5 widths of the curse-of-dimensionality check (feature width 84·W)
    r.report_ratio = 0.5  # the prune ratio of the report's correlation tables
    return r


def _population(run: Run, arch: Architecture, analyser: Analyser, sets: RobustnessEvalSets, method: str) -> str:
    """The population ``method`` of ``arch`` through the four stages into part "<tag>-<method>" (skipped when the part
    and its result rows are whole; a damaged one is analysed again); returns the part's name."""
    config, workdir, r = run.config, run.workdir, run.config.robustness
    part = f"{arch.tag}-{method}"
    if store.part_done(workdir, part) and result_tables.intact(rows_path(workdir, part)):
        run.log(f"  {method}: analysed already")
        return part
    t0 = time.perf_counter()
    pop = arch.train(method, bool(int(config.prune_methods.retrain_epochs)), t0)
    keys = arch.keys(method)
    out = evaluate_sets(analyser, pop.params, pop.stats, sets, keys, int(r.geometry_severity))
    occ_batch = occlusion_batch_size(r, run.dataset.input_shape, int(config.train.eval_batch_size))
    fill = jnp.asarray(run.dataset.black, jnp.float32)
    tables = {"evaluation": out["evaluation"], "samples": out["samples"],
              **score_tables(workdir, arch.tag, method, keys, len(arch.populations.members), out, sets.names,
                             run.dataset.num_classes),
              "occlusion": occlusion_table(arch.module, arch.head, pop.params, pop.stats, sets, keys, r, fill,
                                           arch.loop, occ_batch)}
    clean = out["clean"]
    store.write_part(workdir, part, tables, {"feats": clean["feats"].astype(np.float32), "pred": clean["pred"],
                                             **{m: clean[m] for m in METRICS}})
    acc = out["evaluation"].groupby("corruption", sort=False).accuracy.mean()
    run.log(f"  {method}: {time.perf_counter() - t0:.1f}s, accuracy clean {100 * acc['clean']:.1f}%, "
            f"corrupted {100 * acc.drop('clean').mean():.1f}% (mean over sets and models)")
    return part


class Robustness(Study):
    kind = "robustness"
    non_result_keys = ("robustness.report_ratio",)  # which ratio the report tabulates
    procedure = prune_methods.PROCEDURE  # the pruning-method procedure of every architecture

    def sections(self) -> dict:
        p = prune_methods.section()
        p.methods = ("random", "magnitude", "snip", "taylor1", "biprop", "edge_popup")
        return {"prune_methods": p, "robustness": section()}

    def defaults(self) -> ml_collections.ConfigDict:
        return prune_methods.defaults_of(self)

    def plan(self, config, dataset, labels, backend):
        for label, arch in architecture_configs(config):
            yield from prune_methods.plan_buckets(self.kind, arch, dataset, labels, backend, label)

    def check(self, c) -> None:
        check_section(c)
        check_each_architecture(c, prune_methods.check)

    def models(self, c) -> list:
        return [validate.model_spec(arch) for _, arch in architecture_configs(c)]

    def prepare(self, c, dataset):
        """The first ``robustness.train_examples`` / ``test_examples`` examples (0: all)."""
        r = c.robustness
        ntr, nte = int(r.train_examples) or dataset.train_size, int(r.test_examples) or int(dataset.y_test.shape[0])
        return dataclasses.replace(dataset, x_train=dataset.x_train[:ntr], y_train=dataset.y_train[:ntr],
                                   x_test=dataset.x_test[:nte], y_test=dataset.y_test[:nte])

    def check_data(self, c, dataset) -> None:
        check_each_architecture(c, lambda arch: prune_methods.check_data(arch, dataset))
        if len(dataset.input_shape) != 3:
            raise ConfigError("data.name", f"the robustness study corrupts images; {c.data.name} gives "
                                           f"{tuple(dataset.input_shape)}")

    def run(self, run: Run) -> None:
        """Runs (or resumes) the study: every architecture's populations, each through the four stages, then the
        merged and cross-model tables."""
        config, dataset, log = run.config, run.dataset, run.log
        log(f"run {run.run_id}: {config.experiment} on {dataset.name} ({dataset.train_size} train, "
            f"{int(dataset.y_test.shape[0])} test examples analysed)")
        p = config.prune_methods
        sets = RobustnessEvalSets(config.robustness, dataset, run.workdir)
        parts = []
        for name, width in architectures(config.robustness):
            arch = Architecture(config, run, name, width)
            analyser = analyser_of(arch, config.train.eval_batch_size, dataset.y_test.shape[0])
            log(f"{arch.tag}: dense reference + {len(p.methods)} methods × {len(arch.populations.ratios)} ratios × "
                f"{len(arch.populations.members)} dense models, each trained {config.train.epochs} epochs and "
                f"fine-tuned {p.retrain_epochs}, {len(sets.sets())} corrupted sets of {len(sets.labels)} test examples")
            parts += [_population(run, arch, analyser, sets, method) for method in (DENSE, *p.methods)]
        write_tables(config, run.workdir, parts, dataset, sets, log)

    def merge(self, run: Run) -> pd.DataFrame:
        return result_tables.merge(run.workdir, run.run_id, 0, keys=["model", *METHOD_KEYS])

    def report(self, run: Run, df: pd.DataFrame) -> None:
        run.log(f"results: {os.path.join(run.workdir, result_tables.TABLE)} ({len(df)} rows); report: python -m lottery.report "
                f"--workdir={run.workdir}; dashboard: python -m lottery.dashboard --workdir={run.workdir}")

    def report_section(self, workdir, info, config, df, save) -> list[str]:
        return robustness_section.section(workdir, info, config, df, save)
