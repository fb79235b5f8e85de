"""What the padded baselines share: the buckets a padded population trains in, and their timing.

A padded population is what a user writes without the engine's packing: the bucket's models stacked on a
leading model axis K, every one padded to the bucket's widest width (the padding masked to zero, so each
model's math is its own), one vmapped step for all. The buckets are the engine's plan for padded buckets
(``train.bucket_ratio``, no packing: the widest member at most twice the narrowest), so the baselines and the
engine's vmapped strategy pad alike. Used by :mod:`lottery.bench.torch_func` and :mod:`lottery.bench.jax_padded`.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Callable, Optional

import numpy as np

from lottery import configs
from lottery.train import buckets as bucketing
from lottery.train.state import Member


@dataclasses.dataclass(frozen=True)
class PaddedBucket:
    """One padded bucket: members (width, seed), each model's layer sizes (input, hidden…, classes) in member
    order, and the padded sizes every model is trained at."""

    members: list
    sizes: list
    padded: tuple

    @property
    def seeds(self) -> list[int]:
        return [m.seed for m in self.members]

    @property
    def padded_width(self) -> int:
        return max(m.width for m in self.members)


def padded_buckets(spec, widths, seeds, input_size: int, num_classes: int) -> list[PaddedBucket]:
    """The padded buckets of ``widths`` × ``seeds`` (the engine's unpacked bucket plan, default config)."""
    out = []
    for widths_b in bucketing.plan_for(widths, configs.base().train, packed=False, pads=spec.fully_connected):
        members = [Member(w, s) for w in widths_b for s in seeds]
        out.append(PaddedBucket(members, [spec.layer_sizes(m.width, input_size, num_classes) for m in members],
                                spec.layer_sizes(max(widths_b), input_size, num_classes)))
    return out


def stack_padded(arrays, shape) -> tuple[np.ndarray, np.ndarray]:
    """K arrays, each no larger than ``shape`` on every axis → (stacked [K, *shape] float32: each array in its
    leading corner, zeros elsewhere; mask [K, *shape] float32: 1 on each array's corner, 0 on the padding)."""
    stacked = np.zeros((len(arrays), *shape), np.float32)
    mask = np.zeros_like(stacked)
    for k, a in enumerate(arrays):
        corner = (k, *(slice(0, s) for s in np.shape(a)))
        stacked[corner], mask[corner] = a, 1.0
    return stacked, mask


@dataclasses.dataclass
class Timing:
    """Steady seconds of ``model_epochs`` model-epochs, and the compile time (first epoch minus a steady one;
    None for what compiles nothing)."""

    seconds: float = 0.0
    compile_s: Optional[float] = None
    model_epochs: int = 0

    def __add__(self, other: "Timing") -> "Timing":
        compile_s = (None if self.compile_s is None and other.compile_s is None
                     else (self.compile_s or 0.0) + (other.compile_s or 0.0))
        return Timing(self.seconds + other.seconds, compile_s, self.model_epochs + other.model_epochs)

    @property
    def model_epochs_per_s(self) -> float:
        return self.model_epochs / self.seconds


def timed_epochs(run_epoch: Callable[[int], object], epochs: int, models: int,
                 wait: Callable[[object], object] = lambda r: r, compiles: bool = True) -> Timing:
    """Times ``epochs`` epochs of ``models`` models, after an untimed epoch that compiles when ``compiles``.

    run_epoch(e) trains epoch e (0, 1, … counting the compiling one) and returns what ``wait`` blocks on (e.g.
    ``jax.block_until_ready``). compile_s: the compiling epoch minus a steady one (None when nothing compiles).
    """
    first = None
    if compiles:
        t0 = time.perf_counter()
        wait(run_epoch(0))
        first = time.perf_counter() - t0
    t0 = time.perf_counter()
    for e in range(int(compiles), epochs + int(compiles)):
        out = run_epoch(e)
    wait(out)
    seconds = time.perf_counter() - t0
    return Timing(seconds, None if first is None else max(first - seconds / epochs, 0.0), models * epochs)
