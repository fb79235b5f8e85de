"""A bucket too large for device memory, trained as consecutive slices of its members (``train.memory``).

Members are independent: a slice of them trains, with the strategy the bucket would use, exactly as it does in
the whole population — the same keys, data orders and padded width — so the results are bitwise those of the
unsliced bucket (``tests/test_memory_budget.py``). Each slice runs the whole chunk before the next one starts,
so the device holds one slice's program at a time; the bucket's checkpoints, pruning and evaluation are
unchanged. The number of slices is the smallest whose largest slice's chunk program fits the budget, by XLA's
memory analysis (:func:`fit_memory` with ``BucketTrainer.program_bytes``, :mod:`lottery.train.program_memory`).
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from lottery.core.errors import ConfigError
from lottery.train.strategies.contract import Bucket, Strategy
from lottery.train.strategies.packed import Packed


def even_slices(k: int, n: int, unit: int = 1) -> list[slice]:
    """n consecutive slices of k members in whole units of ``unit`` members, sizes differing by at most one unit
    (larger first)."""
    units = k // unit
    sizes = [(units // n + (i < units % n)) * unit for i in range(n)]
    edges = np.cumsum([0, *sizes])
    return [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def unit(bucket: Bucket, make) -> int:
    """Members a slice must hold together: all members of one width for a packed bucket whose members are ordered
    width by width (its groups must stay regular), else 1."""
    widths = [m.width for m in bucket.members]
    if make is not Packed:
        return 1
    per = widths.count(widths[0])
    regular = len(widths) % per == 0 and all(len(set(widths[i:i + per])) == 1 for i in range(0, len(widths), per))
    return per if regular else len(widths)


def most_slices(bucket: Bucket, make) -> int:
    """How many slices the bucket can be cut into at most (one unit each)."""
    return len(bucket.members) // unit(bucket, make)


def sub_bucket(bucket: Bucket, part: slice) -> Bucket:
    """The bucket restricted to the members of ``part`` (their label sets and augmentation keys; the padded width
    stays the whole bucket's)."""
    keys = None if bucket.augment_keys is None else bucket.augment_keys[part]
    return dataclasses.replace(bucket, members=bucket.members[part], label_set=bucket.label_set[part],
                               augment_keys=keys, reported=len(range(*part.indices(bucket.reported))))


def _take(a, part: slice, axis: int = 0):
    """``a`` restricted to ``part`` along ``axis``: an array, or the shape of one (``jax.ShapeDtypeStruct``)."""
    if isinstance(a, jax.ShapeDtypeStruct):
        shape = list(a.shape)
        shape[axis] = len(range(*part.indices(shape[axis])))
        return jax.ShapeDtypeStruct(tuple(shape), a.dtype)
    return a[(slice(None),) * axis + (part,)]


def _cut(tree, part: slice):
    return jax.tree.map(lambda a: _take(a, part), tree)


def _join(trees, axis: int = 0):
    return jax.tree.map(lambda *a: jnp.concatenate(a, axis=axis), *trees)


class Sliced(Strategy):
    """``inner`` strategies, one per slice of the members, run one after the other on each chunk.

    Built by the trainer (never chosen by :func:`lottery.train.strategies.choose`): ``Sliced(bucket, n, make)``
    with ``make(bucket) → Strategy`` the strategy of the whole bucket's kind; slices hold whole units of
    :func:`unit` members (a packed bucket's groups stay regular: every width with all its seeds).
    """

    def __init__(self, bucket: Bucket, n: int, make):
        super().__init__(bucket)
        self.parts = even_slices(len(bucket.members), n, unit(bucket, make))
        self.inner = [make(sub_bucket(bucket, p)) for p in self.parts]
        self.name = f"{self.inner[0].name} in {n} slices"
        self.curves_inside = all(s.curves_inside for s in self.inner)
        rows = [len(s.orders()) for s in self.inner]
        edges = np.cumsum([0, *rows])
        self.rows = [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]  # batch-index rows per slice

    @classmethod
    def applies(cls, bucket: Bucket) -> bool:
        return False  # built by the trainer for a memory budget, not chosen

    @property
    def hidden_units(self) -> int:
        """Hidden units computed per step over the slices (as the unsliced strategy counts them)."""
        return sum(s.hidden_units for s in self.inner)

    def orders(self) -> list[int]:
        if self.bucket.shared_order:
            return self.inner[0].orders()
        return [seed for s in self.inner for seed in s.orders()]

    def _idx(self, idx, i: int):
        return idx if self.bucket.shared_order else _take(idx, self.rows[i], axis=1)

    def begin(self, pop):
        return [s.begin(_cut(pop, p)) for s, p in zip(self.inner, self.parts)]

    def chunk(self, state, idx):
        out = [s.chunk(st, self._idx(idx, i)) for i, (s, st) in enumerate(zip(self.inner, state))]
        return [o[0] for o in out], [o[1] for o in out]

    def chunk_with_curves(self, state, idx, start, probe):
        out = []
        for i, (s, st, p) in enumerate(zip(self.inner, state, self.parts)):
            batches = tuple((xb, yb[:, p], vb) for xb, yb, vb in probe.batches)
            out.append(s.chunk_with_curves(st, self._idx(idx, i), start, probe.replaced(batches=batches)))
        return [o[0] for o in out], [o[1] for o in out], _join([o[2] for o in out], axis=1)

    def member_losses(self, loss) -> np.ndarray:
        return np.concatenate([s.member_losses(np.asarray(l)) for s, l in zip(self.inner, loss)], axis=1)

    def end(self, state, pop):
        return _join([s.end(st, _cut(pop, p)) for s, st, p in zip(self.inner, state, self.parts)])

    def cache_size(self) -> int:
        return sum(s.cache_size() for s in self.inner)

    def lower(self, pop, idx):
        """The largest slice's program (the first: slices are ordered by size)."""
        return self.inner[0].lower(_cut(pop, self.parts[0]), self._idx(idx, 0))

    def held(self, pop) -> int:
        return self.inner[0].held(_cut(pop, self.parts[0]))


def fit_memory(strategy: Strategy, budget: int, need: Callable[[Strategy], int]) -> tuple[Strategy, int]:
    """(the strategy that trains ``strategy``'s bucket within ``budget`` bytes, its number of slices): ``strategy``
    itself and 1 when its chunk program fits (``need(s)``: the bytes the program of ``s`` needs), else a
    :class:`Sliced` of its kind in the fewest consecutive slices whose program fits — the memory of n slices is
    estimated from the whole bucket's and half of it, then checked. Nothing is changed: the caller adopts the value.
    ConfigError (``train.memory``) when even the smallest slice does not fit."""
    whole = need(strategy)
    if whole <= budget:
        return strategy, 1
    bucket, kind = strategy.bucket, type(strategy)
    k = most_slices(bucket, kind)
    n = min(2, k)
    if k > 2:
        half = need(Sliced(bucket, 2, kind))
        per_unit = max((whole - half) / (k - (k + 1) // 2), 1.0)
        fixed = whole - per_unit * k
        fits = max(int((budget - fixed) // per_unit), 1)  # units per slice, by the estimate
        n = min(max(2, -(-k // fits)), k)
    while True:
        sliced = Sliced(bucket, n, kind)
        bytes_needed = need(sliced)
        if bytes_needed <= budget:
            return sliced, n
        if n >= k:
            raise ConfigError("train.memory", f"the smallest slice of {bucket.spec.name} members (width "
                                              f"{bucket.padded_width}) needs {bytes_needed:,} bytes to train, more "
                                              f"than the budget {budget:,}")
        n += 1
