"""A sweep's work units: a :class:`Grid` (or a list of configs) → grid points → units of one point and
one block of ``train.seeds``, each validated and with its own run id; the manifest record of a sweep
and the check that a workdir's manifest describes the same sweep (:func:`prepare`)."""
from __future__ import annotations

import dataclasses
import itertools
import json

import ml_collections

from lottery.core.errors import ConfigError
from lottery.store import manifest

VERSION = 1


def _local_keys(config_dict: dict) -> tuple[str, ...]:
    """Settings that may differ between the jobs of one sweep (where each host reads its data) or do not touch the
    results (``Study.local_keys``); those that extend a run (e.g. IMP's levels) change what a finished unit holds, so
    they must match."""
    from lottery import api

    return api.study_of(config_dict).local_keys()


def _unswept_keys(config: ml_collections.ConfigDict) -> tuple[str, ...]:
    """Settings a grid must not sweep: those left out of the run id, whose grid points would repeat one run."""
    from lottery import api

    study = api.study_of(config)
    return study.local_keys() + study.extending_keys


@dataclasses.dataclass(frozen=True)
class Grid:
    """``base`` config × the product of ``axes`` ({"field.path": [values…]}, the first field outermost)."""

    base: ml_collections.ConfigDict
    axes: dict


@dataclasses.dataclass(frozen=True)
class Unit:
    """One work unit: ``id`` ("p003-s1": grid point 3, seed block 1), the swept ``values``
    {field: value} of its point, its ``seeds``, ``run_id`` and resolved ``config``."""

    id: str
    point: int
    values: dict
    seeds: tuple
    run_id: str
    config: ml_collections.ConfigDict

    def record(self) -> dict:
        """The unit as the manifest lists it."""
        return {"id": self.id, "point": self.point, "values": self.values, "seeds": list(self.seeds),
                "run_id": self.run_id, "config": self.config.to_dict()}


def _set(config: ml_collections.ConfigDict, field: str, value) -> None:
    """Sets the existing dotted ``field`` of ``config`` (ConfigError if it is not a field or the value has another type)."""
    node, *path, last = [config] + field.split(".")
    for part in path:
        if not isinstance(node, ml_collections.ConfigDict) or part not in node:
            raise ConfigError(field, "is not a config field")
        node = node[part]
    if not isinstance(node, ml_collections.ConfigDict) or last not in node or isinstance(node[last], ml_collections.ConfigDict):
        raise ConfigError(field, "is not a config field")
    try:
        setattr(node, last, value)
    except (TypeError, ValueError):
        hint = "; write tuples as (1,2),(3,)" if isinstance(node[last], tuple) else ""
        raise ConfigError(field, f"cannot take {value!r} ({type(value).__name__}); it holds {node[last]!r}{hint}") from None


def _get(config: ml_collections.ConfigDict, field: str):
    """The value of the dotted ``field`` of ``config``."""
    node = config
    for part in field.split("."):
        node = node[part]
    return node


def _plain(value):
    """``value`` as plain JSON values (tuples as lists)."""
    return json.loads(json.dumps(value, default=list))


