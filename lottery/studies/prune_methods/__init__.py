"""Study B's pruning-method comparison (``config.kind = "prune_methods"``, docs/science.md §7): the dense models,
then per method scores → ratio-sweep masks → evaluation → fine-tuning → evaluation, one population and one part
per method (:mod:`lottery.studies.prune_methods.populations`); a killed run resumes at the first method without rows."""
from __future__ import annotations

import time

import ml_collections
import pandas as pd

from lottery import configs, validate
from lottery.core.errors import ConfigError
from lottery.prune import magnitude, methods, taylor
from lottery.report import prune_methods_section
from lottery.store import result_tables, workdir as wd
from lottery.store.checkpoints import BucketCheckpoints
from lottery.studies import rows
from lottery.studies.prune_methods import populations
from lottery.studies.interface import PlannedBucket, Run, Study
from lottery.studies.prune_methods.populations import BRANCH, KEYS, MethodPopulations

DATA_BATCHES = (("snip", "snip_batches"), ("taylor1", "taylor_batches"), ("taylor2", "taylor_batches"))
# 2: matched training budgets — the dense reference fine-tuned like the pruned models, SNIP's sparse nets trained
# train.epochs after pruning (lottery.studies.prune_methods.populations). Hashed into run ids: earlier workdirs are
# refused.
PROCEDURE = 2


def section(epochs: int = 60) -> ml_collections.ConfigDict:
    """The ``prune_methods`` section at its defaults; ``epochs``: the dense training's ``train.epochs``, which the
    learned methods' score training must equal."""
    p = ml_collections.ConfigDict()
    p.methods = ("random", "magnitude", "snip", "taylor1", "taylor2", "biprop", "edge_popup")
    p.ratios = tuple(round(0.1 * i, 1) for i in range(10))  # fraction of the alive weights removed, in [0, 1)
    p.scope = "global"  # global | layerwise ranking of the scores
    p.ignore = ()  # layers never pruned (biprop keeps them real and frozen)
    p.retrain_epochs = 10  # fine-tuning of the survivors (0: pruned rows only)
    p.retrain_lr = 0.0  # the fine-tuning learning rate (0: optimizer.lr, on optimizer.schedule)
    p.snip_batches = 1  # minibatches of SNIP's gradient at initialisation
    p.taylor_batches = 10  # minibatches accumulated by taylor1 / taylor2
    p.hessian = "hutchinson"  # taylor2's diagonal Hessian: hutchinson | exact (P products per batch: tiny nets only)
    p.hutchinson_samples = 8
    # biprop / edge-popup score training: in place of the weights' dense epochs, so it must equal train.epochs (every
    # model of the comparison has the same budget: lottery.studies.prune_methods.populations)
    p.score_epochs = epochs
    # the multi-prize-ticket recipe: SGD, momentum 0.9, cosine, weight decay 5e-4
    p.score_optimizer = configs.optimizer_section(momentum=0.9, schedule="cosine", weight_decay=5e-4)
    return p


def defaults_of(study: Study) -> ml_collections.ConfigDict:
    """The shared sections at study B's settings (docs/science.md §7: MNIST, LeNet-5 at width 1, 3 seeds, 60 epochs
    of batch 128) and the kind's own sections: the defaults of the pruning-method and robustness kinds."""
    c = Study.defaults(study)
    c.data.name = "mnist"
    c.model.name, c.model.widths = "lenet5", (1,)
    c.train.seeds = (0, 1, 2)
    c.train.epochs = 60
    c.train.batch_size = 128
    return c


def plan_buckets(kind: str, arch, dataset, labels, backend, label: str = ""):
    """The two buckets of one pruning-method experiment ``arch`` (a config with a ``prune_methods`` section): the
    dense models (trained, then fine-tuned as the reference) and the method population (every method × ratio)."""
    spec = validate.model_spec(arch)
    dense, population = populations.trainers(arch, spec, dataset, labels, backend)
    p = arch.prune_methods
    prefix = f"{label} " if label else ""
    yield PlannedBucket(kind, prefix + "dense", spec, dense, float(int(arch.train.epochs) + int(p.retrain_epochs)),
                        "dense training + the reference's fine-tuning", False)
    epochs = sum(populations.population_epochs(p, arch.train.epochs, m) for m in p.methods)
    learned = [m for m in p.methods if methods.get(m).learned]
    after = [m for m in p.methods if populations.trains_after_pruning(m)]
    what = f"{len(p.methods)} methods × {p.retrain_epochs} fine-tuning epochs" + (
        f" + {len(learned)} learned × {p.score_epochs} score epochs" if learned else "") + (
        f" + {len(after)} pruned at init × {arch.train.epochs} training epochs" if after else "")
    yield PlannedBucket(kind, prefix + "methods", spec, population, float(epochs), what, False)


