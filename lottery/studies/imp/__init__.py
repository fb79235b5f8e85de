"""Study A's kind (``config.kind = "imp"``): every width × seed × noise draw trained in buckets, then
``imp.levels`` levels of iterative magnitude pruning with rewinding and control branches
(:mod:`lottery.studies.imp.bucket_levels`); one part per bucket and level; the double-descent and sparse-double-descent
tables and figures at the end (docs/science.md §4–§6)."""
from __future__ import annotations

import os
import re

import pandas as pd

from lottery import validate
from lottery.data.noise import corrupted_count
from lottery.core.errors import ConfigError
from lottery.prune import magnitude
from lottery.report import double_descent, learning_curves, sparse_double_descent
from lottery.report import imp_section
from lottery.store import files, result_tables, workdir as wd
from lottery.store.checkpoints import BucketCheckpoints
from lottery.studies import population_eval_sets, rows
from lottery.studies.interface import PlannedBucket, Run, Study
from lottery.studies.imp.bucket_levels import BRANCHES, BucketIMP, level_name, rewind_step, section
from lottery.train import buckets as bucketing
from lottery.train import order
from lottery.train.state import Member
from lottery.train import compaction
from lottery.train.strategies.packed import packs
from lottery.train.trainer import BucketTrainer, build_bucket


def _layers(c, layers: list[str]) -> None:
    """imp.ignore and imp.layer_rates against the model's prunable layers."""
    p = c.imp
    for name in p.ignore:
        validate.choice("imp.ignore", name, layers)
    if p.levels and not set(layers) - set(p.ignore):
        raise ConfigError("imp.ignore", f"ignores every layer {layers}; nothing is left to prune")
    for item in p.layer_rates:
        name, _, rate = str(item).partition("=")
        validate.choice("imp.layer_rates", name, layers)
        try:
            ok = 0 < float(rate) <= 1 / p.fraction
        except ValueError:
            ok = False
        if not ok:
            raise ConfigError("imp.layer_rates", f"entries are 'layer=rate' with 0 < rate·imp.fraction ≤ 1, got {item!r}")
    if p.layer_rates and p.scope != "layerwise":
        raise ConfigError("imp.layer_rates", "per-layer rates need imp.scope = layerwise")


def remaining_after(levels: int, fraction: float, rule: str, count: int) -> int:
    """Weights left after ``levels`` global levels, by the counting rule (Python integers)."""
    for _ in range(levels):
        count -= corrupted_count(fraction, count) + (1 if rule == "openlth" else 0)
    return count


def buckets(config, spec, label_sets: int) -> list[tuple[str, list[int], list[Member]]]:
    """(name, widths, members) of every bucket of an IMP run: the widths grouped by ``train.bucket_*`` (and
    ``pack_small`` when packed), each width × seed × noise draw (``label_sets`` of them) a member."""
    plan = bucketing.plan_for(config.model.widths, config.train, packs(spec, config.train, config.optimizer),
                              pads=spec.fully_connected)
    return [(f"bucket{bi:02d}-w{widths[0]}-{widths[-1]}", widths,
             [Member(w, s, li) for w in widths for s in config.train.seeds for li in range(label_sets)])
            for bi, widths in enumerate(plan)]


def bucket_trainer(config, spec, dataset, labels, members, backend=None) -> BucketTrainer:
    """The trainer of one IMP bucket: every range it trains starts or stops at the rewind step; it measures learning
    curves every ``eval.every``."""
    per_epoch = order.steps_per_epoch(dataset.train_size, config.train.batch_size)
    return BucketTrainer(build_bucket(spec, dataset.x_train, labels, members, config.train, config.optimizer,
                                      dataset.num_classes, boundaries=(rewind_step(config.imp.rewind, per_epoch),),
                                      bins=config.eval.bins, pad_fill=dataset.black, backend=backend,
                                      curve_every=order.steps_of(config.eval.every, per_epoch)))


