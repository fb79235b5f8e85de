"""Checks of a config before anything runs: each failure is a ConfigError naming the field."""
from __future__ import annotations

import math
import numbers

import re

from lottery.data import noise
from lottery.data import registry as data_registry
from lottery.errors import ConfigError
from lottery.models import init as model_init
from lottery.models import registry as model_registry
from lottery.train import optim

KINDS = ("imp", "prune_methods", "robustness")  # config.kind: what lottery.run does (absent: imp)


def _int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _ints(field: str, values, minimum: int, what: str):
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") or len(values) == 0:
        raise ConfigError(field, f"must be a non-empty list of {what}, got {values!r}")
    for v in values:
        if not _int(v) or v < minimum:
            raise ConfigError(field, f"must be a non-empty list of {what}, got {v!r} in {tuple(values)!r}")
    if len(set(values)) != len(values):
        raise ConfigError(field, f"must not repeat a value, got {tuple(values)!r}")


def _choice(field: str, value, allowed):
    if value not in allowed:
        raise ConfigError(field, f"unknown value {value!r}; allowed: {', '.join(allowed)}")


def _choices(field: str, values, allowed, what: str):
    """A non-empty list of distinct names, each one of ``allowed``."""
    if isinstance(values, str) or not values:
        raise ConfigError(field, f"must be a non-empty list of {what}, got {values!r}")
    for v in values:
        _choice(field, v, allowed)
    if len(set(values)) != len(values):
        raise ConfigError(field, f"must not repeat a value, got {tuple(values)!r}")


def _real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _positive(field: str, value, integer: bool = False):
    ok = _int(value) if integer else _real(value)
    if not ok or value <= 0:
        raise ConfigError(field, f"must be a positive {'integer' if integer else 'number'}, got {value!r}")


