"""Checks of the config sections every study shares, and the primitive checks studies use for their own.

Each failure is a ConfigError naming the field. A study checks its own section (``lottery.studies``).
"""
from __future__ import annotations

import difflib
import math
import numbers
import re


from lottery.data import noise
from lottery.data import catalog as data_catalog
from lottery.core.errors import ConfigError
from lottery.models import init as model_init
from lottery.models import registry as model_registry
from lottery.train import optim, program_memory
from lottery.train.strategies.member_loop import MEMBERS

def is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def ints(field: str, values, minimum: int, what: str):
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") or len(values) == 0:
        raise ConfigError(field, f"must be a non-empty list of {what}, got {values!r}")
    for v in values:
        if not is_int(v) or v < minimum:
            raise ConfigError(field, f"must be a non-empty list of {what}, got {v!r} in {tuple(values)!r}")
    if len(set(values)) != len(values):
        raise ConfigError(field, f"must not repeat a value, got {tuple(values)!r}")


def choice(field: str, value, allowed):
    if value not in allowed:
        raise ConfigError(field, f"unknown value {value!r}; allowed: {', '.join(map(str, allowed))}")


def choices(field: str, values, allowed, what: str):
    """A non-empty list of distinct names, each one of ``allowed``."""
    if isinstance(values, str) or not values:
        raise ConfigError(field, f"must be a non-empty list of {what}, got {values!r}")
    for v in values:
        choice(field, v, allowed)
    if len(set(values)) != len(values):
        raise ConfigError(field, f"must not repeat a value, got {tuple(values)!r}")


def is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def positive(field: str, value, integer: bool = False):
    ok = is_int(value) if integer else is_real(value)
    if not ok or value <= 0:
        raise ConfigError(field, f"must be a positive {'integer' if integer else 'number'}, got {value!r}")


def parsed(field: str, parse, value):
    """``parse(value)``, its ValueError as the ConfigError of ``field``."""
    try:
        return parse(value)
    except ValueError as e:
        raise ConfigError(field, str(e)) from None


