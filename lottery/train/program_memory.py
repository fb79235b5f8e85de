"""Device memory of a compiled program, by XLA's own memory analysis (compiled here, never run)."""
from __future__ import annotations

import hashlib
import os
import re
import time

import jax

UNITS = {"": 1, "b": 1, "kb": 10 ** 3, "mb": 10 ** 6, "gb": 10 ** 9, "tb": 10 ** 12,
         "kib": 2 ** 10, "mib": 2 ** 20, "gib": 2 ** 30, "tib": 2 ** 40}
AUTO_FRACTION = 0.9  # of an accelerator's memory (XLA reserves some; activations of evaluation live beside)
AUTO_HOST_FRACTION = 0.5  # of the host's RAM on a CPU (shared with the data and the host side of the run)

_BYTES: dict[str, int] = {}  # HLO text digest → bytes: one compile per distinct program


def lowered_bytes(lowered: jax.stages.Lowered) -> tuple[int, float]:
    """(bytes the compiled program needs on its device: arguments + outputs − aliased (donated) + temporaries, or
    XLA's peak when it reports one; seconds spent compiling it here, 0 when cached)."""
    key = hashlib.sha256(lowered.as_text().encode()).hexdigest()
    seconds = 0.0
    if key not in _BYTES:
        t0 = time.perf_counter()
        m = lowered.compile().memory_analysis()
        own = m.argument_size_in_bytes + m.output_size_in_bytes - m.alias_size_in_bytes + m.temp_size_in_bytes
        _BYTES[key] = int(max(own, getattr(m, "peak_memory_in_bytes", 0) or 0))
        seconds = time.perf_counter() - t0
    return _BYTES[key], seconds


def parse_bytes(text) -> int:
    """``80GiB`` / ``16GB`` / ``512MiB`` / ``1000000`` (bytes) → bytes (ValueError otherwise)."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([a-z]*)\s*", str(text).lower())
    if not m or m.group(2) not in UNITS:
        raise ValueError(f"memory must be a size like 80GiB, 16GB, 512MiB or a number of bytes, got {text!r}")
    return int(float(m.group(1)) * UNITS[m.group(2)])


def device_bytes() -> int:
    """Memory of this process's first device: its allocator's limit on an accelerator, the host's RAM on a CPU."""
    stats = jax.local_devices()[0].memory_stats() or {}
    if stats.get("bytes_limit"):
        return int(stats["bytes_limit"] * AUTO_FRACTION)
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * AUTO_HOST_FRACTION)


def budget(setting) -> int | None:
    """``train.memory`` → bytes (None: no budget): ``none``, ``auto`` (:func:`device_bytes`), a size or bytes."""
    if setting is None or (isinstance(setting, str) and setting.strip().lower() == "none"):
        return None
    if isinstance(setting, str) and setting.strip().lower() == "auto":
        return device_bytes()
    if isinstance(setting, bool):
        raise ValueError(f"must be 'none', 'auto', a size like 16GiB or a number of bytes, got {setting!r}")
    n = parse_bytes(setting)
    if n <= 0:
        raise ValueError(f"must be > 0 bytes, got {setting!r}")
    return n