def config(c) -> None:
    """Validates everything that does not need the data."""
    if c.get("kind", "imp") == "robustness":
        _robustness(c)
        _per_architecture(c, config)
        return
    d = c.data
    _choice("data.name", d.name, data_registry.NAMES)
    if d.name in data_registry.GMM_LAYOUTS:
        _positive("data.dim", d.dim, integer=True)
        if d.name == "gmm_xor" and d.dim % 2:
            raise ConfigError("data.dim", f"gmm_xor needs an even dimension, got {d.dim}")
        if not _real(d.nu) or d.nu < 0:
            raise ConfigError("data.nu", f"must be a number ≥ 0, got {d.nu!r}")
        _positive("data.train_size", d.train_size, integer=True)
        _positive("data.test_size", d.test_size, integer=True)
    if d.name == "cifar10_synthetic":
        if not _int(d.train_size) or d.train_size < 5:
            raise ConfigError("data.train_size", f"cifar10_synthetic writes 5 training batch files: needs an integer ≥ 5, "
                                                 f"got {d.train_size!r}")
        _positive("data.test_size", d.test_size, integer=True)
    classes = d.get("classes", 0)
    if not _int(classes) or not (classes == 0 or 2 <= classes <= 10):
        raise ConfigError("data.classes", f"must be an integer, 0 (all classes) or 2…10 (the first k), got {classes!r}")
    if classes and d.name in data_registry.GMM_LAYOUTS:
        raise ConfigError("data.classes", f"class subsets are for the 10-class image datasets; {d.name} has 2 classes (use 0)")
    if not _real(d.noise.fraction) or not 0 <= d.noise.fraction < 1:
        raise ConfigError("data.noise.fraction", f"must be in [0, 1), got {d.noise.fraction!r}")
    _choice("data.noise.mode", d.noise.mode, noise.MODES)
    _ints("data.noise.seeds", d.noise.seeds, 0, "integers ≥ 0")

    m = c.model
    if not isinstance(m.name, str):
        raise ConfigError("model.name", f"unknown value {m.name!r}; allowed: {', '.join(model_registry.NAMES)}")
    try:
        model_registry.get(m.name)
    except ValueError as e:
        raise ConfigError("model.name", str(e)) from None
    _ints("model.widths", m.widths, 1, "widths ≥ 1")
    if m.name == "fcn":
        for h in m.hidden:
            if h != "W" and (not _int(h) or h < 1):
                raise ConfigError("model.hidden", f"entries must be positive integers or 'W', got {h!r}")
        _choice("model.init", m.init, model_init.SCHEMES)
    spec = model_registry.get(m.name, m.hidden, m.use_bias, m.init)
    if not spec.fully_connected and d.name in data_registry.GMM_LAYOUTS:
        raise ConfigError("model.name", f"{m.name} is convolutional and needs images; {d.name} gives vectors "
                                        f"(use a fully connected model: {', '.join(model_registry.MODELS)}, fcn)")
    if not spec.has_width and len(m.widths) != 1:
        raise ConfigError("model.widths", f"{m.name} has fixed layer sizes {spec.hidden}; give one width, got {tuple(m.widths)}")

    t = c.train
    _positive("train.epochs", t.epochs, integer=True)
    _positive("train.batch_size", t.batch_size, integer=True)
    _positive("train.eval_batch_size", t.eval_batch_size, integer=True)
    _ints("train.seeds", t.seeds, 0, "integers ≥ 0")
    if not _int(t.data_seed) or t.data_seed < 0:
        raise ConfigError("train.data_seed", f"must be an integer ≥ 0, got {t.data_seed!r}")
    if not isinstance(t.pack, bool):
        raise ConfigError("train.pack", f"must be True or False, got {t.pack!r}")
    if not _int(t.pack_small) or t.pack_small < 0:
        raise ConfigError("train.pack_small", f"must be an integer ≥ 0, got {t.pack_small!r}")
    if not _real(t.bucket_ratio) or t.bucket_ratio < 1:
        raise ConfigError("train.bucket_ratio", f"must be ≥ 1, got {t.bucket_ratio!r}")
    from lottery.train.trainer import MEMBERS

    _choice("train.members", t.members, MEMBERS)
    if not isinstance(t.shard, bool):
        raise ConfigError("train.shard", f"must be True or False, got {t.shard!r}")
    if not isinstance(t.augment, bool):
        raise ConfigError("train.augment", f"must be True or False, got {t.augment!r}")
    if t.augment and d.name in data_registry.GMM_LAYOUTS:
        raise ConfigError("train.augment", f"crops and flips images; {d.name} gives vectors (use False)")

    _optimizer("optimizer", c.optimizer, t.epochs, "train.epochs")
    kind = c.get("kind", "imp")
    _choice("kind", kind, KINDS)
    if kind == "prune_methods":
        _prune_methods(c, spec)
    else:
        _imp(c, spec)
    eval_section(c)


def _optimizer(field: str, o, epochs: int, epochs_field: str) -> None:
    _choice(f"{field}.name", o.name, optim.OPTIMIZERS)
    _positive(f"{field}.lr", o.lr)
    for name in ("momentum", "b1", "b2"):
        v = getattr(o, name)
        if not _real(v) or not 0 <= v < 1:
            raise ConfigError(f"{field}.{name}", f"must be in [0, 1), got {v!r}")
    if not _real(o.weight_decay) or o.weight_decay < 0:
        raise ConfigError(f"{field}.weight_decay", f"must be a finite number ≥ 0, got {o.weight_decay!r}")
    _positive(f"{field}.eps", o.eps)
    _positive(f"{field}.gamma", o.gamma)
    _choice(f"{field}.schedule", o.schedule, optim.SCHEDULES)
    if not 0 <= o.warmup_epochs < epochs:
        raise ConfigError(f"{field}.warmup_epochs", f"must be in [0, {epochs_field}={epochs}), got {o.warmup_epochs!r}")
    for ms in o.milestones:
        if not isinstance(ms, numbers.Real) or not 0 < ms < epochs:
            raise ConfigError(f"{field}.milestones", f"must be epochs in (0, {epochs}), got {tuple(o.milestones)!r}")


