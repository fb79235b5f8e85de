"""Random textures and strokes for the weather and MNIST-C corruptions, as jnp functions of a key.

- :func:`plasma` — the diamond-square ("plasma fractal") height map that CIFAR-10-C's fog uses
  (Hendrycks & Dietterich 2019, after FLHerne/mapgen): [n, n] float32 in [0, 1], n a power of two.
- :func:`frost_texture` — a SUBSTITUTE for the frost photographs of CIFAR-10-C (six ice pictures
  that ship with the original code, not with this project): a rough plasma layer plus crystal
  streaks (sparse seeds smeared along three random directions), [H, W] float32 in [0, 1], mean ≈ 0.46
  at 32×32. It looks like frost; it is not their frost, and its brightness is not calibrated to them.
- :func:`stroke` — the intensity of a drawn stroke between two points as MNIST-C draws its lines
  (Mu & Gilmer 2019): 1 + log(1 − d/2.3), clipped to [0, 1], where d is the vertical distance of a
  pixel from the segment within the segment's columns; the 2.3-pixel half-width is scaled with the
  image.

All are pure, jit-able and deterministic per key.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp


def plasma(key: jax.Array, n: int, decay) -> jax.Array:
    """Diamond-square height map [n, n] in [0, 1] (wrap-around); ``decay`` (traced ok) divides the
    random amplitude at every halving of the step (larger → smoother). The amplitude starts at 100
    and each new point is the mean of its four neighbours + amplitude · U(−amplitude, amplitude)."""
    if n & (n - 1):
        raise ValueError(f"plasma: size {n} is not a power of two")
    grid = jnp.zeros((n, n), jnp.float32)
    noise = jax.random.uniform(key, (n * n,), minval=-1.0, maxval=1.0)  # every level's draws, one call
    used = 0

    def draw(shape, amp):
        nonlocal used
        size = shape[0] * shape[1]
        out = amp * amp * noise[used:used + size].reshape(shape)  # amplitude · U(−amplitude, amplitude)
        used += size
        return out

    amp = jnp.float32(100.0)
    step = n
    while step >= 2:
        half = step // 2
        corners = grid[0::step, 0::step]
        around = corners + jnp.roll(corners, -1, axis=0)
        around = around + jnp.roll(around, -1, axis=1)
        grid = grid.at[half::step, half::step].set(around / 4 + draw(around.shape, amp))
        centres, corners = grid[half::step, half::step], grid[0::step, 0::step]
        horizontal = centres + jnp.roll(centres, 1, axis=0) + corners + jnp.roll(corners, -1, axis=1)
        grid = grid.at[0::step, half::step].set(horizontal / 4 + draw(horizontal.shape, amp))
        vertical = centres + jnp.roll(centres, 1, axis=1) + corners + jnp.roll(corners, -1, axis=0)
        grid = grid.at[half::step, 0::step].set(vertical / 4 + draw(vertical.shape, amp))
        step = half
        amp = amp / decay
    grid = grid - grid.min()
    return grid / jnp.maximum(grid.max(), 1e-12)


def next_pow2(n: int) -> int:
    return 1 << max(0, math.ceil(math.log2(max(n, 1))))


def frost_texture(key: jax.Array, h: int, w: int) -> jax.Array:
    """Procedural frost [h, w] in [0, 1]: 0.45·rough plasma + 0.55·crystal streaks (module doc).

    The streaks are sparse seeds (4 % of the pixels) smeared by one kernel holding three
    antialiased needles through its centre at random angles, brightness fading towards their ends."""
    n = next_pow2(max(h, w))
    k_base, k_rest = jax.random.split(key)
    base = plasma(k_base, n, 1.6)[:h, :w]
    draws = jax.random.uniform(k_rest, (h * w + 3,))
    seeds = (draws[:h * w] < 0.04).astype(jnp.float32).reshape(h, w)
    angles = draws[h * w:] * jnp.pi
    length = max(2, round(0.15 * max(h, w)))
    t = jnp.arange(-length, length + 1, dtype=jnp.float32)
    dy, dx = jnp.meshgrid(t, t, indexing="ij")
    needles = [jnp.clip(1 - jnp.abs(dx * jnp.sin(a) - dy * jnp.cos(a)), 0, 1)
               * jnp.clip(1 - jnp.abs(dx * jnp.cos(a) + dy * jnp.sin(a)) / (length + 1), 0, 1)
               for a in (angles[0], angles[1], angles[2])]
    kernel = jnp.maximum(jnp.maximum(needles[0], needles[1]), needles[2])
    padded = jnp.pad(seeds, length)[None, None]
    streaks = jax.lax.conv_general_dilated(padded, kernel[None, None], (1, 1), "VALID")[0, 0]
    return jnp.clip(0.45 * base + 0.55 * jnp.clip(streaks, 0, 1), 0.0, 1.0)


def stroke(c0, r0, c1, r1, h: int, w: int, width: float = 2.3) -> jax.Array:
    """MNIST-C-style stroke [h, w] in [0, 1] from (column c0, row r0) to (c1, r1), c0 ≤ c1 (traced ok).

    Pixel (r, c) with floor(c0) ≤ c < ceil(c1) gets 1 + log(1 − d/width) with d = |r − line(c)| the
    vertical distance to the line (0 where d ≥ width); a segment with c0 == c1 draws nothing."""
    rr = jnp.arange(h, dtype=jnp.float32)[:, None]
    cc = jnp.arange(w, dtype=jnp.float32)[None, :]
    run = c1 - c0
    flat = jnp.abs(run) < 1e-6
    slope = (r1 - r0) / jnp.where(flat, 1.0, run)
    dist = jnp.clip(jnp.abs(rr - (slope * (cc - c0) + r0)), 0.0, width * (1 - 1e-7))
    value = jnp.clip(jnp.log1p(-dist / width) + 1.0, 0.0, 1.0)
    inside = (cc >= jnp.floor(c0)) & (cc < jnp.ceil(c1))
    return jnp.where(inside & ~flat, value, 0.0)