def check(c) -> None:
    """A prune-methods config: the shared sections, ``prune_methods`` and ``eval`` (a robustness run checks each of its
    architectures' configs with it)."""
    check_section(c, validate.common(c))
    validate.eval_section(c)


def check_section(c, spec) -> None:
    """The ``prune_methods`` section."""
    p = c.prune_methods
    if len(c.model.widths) != 1:
        raise ConfigError("model.widths", f"a prune-methods run prunes one trained model per seed; give one width, "
                                          f"got {tuple(c.model.widths)}")
    validate.choices("prune_methods.methods", p.methods, methods.NAMES, "methods")
    learned = [m for m in p.methods if methods.get(m).learned]
    if learned and getattr(spec, "batch_norm", False):
        raise ConfigError("prune_methods.methods", f"{learned[0]} learns scores with the weights frozen and does not "
                                                   f"learn batch-norm running statistics; {c.model.name} has batch-norm "
                                                   f"(use lenet5 or a fully connected net, or drop {', '.join(learned)})")
    if isinstance(p.ratios, str) or not p.ratios:
        raise ConfigError("prune_methods.ratios", f"must be a non-empty list of ratios in [0, 1), got {p.ratios!r}")
    for r in p.ratios:
        if not validate.is_real(r) or not 0 <= r < 1:
            raise ConfigError("prune_methods.ratios", f"must be in [0, 1) (the fraction of weights removed), "
                                                      f"got {r!r} in {tuple(p.ratios)!r}")
    if len(set(p.ratios)) != len(p.ratios):
        raise ConfigError("prune_methods.ratios", f"must not repeat a value, got {tuple(p.ratios)!r}")
    validate.choice("prune_methods.scope", p.scope, magnitude.SCOPES)
    if spec.fully_connected:
        _layers(c, validate.layers_of(c, spec, (), 0))
    validate.count("prune_methods.retrain_epochs", p.retrain_epochs, 0)
    if not validate.is_real(p.retrain_lr) or p.retrain_lr < 0:
        raise ConfigError("prune_methods.retrain_lr", f"must be a number ≥ 0 (0: optimizer.lr), got {p.retrain_lr!r}")
    if "snip" in p.methods and (not validate.is_int(p.snip_batches) or p.snip_batches < 1):
        raise ConfigError("prune_methods.snip_batches", f"SNIP scores need data: at least 1 minibatch, got {p.snip_batches!r}")
    if {"taylor1", "taylor2"} & set(p.methods) and (not validate.is_int(p.taylor_batches) or p.taylor_batches < 1):
        raise ConfigError("prune_methods.taylor_batches", f"Taylor scores need data: at least 1 minibatch, "
                                                          f"got {p.taylor_batches!r}")
    validate.choice("prune_methods.hessian", p.hessian, taylor.HESSIANS)
    validate.count("prune_methods.hutchinson_samples", p.hutchinson_samples, 1)
    validate.count("prune_methods.score_epochs", p.score_epochs, 1)
    if learned and p.score_epochs != c.train.epochs:  # the comparison's budgets are matched (populations.budget)
        raise ConfigError("prune_methods.score_epochs", f"{learned[0]} trains its scores in place of the weights' "
                                                        f"{c.train.epochs} dense epochs (train.epochs): give it the "
                                                        f"same budget, {c.train.epochs}, got {p.score_epochs!r}")
    validate.optimizer("prune_methods.score_optimizer", p.score_optimizer, p.score_epochs, "prune_methods.score_epochs")


def _layers(c, layers: list[str]) -> None:
    """prune_methods.ignore against the model's prunable layers."""
    p = c.prune_methods
    for name in p.ignore:
        validate.choice("prune_methods.ignore", name, layers)
    if not set(layers) - set(p.ignore):
        learned = [m for m in p.methods if methods.get(m).learned]
        raise ConfigError("prune_methods.ignore", f"ignores every layer {layers}: the model has no prunable layer"
                          + (f", so {learned[0]} has no scores to learn" if learned else ""))