def common(c):
    """Validates the sections every study shares (data, model, train, optimizer); returns the model spec."""
    d = c.data
    choice("data.name", d.name, data_catalog.NAMES)
    if d.name in data_catalog.GMM_LAYOUTS:
        positive("data.dim", d.dim, integer=True)
        if d.name == "gmm_xor" and d.dim % 2:
            raise ConfigError("data.dim", f"gmm_xor needs an even dimension, got {d.dim}")
        if not is_real(d.nu) or d.nu < 0:
            raise ConfigError("data.nu", f"must be a number ≥ 0, got {d.nu!r}")
        positive("data.train_size", d.train_size, integer=True)
        positive("data.test_size", d.test_size, integer=True)
    if d.name == "cifar10_synthetic":
        if not is_int(d.train_size) or d.train_size < 5:
            raise ConfigError("data.train_size", f"cifar10_synthetic writes 5 training batch files: needs an integer ≥ 5, "
                                                 f"got {d.train_size!r}")
        positive("data.test_size", d.test_size, integer=True)
    if d.get("label_kind", "fine") not in ("fine", "coarse"):
        raise ConfigError("data.label_kind", f"must be 'fine' or 'coarse' (cifar100's labels), got {d.label_kind!r}")
    if d.get("label_kind", "fine") == "coarse" and d.name != "cifar100":
        raise ConfigError("data.label_kind", f"coarse labels are cifar100's superclasses; {d.name} has none (use 'fine')")
    classes = d.classes
    if not is_int(classes) or not (classes == 0 or 2 <= classes <= 10):
        raise ConfigError("data.classes", f"must be an integer, 0 (all classes) or 2…10 (the first k), got {classes!r}")
    if classes and d.name in data_catalog.GMM_LAYOUTS:
        raise ConfigError("data.classes", f"class subsets are for the 10-class image datasets; {d.name} has 2 classes (use 0)")
    if not is_real(d.noise.fraction) or not 0 <= d.noise.fraction < 1:
        raise ConfigError("data.noise.fraction", f"must be in [0, 1), got {d.noise.fraction!r}")
    choice("data.noise.mode", d.noise.mode, noise.MODES)
    ints("data.noise.seeds", d.noise.seeds, 0, "integers ≥ 0")

    m = c.model
    if not isinstance(m.name, str):
        raise ConfigError("model.name", f"unknown value {m.name!r}; allowed: {', '.join(model_registry.NAMES)}")
    parsed("model.name", model_registry.get, m.name)
    ints("model.widths", m.widths, 1, "widths ≥ 1")
    if m.name == "fcn":
        for h in m.hidden:
            if h != "W" and (not is_int(h) or h < 1):
                raise ConfigError("model.hidden", f"entries must be positive integers or 'W', got {h!r}")
        choice("model.init", m.init, model_init.SCHEMES)
    spec = model_registry.get(m.name, m.hidden, m.use_bias, m.init)
    if not spec.fully_connected and d.name in data_catalog.GMM_LAYOUTS:
        raise ConfigError("model.name", f"{m.name} is convolutional and needs images; {d.name} gives vectors "
                                        f"(use a fully connected model: {', '.join(model_registry.MODELS)}, fcn)")
    if not spec.has_width and len(m.widths) != 1:
        raise ConfigError("model.widths", f"{m.name} has fixed layer sizes {spec.hidden}; give one width, got {tuple(m.widths)}")

    t = c.train
    positive("train.epochs", t.epochs, integer=True)
    positive("train.batch_size", t.batch_size, integer=True)
    positive("train.eval_batch_size", t.eval_batch_size, integer=True)
    ints("train.seeds", t.seeds, 0, "integers ≥ 0")
    if not is_int(t.data_seed) or t.data_seed < 0:
        raise ConfigError("train.data_seed", f"must be an integer ≥ 0, got {t.data_seed!r}")
    if not isinstance(t.pack, bool):
        raise ConfigError("train.pack", f"must be True or False, got {t.pack!r}")
    if not is_int(t.pack_small) or t.pack_small < 0:
        raise ConfigError("train.pack_small", f"must be an integer ≥ 0, got {t.pack_small!r}")
    if not is_real(t.bucket_ratio) or t.bucket_ratio < 1:
        raise ConfigError("train.bucket_ratio", f"must be ≥ 1, got {t.bucket_ratio!r}")
    choice("train.members", t.members, MEMBERS)
    if not isinstance(t.shard, bool):
        raise ConfigError("train.shard", f"must be True or False, got {t.shard!r}")
    parsed("train.memory", program_memory.budget, t.memory)
    if not isinstance(t.augment, bool):
        raise ConfigError("train.augment", f"must be True or False, got {t.augment!r}")
    if t.augment and d.name in data_catalog.GMM_LAYOUTS:
        raise ConfigError("train.augment", f"crops and flips images; {d.name} gives vectors (use False)")

    optimizer("optimizer", c.optimizer, t.epochs, "train.epochs")
    return spec


def optimizer(field: str, o, epochs: int, epochs_field: str) -> None:
    choice(f"{field}.name", o.name, optim.OPTIMIZERS)
    positive(f"{field}.lr", o.lr)
    for name in ("momentum", "b1", "b2"):
        v = getattr(o, name)
        if not is_real(v) or not 0 <= v < 1:
            raise ConfigError(f"{field}.{name}", f"must be in [0, 1), got {v!r}")
    if not is_real(o.weight_decay) or o.weight_decay < 0:
        raise ConfigError(f"{field}.weight_decay", f"must be a finite number ≥ 0, got {o.weight_decay!r}")
    positive(f"{field}.eps", o.eps)
    positive(f"{field}.gamma", o.gamma)
    choice(f"{field}.schedule", o.schedule, optim.SCHEDULES)
    if not 0 <= o.warmup_epochs < epochs:
        raise ConfigError(f"{field}.warmup_epochs", f"must be in [0, {epochs_field}={epochs}), got {o.warmup_epochs!r}")
    for ms in o.milestones:
        if not isinstance(ms, numbers.Real) or not 0 < ms < epochs:
            raise ConfigError(f"{field}.milestones", f"must be epochs in (0, {epochs}), got {tuple(o.milestones)!r}")