def _count(field: str, value, minimum: int) -> None:
    if not _int(value) or value < minimum:
        raise ConfigError(field, f"must be an integer ≥ {minimum}, got {value!r}")


def _architectures(c) -> list:
    """[(label "model:width", its prune-methods config)] of a robustness run."""
    from lottery import robustness

    out = []
    for name, width in robustness.architectures(c.robustness):
        arch = robustness.arch_config(c, name, width)
        arch.kind = "prune_methods"
        out.append((f"{name}:{width}", arch))
    return out


def _per_architecture(c, check) -> None:
    """check(arch config) for every architecture; errors on ``model.*`` are reported on
    ``robustness.architectures`` with the architecture named."""
    for label, arch in _architectures(c):
        try:
            check(arch)
        except ConfigError as e:
            if e.field.startswith("model."):
                raise ConfigError("robustness.architectures", f"{label}: {e.message}") from None
            raise

def _robustness(c) -> None:
    """The ``robustness`` section (lottery.robustness)."""
    from lottery.data import corruptions

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
    _choices("robustness.corruptions", r.corruptions, corruptions.ALL, "corruptions")
    _ints("robustness.severities", r.severities, 1, "severities 1…5")
    if max(r.severities) > 5:
        raise ConfigError("robustness.severities", f"severities are 1…5, got {tuple(r.severities)!r}")
    if not _int(r.geometry_severity) or not (r.geometry_severity == 0 or r.geometry_severity in r.severities):
        raise ConfigError("robustness.geometry_severity", f"must be 0 (clean only) or one of robustness.severities "
                                                          f"{tuple(r.severities)}, got {r.geometry_severity!r}")
    for field in ("seed", "train_examples", "test_examples", "occlusion_samples", "umap_seed"):
        _count(f"robustness.{field}", r[field], 0)
    _positive("robustness.occlusion_patch", r.occlusion_patch, integer=True)
    _positive("robustness.occlusion_stride", r.occlusion_stride, integer=True)
    _ints("robustness.random_dims", r.random_dims, 2, "dimensions ≥ 2")
    if isinstance(r.dimension_widths, str) or any(not _int(w) or w < 1 for w in r.dimension_widths):
        raise ConfigError("robustness.dimension_widths", f"must be a list of LeNet-5 widths ≥ 1, got {r.dimension_widths!r}")
    if not _real(r.report_ratio) or r.report_ratio not in tuple(c.prune_methods.ratios):
        raise ConfigError("robustness.report_ratio", f"must be one of prune_methods.ratios {tuple(c.prune_methods.ratios)}, "
                                                     f"got {r.report_ratio!r}")
    if c.data.name in data_registry.GMM_LAYOUTS:
        raise ConfigError("data.name", f"the robustness study corrupts images; {c.data.name} gives vectors")