def run_epochs(c, steps_per_epoch: int, total: int) -> float:
    """Epochs each member trains over a whole IMP run: level 0 (0 → T), levels 1…L (k → T), and per level ≥ 1 each
    branch (reinit 0 → T, the others k → T)."""
    k = rewind_step(c.imp.rewind, steps_per_epoch)
    levels = int(c.imp.levels)
    steps = total + levels * (total - k) + levels * sum(total if b == "reinit" else total - k for b in c.imp.branches)
    return steps / steps_per_epoch


class IMP(Study):
    kind = "imp"
    extending_keys = ("imp.levels",)  # more levels extend a run, they do not change the rows it has
    later_defaults = (("kind", "imp"),)  # runs from before config.kind were IMP runs: their ids stay the same

    def sections(self) -> dict:
        return {"imp": section()}

    def plan(self, config, dataset, labels, backend):
        spec = validate.model_spec(config)
        for name, _, members in buckets(config, spec, labels.shape[0]):
            trainer = bucket_trainer(config, spec, dataset, labels, members, backend)
            what = f"level 0 + {config.imp.levels} levels" + (f" × (1 + {len(config.imp.branches)} branches)"
                                                               if config.imp.branches else "")
            yield PlannedBucket(self.kind, name, spec, trainer, run_epochs(config, trainer.steps_per_epoch,
                                                                           trainer.total_steps), what,
                                bool(config.imp.levels) and compaction.applies(trainer, config.imp.compact))

    def check(self, c) -> None:
        spec = validate.common(c)
        p = c.imp
        if not validate.is_int(p.levels) or p.levels < 0:
            raise ConfigError("imp.levels", f"must be an integer ≥ 0, got {p.levels!r}")
        if not validate.is_real(p.fraction) or not 0 < p.fraction < 1:
            raise ConfigError("imp.fraction", f"must be in (0, 1), got {p.fraction!r}")
        validate.choice("imp.rule", p.rule, magnitude.RULES)
        validate.choice("imp.scope", p.scope, magnitude.SCOPES)
        for b in p.branches:
            validate.choice("imp.branches", b, BRANCHES)
        if not isinstance(p.compact, bool):
            raise ConfigError("imp.compact", f"must be True or False, got {p.compact!r}")
        if not isinstance(p.rewind, str) or not (p.rewind == "init" or re.fullmatch(r"\d+(ep|it)", p.rewind)):
            raise ConfigError("imp.rewind", f"must be 'init', 'Nep' (epochs) or 'Nit' (iterations), got {p.rewind!r}")
        if spec.fully_connected:  # convolutional layer names are known once the input shape is
            _layers(c, validate.layers_of(c, spec, (), 0))
        validate.eval_section(c)

    def check_data(self, c, dataset) -> None:
        spec = validate.model_spec(c)
        input_shape, num_classes = tuple(dataset.input_shape), dataset.num_classes
        if not spec.fully_connected:
            _layers(c, validate.layers_of(c, spec, input_shape, num_classes))
        validate.against_data(c, dataset.train_size)
        steps_per_epoch = -(-dataset.train_size // c.train.batch_size)
        if rewind_step(c.imp.rewind, steps_per_epoch) >= c.train.epochs * steps_per_epoch:
            raise ConfigError("imp.rewind", f"{c.imp.rewind} is at or beyond the end of training "
                                            f"({c.train.epochs} epochs = {c.train.epochs * steps_per_epoch} iterations)")
        if c.imp.levels:
            smallest = min(spec.weight_count(w, input_shape, num_classes) for w in c.model.widths)
            if remaining_after(c.imp.levels, c.imp.fraction, c.imp.rule, smallest) < 1:
                raise ConfigError("imp.levels", f"{c.imp.levels} levels of {c.imp.fraction:g} prune away every weight "
                                                f"of the smallest model ({smallest} weights); use fewer levels or larger widths")

    def run(self, run: Run) -> None:
        config, dataset, workdir, log = run.config, run.dataset, run.workdir, run.log
        spec = validate.model_spec(config)
        plan = buckets(config, spec, len(run.sets))
        per_epoch = order.steps_per_epoch(dataset.train_size, config.train.batch_size)
        fresh = population_eval_sets.fresh_sample(run)
        log(f"run {run.run_id}: {config.experiment} on {dataset.name} ({dataset.train_size} train), model {spec.name}, "
            f"{len(config.model.widths)} widths × {len(config.train.seeds)} seeds × {len(run.sets)} noise draws "
            f"in {len(plan)} buckets, {config.imp.levels} pruning levels")
        timing = wd.read_timing(workdir)
        for name, widths, members in plan:
            trainer = bucket_trainer(config, spec, dataset, run.train_labels, members)
            runner = BucketIMP(trainer, config.imp, population_eval_sets.for_members(run, members, fresh),
                               BucketCheckpoints(wd.checkpoint_dir(workdir, name)),
                               progress=lambda label, name=name, k=len(members): run.progress(f"{name} {label} ({k} models)"))
            bucket_timing = timing.setdefault(name, {"models": len(members), "widths": widths, "levels": {}})
            # how it trains: a sharded bucket (several devices) neither packs nor compacts (docs/scaling.md)
            bucket_timing.update(strategy=trainer.strategy.name, devices=len(trainer.layout.devices),
                                 compaction=runner.compacted is not None)

            def on_result(result, name=name, members=members, bucket_timing=bucket_timing):
                key = level_name(result.level, result.branch)
                part, curves = wd.part_path(workdir, f"{name}-{key}"), wd.curve_part_path(workdir, f"{name}-{key}")
                if result.seconds is None:
                    log(f"  {name} {key}: restored from its checkpoint")
                    if result_tables.intact(part) and result_tables.intact(curves):
                        return  # (a damaged part is written again from the checkpoint)
                result_tables.write_part(rows.curve_rows(run, spec, members, result), curves)
                if result.curves:  # learning curves exist only for levels trained in this run (not restored ones)
                    result_tables.write_part(rows.learning_curve_rows(run, spec, members, result, per_epoch),
                                             wd.learning_curve_part_path(workdir, f"{name}-{key}"))
                result_tables.write_part(rows.result_rows(run, spec, members, result), part)
                if result.seconds is None:
                    return
                bucket_timing["levels"][key] = result.seconds
                wd.write_timing(workdir, timing)
                test_err = result.metrics["test"]["error"]
                flag = f", {int((~result.finite).sum())} diverged" if not result.finite.all() else ""
                log(f"  {name} {key}: {len(members)} models, {result.seconds:.2f}s, weights left "
                    f"{int(result.remaining.min())}–{int(result.remaining.max())}, test error "
                    f"{100 * test_err.mean():.2f}% mean{flag}")

            runner.run(int(config.imp.levels), on_result)

    def merge(self, run: Run) -> pd.DataFrame:
        return result_tables.merge(run.workdir, run.run_id, int(run.config.imp.levels))

    def report(self, run: Run, df: pd.DataFrame) -> None:
        """Prints the double-descent table (and the IMP summary) and writes the figures."""
        config, workdir, log = run.config, run.workdir, run.log
        main = df[df.branch == "main"]
        table = double_descent.summary(main)
        log("\n" + double_descent.format_table(table))
        figures = [("double_descent.png", lambda tmp: double_descent.plot(table, tmp, f"{config.experiment}: double descent"))]
        if main.level.max() > 0:
            best = sparse_double_descent.best_pruned(main)
            log("\nbest pruned models (lowest test error along IMP, per starting width; mean over seeds):\n"
                + sparse_double_descent.format_best(best))
            figures.append(("sparse_double_descent.png", lambda tmp: sparse_double_descent.plot(
                main, best, tmp, f"{config.experiment}: sparse double descent")))
        if os.path.exists(os.path.join(workdir, result_tables.LEARNING_CURVES)):
            curves = result_tables.load_learning_curves(workdir)
            figures.append(("learning_curves.png", lambda tmp: learning_curves.plot(
                curves, tmp, f"{config.experiment}: learning curves")))
        if config.report.figures:
            for fname, draw in figures:
                path = os.path.join(workdir, fname)
                with files.atomic_path(path) as tmp:
                    draw(tmp)
                log(f"wrote {path}")
        log(f"results: {os.path.join(workdir, result_tables.TABLE)} ({len(df)} rows)")

    def report_section(self, workdir, info, config, df, save) -> list[str]:
        return imp_section.section(workdir, info, df, save)
