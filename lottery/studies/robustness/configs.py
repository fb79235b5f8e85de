"""A robustness run's architectures (``robustness.architectures``, "model:width" strings) and the config of
each: the run's config with ``model.name`` / ``model.widths`` set to that one architecture, its ``kind`` left as it
is; every architecture's checks report on ``robustness.architectures`` with the architecture named."""
from __future__ import annotations

from typing import Callable

import ml_collections

from lottery.core.errors import ConfigError


def architectures(r) -> list[tuple[str, int]]:
    """``robustness.architectures`` ("name:width" strings) → [(model name, width)]."""
    out = []
    for a in r.architectures:
        name, _, width = str(a).partition(":")
        out.append((name, int(width) if width else 1))
    return out


def arch_tag(name: str, width: int) -> str:
    """The architecture's name in the workdir ("lenet5-w1"): checkpoints, analysis parts, table rows."""
    return f"{name}-w{width}"


def arch_config(config, name: str, width: int) -> ml_collections.ConfigDict:
    """A copy of ``config`` with ``model.name`` / ``model.widths`` set to one architecture."""
    c = ml_collections.ConfigDict(config.to_dict())
    c.model.name, c.model.widths = name, (width,)
    return c


def architecture_configs(c) -> list:
    """[(label "model:width", its config)] of a robustness run, in ``robustness.architectures`` order."""
    return [(f"{name}:{width}", arch_config(c, name, width)) for name, width in architectures(c.robustness)]


def check_each_architecture(c, check: Callable) -> None:
    """check(architecture config) for every architecture; errors on ``model.*`` are reported on
    ``robustness.architectures`` with the architecture named, the others as they are."""
    for label, arch in architecture_configs(c):
        try:
            check(arch)
        except ConfigError as e:
            if e.field.startswith("model."):
                raise ConfigError("robustness.architectures", f"{label}: {e.message}") from None
            raise
