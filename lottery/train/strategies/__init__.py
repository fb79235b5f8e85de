"""Training strategies: how one bucket's population runs a range of steps (see :mod:`.contract` for the contract).

``choose(bucket)`` takes the first of ``STRATEGIES`` that applies to the bucket's model, optimizer, backend and
config; ``fit_memory(strategy, budget, need)`` returns the strategy in the fewest slices of its members
(:class:`.sliced.Sliced`) that fits ``train.memory``. (Compaction, which wraps a whole trainer for IMP levels with
a fresh optimizer, is not a strategy: :mod:`lottery.train.compaction`.)
To add a strategy: one module with a :class:`Strategy` subclass, and its class in ``STRATEGIES``.
"""
from __future__ import annotations

from lottery.train.strategies.contract import Bucket, Strategy, one_by_one
from lottery.train.strategies.member_loop import MemberLoop
from lottery.train.strategies.packed import Packed
from lottery.train.strategies.sliced import Sliced, fit_memory
from lottery.train.strategies.vmapped import VmappedScan

STRATEGIES: tuple[type[Strategy], ...] = (Packed, MemberLoop, VmappedScan)  # the first that applies is used


def choose(bucket: Bucket) -> Strategy:
    """The strategy that trains ``bucket``."""
    for cls in STRATEGIES:
        if cls.applies(bucket):
            return cls(bucket)
    raise ValueError(f"no training strategy applies to {bucket.spec.name}")  # VmappedScan always applies


__all__ = ["Bucket", "Strategy", "STRATEGIES", "Sliced", "choose", "fit_memory", "one_by_one"]
