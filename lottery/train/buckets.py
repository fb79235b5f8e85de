"""Grouping widths into buckets: one compiled program per bucket, widths padded inside it."""
from __future__ import annotations


def plan(widths, ratio: float = 2.0, small: int = 32) -> list[list[int]]:
    """Sorted widths split into buckets whose widest member is ≤ ``ratio`` × the narrowest.

    Widths up to ``small`` go into one bucket whatever their ratio: such models are
    overhead-bound, so padding them costs less than another program. Padding 64…512 into
    one program wasted ~60% of the compute here, hence the ratio rule above that.
    """
    buckets: list[list[int]] = []
    for w in sorted(set(int(w) for w in widths)):
        if buckets and (w <= small or w <= ratio * buckets[-1][0]):
            buckets[-1].append(w)
        else:
            buckets.append([w])
    return buckets
