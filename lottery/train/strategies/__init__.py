"""Training strategies: how one bucket's population runs a range of steps (see :mod:`.contract` for the contract).

``choose(bucket)`` takes the first of ``STRATEGIES`` that applies to the bucket's model, optimizer, backend and
config. Compaction (:mod:`.compacted`) wraps a bucket's trainer for IMP levels with a fresh optimizer;
:class:`.sliced.Sliced` runs a bucket too large for ``train.memory`` as slices of its members.
To add a strategy: one module with a :class:`Strategy` subclass, and its class in ``STRATEGIES``.
"""
from __future__ import annotations

from lottery.train.strategies.contract import Bucket, Strategy
from lottery.train.strategies.member_loop import MemberLoop
from lottery.train.strategies.packed import Packed
from lottery.train.strategies.sliced import Sliced
from lottery.train.strategies.vmapped import VmappedScan

STRATEGIES: tuple[type[Strategy], ...] = (Packed, MemberLoop, VmappedScan)  # the first that applies is used


def choose(bucket: Bucket) -> Strategy:
    """The strategy that trains ``bucket``."""
    for cls in STRATEGIES:
        if cls.applies(bucket):
            return cls(bucket)
    raise ValueError(f"no training strategy applies to {bucket.spec.name}")  # VmappedScan always applies


__all__ = ["Bucket", "Strategy", "STRATEGIES", "Sliced", "choose"]
