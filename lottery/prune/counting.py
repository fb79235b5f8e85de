"""How many weights a pruning step removes: ⌈f·R⌉ exactly, in int32, with f traced.

A float product f·R can land just above an integer (float32 0.2 is 0.2000000030; multiplied
by 238,200 in float64 that is 47,640.0007, whose ceiling is 47,641), so the fraction is therefore read as p / 10⁶ with
p = round(f·10⁶) — exact for fractions given to six decimal places — and ⌈p·R / 10⁶⁾⌉ is
computed with integer pieces that never overflow int32 (R < 2³¹).
"""
from __future__ import annotations

import jax.numpy as jnp

Q = 1_000_000


def ceil_fraction(fraction, count):
    """⌈fraction · count⌉ as int32; fraction float in [0, 1] (traced or not), count int32 ≥ 0."""
    p = jnp.round(jnp.asarray(fraction, jnp.float32) * Q).astype(jnp.int32)
    r = jnp.asarray(count, jnp.int32)
    a, b = r // Q, r % Q  # r = a·Q + b
    p1, p0 = p // 1000, p % 1000
    b1, b0 = b // 1000, b % 1000
    # p·b = p1·b1·10⁶ + (p1·b0 + p0·b1)·10³ + p0·b0, and the last two terms are < 2·10⁹.
    m = (p1 * b0 + p0 * b1) * 1000 + p0 * b0
    return p * a + p1 * b1 + (m + Q - 1) // Q