def _prune_methods(c, spec) -> None:
    """The ``prune_methods`` section of a pruning-method run (lottery.zoo)."""
    from lottery.prune import magnitude, methods, taylor

    p = c.prune_methods
    if len(c.model.widths) != 1:
        raise ConfigError("model.widths", f"a prune-methods run prunes one trained model per seed; give one width, "
                                          f"got {tuple(c.model.widths)}")
    _choices("prune_methods.methods", p.methods, methods.NAMES, "methods")
    learned = [m for m in p.methods if methods.get(m).learned]
    if learned and getattr(spec, "batch_norm", False):
        raise ConfigError("prune_methods.methods", f"{learned[0]} learns scores with the weights frozen and does not "
                                                   f"learn batch-norm running statistics; {c.model.name} has batch-norm "
                                                   f"(use lenet5 or a fully connected net, or drop {', '.join(learned)})")
    if isinstance(p.ratios, str) or not p.ratios:
        raise ConfigError("prune_methods.ratios", f"must be a non-empty list of ratios in [0, 1), got {p.ratios!r}")
    for r in p.ratios:
        if not _real(r) or not 0 <= r < 1:
            raise ConfigError("prune_methods.ratios", f"must be in [0, 1) (the fraction of weights removed), "
                                                      f"got {r!r} in {tuple(p.ratios)!r}")
    if len(set(p.ratios)) != len(p.ratios):
        raise ConfigError("prune_methods.ratios", f"must not repeat a value, got {tuple(p.ratios)!r}")
    _choice("prune_methods.scope", p.scope, magnitude.SCOPES)
    if spec.fully_connected:
        _prune_methods_layers(c, [f"dense_{i}" for i in range(len(spec.hidden) + 1)])
    _count("prune_methods.retrain_epochs", p.retrain_epochs, 0)
    if not _real(p.retrain_lr) or p.retrain_lr < 0:
        raise ConfigError("prune_methods.retrain_lr", f"must be a number ≥ 0 (0: optimizer.lr), got {p.retrain_lr!r}")
    if "snip" in p.methods and (not _int(p.snip_batches) or p.snip_batches < 1):
        raise ConfigError("prune_methods.snip_batches", f"SNIP scores need data: at least 1 minibatch, got {p.snip_batches!r}")
    if {"taylor1", "taylor2"} & set(p.methods) and (not _int(p.taylor_batches) or p.taylor_batches < 1):
        raise ConfigError("prune_methods.taylor_batches", f"Taylor scores need data: at least 1 minibatch, "
                                                          f"got {p.taylor_batches!r}")
    _choice("prune_methods.hessian", p.hessian, taylor.HESSIANS)
    _count("prune_methods.hutchinson_samples", p.hutchinson_samples, 1)
    _count("prune_methods.score_epochs", p.score_epochs, 1)
    _optimizer("prune_methods.score_optimizer", p.score_optimizer, p.score_epochs, "prune_methods.score_epochs")


def _prune_methods_layers(c, layers: list[str]) -> None:
    """prune_methods.ignore against the model's prunable layers."""
    from lottery.prune import methods

    p = c.prune_methods
    for name in p.ignore:
        _choice("prune_methods.ignore", name, layers)
    if not set(layers) - set(p.ignore):
        learned = [m for m in p.methods if methods.get(m).learned]
        raise ConfigError("prune_methods.ignore", f"ignores every layer {layers}: the model has no prunable layer"
                          + (f", so {learned[0]} has no scores to learn" if learned else ""))


def _imp(c, spec) -> None:
    from lottery import imp
    from lottery.prune import magnitude

    p = c.imp
    if not _int(p.levels) or p.levels < 0:
        raise ConfigError("imp.levels", f"must be an integer ≥ 0, got {p.levels!r}")
    if not _real(p.fraction) or not 0 < p.fraction < 1:
        raise ConfigError("imp.fraction", f"must be in (0, 1), got {p.fraction!r}")
    _choice("imp.rule", p.rule, magnitude.RULES)
    _choice("imp.scope", p.scope, magnitude.SCOPES)
    for b in p.branches:
        _choice("imp.branches", b, imp.BRANCHES)
    if not isinstance(p.compact, bool):
        raise ConfigError("imp.compact", f"must be True or False, got {p.compact!r}")
    if not isinstance(p.rewind, str) or not (p.rewind == "init" or re.fullmatch(r"\d+(ep|it)", p.rewind)):
        raise ConfigError("imp.rewind", f"must be 'init', 'Nep' (epochs) or 'Nit' (iterations), got {p.rewind!r}")
    if spec.fully_connected:  # convolutional layer names are known once the input shape is
        _imp_layers(c, [f"dense_{i}" for i in range(len(spec.hidden) + 1)])


def _imp_layers(c, layers: list[str]) -> None:
    """imp.ignore and imp.layer_rates against the model's prunable layers."""
    p = c.imp
    for name in p.ignore:
        _choice("imp.ignore", name, layers)
    if p.levels and not set(layers) - set(p.ignore):
        raise ConfigError("imp.ignore", f"ignores every layer {layers}; nothing is left to prune")
    for item in p.layer_rates:
        name, _, rate = str(item).partition("=")
        _choice("imp.layer_rates", name, layers)
        try:
            ok = 0 < float(rate) <= 1 / p.fraction
        except ValueError:
            ok = False
        if not ok:
            raise ConfigError("imp.layer_rates", f"entries are 'layer=rate' with 0 < rate·imp.fraction ≤ 1, got {item!r}")
    if p.layer_rates and p.scope != "layerwise":
        raise ConfigError("imp.layer_rates", "per-layer rates need imp.scope = layerwise")