def _flat(d: dict, prefix: str = "") -> dict:
    """A nested dict as {dotted path: leaf value}."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def comparable(config_dict: dict) -> dict:
    """{dotted field: value} of a config without the settings its jobs may set differently (tuples as lists)."""
    flat = _flat(_plain(config_dict))
    local = _local_keys(config_dict)
    return {k: v for k, v in flat.items() if not any(k == p or k.startswith(p + ".") for p in local)}


def _points(configs_or_grid) -> tuple[str, dict, list[tuple[dict, ml_collections.ConfigDict]]]:
    """(kind, axes, [(values, config)]) of a Grid or a list of configs. For a list, the axes are the
    fields whose values differ between the configs, with their value per config."""
    if isinstance(configs_or_grid, Grid):
        axes = {}
        unswept = _unswept_keys(configs_or_grid.base)
        for field, values in configs_or_grid.axes.items():
            if any(field == p or field.startswith(p + ".") for p in unswept):
                raise ConfigError(field, "does not change results, so its grid points would repeat one run; "
                                         "sweep a field that changes results")
            values = list(values) if isinstance(values, (list, tuple, range)) else [values]
            if not values:
                raise ConfigError(field, "needs at least one value in the grid")
            points = []
            for v in values:  # each value through the config's own typing (an int into a float field …)
                c = ml_collections.ConfigDict(configs_or_grid.base.to_dict())
                _set(c, field, v)
                points.append(_plain(_get(c, field)))
            if len({json.dumps(p) for p in points}) < len(points):
                raise ConfigError(field, f"repeats a value in the grid {points} (its rows would be duplicated)")
            axes[field] = points
        out = []
        for combo in itertools.product(*axes.values()):
            c = ml_collections.ConfigDict(configs_or_grid.base.to_dict())
            values = dict(zip(axes, combo))
            for field, v in values.items():
                _set(c, field, tuple(v) if isinstance(v, list) else v)
            out.append((values, c))
        return "grid", axes, out
    if isinstance(configs_or_grid, (str, bytes, dict)) or not all(hasattr(c, "to_dict") for c in configs_or_grid):
        raise ConfigError("configs", "a sweep is a lottery.sweeps.Grid(base_config, {field: [values]}) or a list "
                                     f"of ConfigDicts, got {type(configs_or_grid).__name__}")
    configs = [ml_collections.ConfigDict(c.to_dict()) for c in configs_or_grid]
    if not configs:
        raise ConfigError("configs", "a sweep needs at least one config")
    flats = [comparable(c.to_dict()) for c in configs]
    keys = sorted(set().union(*flats))
    varying = [k for k in keys if len({json.dumps(f.get(k)) for f in flats}) > 1]
    axes = {k: [f.get(k) for f in flats] for k in varying}
    return "configs", axes, [({k: f.get(k) for k in varying}, c) for f, c in zip(flats, configs)]


def units(configs_or_grid, seeds_per_unit: int | None = None) -> tuple[str, dict, list[Unit]]:
    """(kind, axes, units) of a sweep; every unit's config is validated (ConfigError naming the field).

    ``configs_or_grid``: a :class:`Grid` or a sequence of ConfigDicts. ``seeds_per_unit``: train.seeds
    per unit (None or 0: all seeds of a point in one unit)."""
    from lottery import api

    if seeds_per_unit is not None and (not isinstance(seeds_per_unit, int) or seeds_per_unit < 0):
        raise ConfigError("seeds_per_unit", f"must be an integer ≥ 0 (0: all seeds in one unit), got {seeds_per_unit!r}")
    kind, axes, points = _points(configs_or_grid)
    width = max(3, len(str(len(points) - 1)))
    out, seen = [], {}
    for p, (values, config) in enumerate(points):
        seeds = tuple(config.train.seeds)
        k = seeds_per_unit or len(seeds) or 1
        blocks = [seeds[i:i + k] for i in range(0, len(seeds), k)] or [seeds]
        for b, block in enumerate(blocks):
            c = ml_collections.ConfigDict(config.to_dict())
            if block:
                c.train.seeds = block
            uid = f"p{p:0{width}d}-s{b:0{len(str(len(blocks) - 1))}d}"
            try:
                api.check(c)
            except ConfigError as e:
                raise ConfigError(e.field, f"{e.message} (sweep unit {uid}, {values or 'no swept fields'})") from None
            rid = api.run_id(c)
            if rid in seen:
                raise ConfigError("configs", f"units {seen[rid]} and {uid} are the same run {rid} "
                                             f"(their rows would be duplicated); remove one")
            seen[rid] = uid
            out.append(Unit(uid, p, values, tuple(block), rid, c))
    return kind, axes, out


def _differs(old: dict, new: dict, workdir: str) -> ConfigError:
    """The ConfigError naming the first field whose value differs between two units' configs."""
    keys = sorted(set(old) | set(new))
    field = next(k for k in keys if old.get(k) != new.get(k))
    return ConfigError(field, f"the sweep in {workdir} was made with {old.get(field)!r}, not {new.get(field)!r}; "
                              f"use a new workdir (or the sweep's own settings)")


def check_same(existing: dict, new: dict, workdir: str) -> None:
    """Refuses a manifest ``new`` that describes another sweep than ``existing`` (one-line ConfigError
    naming the first field that differs)."""
    if existing.get("version") != VERSION:
        raise ConfigError("workdir", f"{workdir} holds a sweep manifest of version {existing.get('version')}, "
                                     f"this is version {VERSION}; use a new workdir")
    if existing["seeds_per_unit"] != new["seeds_per_unit"]:
        raise ConfigError("seeds_per_unit", f"the sweep in {workdir} was made with {existing['seeds_per_unit']}, "
                                            f"not {new['seeds_per_unit']}; use a new workdir")
    if existing["kind"] == new["kind"] == "grid" and existing["axes"] != new["axes"]:
        old, now = existing["axes"], new["axes"]
        field = next(f for f in [*old, *now] if old.get(f) != now.get(f))
        raise ConfigError(field, f"the sweep in {workdir} sweeps it over {old.get(field, 'nothing (not swept)')}, "
                                 f"this one over {now.get(field, 'nothing (not swept)')}; use a new workdir")
    before = {u["id"]: u for u in existing["units"]}
    after = {u["id"]: u for u in new["units"]}
    for uid in before.keys() & after.keys():
        a, b = comparable(before[uid]["config"]), comparable(after[uid]["config"])
        if a != b:
            raise _differs(a, b, workdir)
    if before.keys() != after.keys():
        field = "train.seeds" if {u["point"] for u in before.values()} == {u["point"] for u in after.values()} else "configs"
        raise ConfigError(field, f"the sweep in {workdir} has {len(before)} units, this one {len(after)}; "
                                 f"use a new workdir")


def prepare(configs_or_grid, workdir: str, seeds_per_unit: int | None = None) -> list[Unit]:
    """Validates the sweep and writes ``DIR/manifest.json``, or checks that the manifest already there
    describes the same sweep (ConfigError naming the field otherwise). Returns the units."""
    manifest.check_workdir(workdir)
    kind, axes, out = units(configs_or_grid, seeds_per_unit)
    record = {"version": VERSION, "kind": kind, "axes": axes, "seeds_per_unit": seeds_per_unit or 0,
              "units": [u.record() for u in out]}
    existing = manifest.create(workdir, record)
    if existing is not None:
        check_same(existing, _plain(record), workdir)
    return out