def count(field: str, value, minimum: int) -> None:
    if not is_int(value) or value < minimum:
        raise ConfigError(field, f"must be an integer ≥ {minimum}, got {value!r}")


def eval_section(c) -> None:
    e = c.eval
    if not is_int(e.bins) or e.bins < 0:
        raise ConfigError("eval.bins", f"must be an integer ≥ 1 (or 0 for no calibration), got {e.bins!r}")
    if not isinstance(e.every, str) or not re.fullmatch(r"0|\d+(ep|it)", e.every) or re.fullmatch(r"0+(ep|it)", e.every):
        raise ConfigError("eval.every", f"must be 'Nep' (every N epochs), 'Nit' (every N iterations) or '0' (off), "
                                        f"N ≥ 1, got {e.every!r}")
    if not is_int(e.fresh_samples) or e.fresh_samples < 0:
        raise ConfigError("eval.fresh_samples", f"must be an integer ≥ 0, got {e.fresh_samples!r}")


def against_data(c, train_size: int) -> None:
    """What every study checks against the loaded data."""
    if c.train.batch_size > train_size:
        raise ConfigError("train.batch_size", f"{c.train.batch_size} is larger than the training set ({train_size} examples)")


def layers_of(c, spec, input_shape: tuple, num_classes: int) -> list[str]:
    """The prunable layer names of the configured model on this data (ConfigError if the input does not fit)."""
    if spec.fully_connected:
        return [f"dense_{i}" for i in range(len(spec.hidden) + 1)]
    try:
        return spec.prunable_layers(c.model.widths[0], tuple(input_shape), num_classes)  # the same at every width
    except ValueError as e:
        raise ConfigError("model.name", str(e)) from None


def model_spec(c):
    """The model spec of ``model.*``."""
    return model_registry.get(c.model.name, c.model.hidden, c.model.use_bias, c.model.init)


def _kind_of(value) -> str:
    if isinstance(value, bool):
        return "True or False"
    if isinstance(value, numbers.Integral):
        return "an integer"
    if isinstance(value, numbers.Real):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (tuple, list)):
        return "a list"
    if value is None:
        return "None"
    return type(value).__name__


def _same_type(value, reference) -> bool:
    if isinstance(reference, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(reference, bool)
    if isinstance(reference, numbers.Integral):
        return isinstance(value, numbers.Integral)
    if isinstance(reference, numbers.Real):
        return isinstance(value, numbers.Real)
    if isinstance(reference, (tuple, list)):
        return isinstance(value, (tuple, list))
    if reference is None:
        return True
    return isinstance(value, type(reference))


def against_schema(c, reference, prefix: str = "") -> None:
    """Every section and field of ``reference`` (a ConfigDict, a study kind's defaults, ``Study.defaults``) is in ``c`` with a value of
    its type, and ``c`` has nothing else: ConfigError naming the field (with a "did you mean" for a misspelling)."""
    if not hasattr(c, "keys"):
        raise ConfigError(prefix.rstrip(".") or "config", f"must be a section (a ConfigDict or a dict), got {c!r}")
    for key in c.keys():
        if key not in reference:
            close = difflib.get_close_matches(key, list(reference.keys()), n=1)
            hint = f"; did you mean {prefix}{close[0]}?" if close else f"; allowed: {', '.join(sorted(reference.keys()))}"
            raise ConfigError(prefix + key, f"is not a field of the config{hint}")
    for key in reference.keys():
        field, ref = prefix + key, reference[key]
        if key not in c:
            raise ConfigError(field, "is missing" + (" (a whole section)" if hasattr(ref, "keys") else ""))
        value = c[key]
        if hasattr(ref, "keys"):
            against_schema(value, ref, field + ".")
        elif not _same_type(value, ref):
            raise ConfigError(field, f"must be {_kind_of(ref)}, got {value!r}")