def _remaining_after(levels: int, fraction: float, rule: str, count: int) -> int:
    """Weights left after ``levels`` global levels, by the counting rule (Python integers)."""
    from lottery.data.noise import corrupted_count

    for _ in range(levels):
        count -= corrupted_count(fraction, count) + (1 if rule == "openlth" else 0)
    return count


def _model_input(c, spec, input_shape: tuple, num_classes: int) -> None:
    """A convolutional model against the data's example shape; its layer names against the pruning fields."""
    if spec.fully_connected:
        return
    try:
        names = spec.prunable_layers(c.model.widths[0], tuple(input_shape), num_classes)  # the same at every width
    except ValueError as e:
        raise ConfigError("model.name", str(e)) from None
    if c.get("kind", "imp") == "prune_methods":
        _prune_methods_layers(c, names)
    else:
        _imp_layers(c, names)


def against_data(c, train_size: int, input_shape: tuple = (), num_classes: int = 0) -> None:
    """Validates what needs the loaded data: input_shape is one example's shape."""
    if c.get("kind", "imp") == "robustness":
        _per_architecture(c, lambda arch: against_data(arch, train_size, input_shape, num_classes))
        if len(input_shape) != 3:
            raise ConfigError("data.name", f"the robustness study corrupts images; {c.data.name} gives {input_shape}")
        return
    if input_shape:
        _model_input(c, model_registry.get(c.model.name, c.model.hidden, c.model.use_bias, c.model.init),
                     input_shape, num_classes)
    if c.train.batch_size > train_size:
        raise ConfigError("train.batch_size", f"{c.train.batch_size} is larger than the training set ({train_size} examples)")
    steps_per_epoch = -(-train_size // c.train.batch_size)
    if c.get("kind", "imp") == "prune_methods":
        for name, field in (("snip", "snip_batches"), ("taylor1", "taylor_batches"), ("taylor2", "taylor_batches")):
            count = c.prune_methods[field]
            if name in c.prune_methods.methods and count > steps_per_epoch:
                raise ConfigError(f"prune_methods.{field}", f"{count} minibatches of {c.train.batch_size} are more than "
                                                            f"one epoch of the training set ({steps_per_epoch} batches)")
        return
    from lottery import imp

    if imp.rewind_step(c.imp.rewind, steps_per_epoch) >= c.train.epochs * steps_per_epoch:
        raise ConfigError("imp.rewind", f"{c.imp.rewind} is at or beyond the end of training "
                                        f"({c.train.epochs} epochs = {c.train.epochs * steps_per_epoch} iterations)")
    if c.imp.levels and input_shape:
        spec = model_registry.get(c.model.name, c.model.hidden, c.model.use_bias, c.model.init)
        smallest = min(spec.weight_count(w, input_shape, num_classes) for w in c.model.widths)
        if _remaining_after(c.imp.levels, c.imp.fraction, c.imp.rule, smallest) < 1:
            raise ConfigError("imp.levels", f"{c.imp.levels} levels of {c.imp.fraction:g} prune away every weight of the "
                                            f"smallest model ({smallest} weights); use fewer levels or larger widths")


def eval_section(c) -> None:
    e = c.eval
    if not _int(e.bins) or e.bins < 0:
        raise ConfigError("eval.bins", f"must be an integer ≥ 1 (or 0 for no calibration), got {e.bins!r}")
    if not _int(e.fresh_samples) or e.fresh_samples < 0:
        raise ConfigError("eval.fresh_samples", f"must be an integer ≥ 0, got {e.fresh_samples!r}")