def check_data(c, dataset) -> None:
    """The method fields against the data: the model's layer names, the scores' minibatches within an epoch."""
    spec = validate.model_spec(c)
    if not spec.fully_connected:
        _layers(c, validate.layers_of(c, spec, tuple(dataset.input_shape), dataset.num_classes))
    validate.against_data(c, dataset.train_size)
    steps_per_epoch = -(-dataset.train_size // c.train.batch_size)
    for name, field in DATA_BATCHES:
        count = c.prune_methods[field]
        if name in c.prune_methods.methods and count > steps_per_epoch:
            raise ConfigError(f"prune_methods.{field}", f"{count} minibatches of {c.train.batch_size} are more than "
                                                        f"one epoch of the training set ({steps_per_epoch} batches)")


class PruneMethods(Study):
    kind = "prune_methods"
    procedure = PROCEDURE

    def sections(self) -> dict:
        return {"prune_methods": section()}

    def defaults(self) -> ml_collections.ConfigDict:
        return defaults_of(self)

    def plan(self, config, dataset, labels, backend):
        yield from plan_buckets(self.kind, config, dataset, labels, backend)

    def check(self, c) -> None:
        check(c)

    def check_data(self, c, dataset) -> None:
        check_data(c, dataset)

    def run(self, run: Run) -> None:
        """Runs (or resumes) the dense reference and every method of ``config.prune_methods``, one part each."""
        config, dataset, workdir, log = run.config, run.dataset, run.workdir, run.log
        spec = validate.model_spec(config)
        log(f"run {run.run_id}: {config.experiment} on {dataset.name} ({dataset.train_size} train), model {spec.name}")
        p = config.prune_methods
        pops = MethodPopulations(config, spec, run, BucketCheckpoints(wd.checkpoint_dir(workdir, BRANCH)))
        log(f"prune methods: {len(p.methods)} methods × {len(pops.ratios)} ratios × {len(pops.members)} dense models "
            f"= {len(pops.population)} models per method and the dense reference; every model trained "
            f"{config.train.epochs} epochs (SNIP after pruning; biprop / edge-popup: its scores) and fine-tuned "
            f"{p.retrain_epochs}")
        dense = None
        timing = wd.read_timing(workdir)
        for name in (result_tables.DENSE, *p.methods):
            part = wd.part_path(workdir, f"{BRANCH}-{name}")
            if result_tables.intact(part):  # a damaged part is made again
                log(f"  {name}: rows already written")
                continue
            t0 = time.perf_counter()
            if dense is None:
                dense = pops.dense_weights()
            pop = pops.start(name, dense)
            frames, errors = [], []
            for retrained in ((False, True) if p.retrain_epochs else (False,)):
                if retrained:
                    pop = pops.finetune(name, pop)
                result = pops.result(name, pop, time.perf_counter() - t0)
                extras = pops.row_extras(name, retrained)
                frames.append(rows.result_rows(run, spec, pops.stage(name).members, result, extras))
                errors.append(result.metrics["test"]["error"].reshape(len(pops.members), -1).mean(0))
            result_tables.write_part(pd.concat(frames, ignore_index=True), part)
            seconds = time.perf_counter() - t0
            timing.setdefault(BRANCH, {})[name] = seconds
            wd.write_timing(workdir, timing)
            acc = " ".join(f"{r:g}:{100 * (1 - e):.1f}" for r, e in zip(pops.stage(name).ratios, errors[-1]))
            log(f"  {name}: {seconds:.1f}s, test accuracy % by ratio{' after fine-tuning' if p.retrain_epochs else ''} "
                f"{acc}")

    def merge(self, run: Run) -> pd.DataFrame:
        return result_tables.merge(run.workdir, run.run_id, 0, keys=KEYS)

    def report(self, run: Run, df: pd.DataFrame) -> None:
        prune_methods_section.log_and_plot(run.config, run.workdir, df, run.log)

    def report_section(self, workdir, info, config, df, save) -> list[str]:
        return prune_methods_section.section(workdir, info, df, save)
