"""Array building blocks of the corruptions: filters, warps, colour spaces, all jnp on one image.

Images here are float32 [H, W, C] in [0, 1]; parameters may be traced (so one compilation serves
every severity) unless they are named as static bounds. Padding modes follow the reference code:
skimage's Gaussian uses scipy's ``nearest``, OpenCV's filter2D/warpAffine ``BORDER_REFLECT_101``
(scipy's ``mirror``, numpy's ``reflect``), the elastic field scipy's ``reflect`` (numpy's
``symmetric``).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.ndimage import map_coordinates


def gaussian_taps(sigma, radius: int) -> jax.Array:
    """Normalised Gaussian weights [2·radius + 1] for a traced ``sigma`` (≤ 0 → the identity)."""
    t = jnp.arange(-radius, radius + 1, dtype=jnp.float32)
    s = jnp.maximum(sigma, 1e-6)
    w = jnp.exp(-0.5 * (t / s) ** 2)
    return w / w.sum()


def filter1d(x: jax.Array, taps: jax.Array, axis: int, mode: str) -> jax.Array:
    """Correlation of ``x`` along ``axis`` with odd-length ``taps`` [K] (numpy pad ``mode``)."""
    r = (taps.shape[0] - 1) // 2
    pad = [(0, 0)] * x.ndim
    pad[axis] = (r, r)
    xp = jnp.pad(x, pad, mode=mode)
    n = x.shape[axis]
    return sum(taps[k] * jax.lax.slice_in_dim(xp, k, k + n, axis=axis) for k in range(taps.shape[0]))


def gaussian(x: jax.Array, sigma, radius: int, mode: str = "edge") -> jax.Array:
    """Separable Gaussian blur of [H, W, ...] over the first two axes; ``radius`` static (≥ the
    reference's truncate·σ), extra taps carry weights below e^−8 of the centre for the smaller σ."""
    taps = gaussian_taps(sigma, radius)
    return filter1d(filter1d(x, taps, 0, mode), taps, 1, mode)


def filter2d(x: jax.Array, kernel: jax.Array, mode: str = "reflect") -> jax.Array:
    """Correlation of every channel of [H, W, C] with an odd square ``kernel`` [K, K]."""
    r = (kernel.shape[0] - 1) // 2
    xp = jnp.pad(x, ((r, r), (r, r), (0, 0)), mode=mode)
    lhs = jnp.transpose(xp, (2, 0, 1))[:, None]  # [C, 1, H + 2r, W + 2r]
    out = jax.lax.conv_general_dilated(lhs, kernel[None, None], (1, 1), "VALID")
    return jnp.transpose(out[:, 0], (1, 2, 0))


def disk_kernel(radius, alias_blur, half: int) -> jax.Array:
    """CIFAR-10-C's defocus kernel [2·half + 1]²: the aliased disk x² + y² ≤ r², normalised, then
    smoothed by a 3×3 Gaussian of σ = ``alias_blur`` (OpenCV's GaussianBlur, reflect-101 border)."""
    t = jnp.arange(-half, half + 1, dtype=jnp.float32)
    yy, xx = jnp.meshgrid(t, t, indexing="ij")
    disk = (xx ** 2 + yy ** 2 <= radius ** 2).astype(jnp.float32)
    disk = disk / disk.sum()
    taps = gaussian_taps(alias_blur, 1)
    return filter1d(filter1d(disk, taps, 0, "reflect"), taps, 1, "reflect")


def motion(x: jax.Array, radius, sigma, angle_deg, max_radius: int) -> jax.Array:
    """One-sided motion blur of [H, W, C] as ImageMagick's MotionBlurImage (as re-implemented in
    ``imagecorruptions``): 2·radius + 1 taps i = 0, 1, … weighted exp(−i²/2σ²) (normalised), tap i
    samples the image shifted by i pixels along ``angle_deg`` (rounded), edges replicated.
    ``radius`` traced (integer-valued), ``max_radius`` static."""
    h, w = x.shape[:2]
    i = jnp.arange(2 * max_radius + 1, dtype=jnp.float32)
    weights = jnp.where(i < 2 * radius + 1, jnp.exp(-(i ** 2) / (2 * jnp.maximum(sigma, 1e-6) ** 2)), 0.0)
    weights = weights / weights.sum()
    a = jnp.deg2rad(angle_deg)
    dy = -jnp.ceil(i * jnp.sin(a) - 0.5).astype(jnp.int32)
    dx = -jnp.ceil(i * jnp.cos(a) - 0.5).astype(jnp.int32)
    yy = jnp.arange(h)[:, None]
    xx = jnp.arange(w)[None, :]
    out = jnp.zeros_like(x)
    for k in range(2 * max_radius + 1):
        out = out + weights[k] * x[jnp.clip(yy - dy[k], 0, h - 1), jnp.clip(xx - dx[k], 0, w - 1)]
    return out


def clipped_zoom_coords(h: int, w: int, factor):
    """Sampling rows [H] and columns [W] of CIFAR-10-C's ``clipped_zoom``: crop the centre
    ceil(size/factor), ``scipy.ndimage.zoom`` it by ``factor`` (order 1, output round(crop·factor),
    corner-aligned), trim the excess symmetrically. ``factor`` may be traced."""
    def axis(n):
        crop = jnp.ceil(n / factor)
        top = jnp.floor((n - crop) / 2)
        out = jnp.round(crop * factor)
        trim = jnp.floor((out - n) / 2)
        step = (crop - 1) / jnp.maximum(out - 1, 1)
        return top + (jnp.arange(n, dtype=jnp.float32) + trim) * step
    return axis(h), axis(w)


def sample(x: jax.Array, rows: jax.Array, cols: jax.Array, mode: str = "constant") -> jax.Array:
    """Bilinear samples of every channel of [H, W, C] at (rows, cols), each [H', W'] → [H', W', C]."""
    return jnp.stack([map_coordinates(x[..., c], [rows, cols], order=1, mode=mode)
                      for c in range(x.shape[-1])], axis=-1)


def zoom(x: jax.Array, factor) -> jax.Array:
    """``clipped_zoom(x, factor)`` [H, W, C] → [H, W, C]."""
    rows, cols = clipped_zoom_coords(x.shape[0], x.shape[1], factor)
    rr, cc = jnp.meshgrid(rows, cols, indexing="ij")
    return sample(x, rr, cc, mode="nearest")


def affine_coords(h: int, w: int, matrix: jax.Array, offset: jax.Array):
    """Source (row, col) [H, W] each of output pixel (r, c): matrix [2, 2] · (r, c) + offset [2]
    (``scipy.ndimage.affine_transform``'s convention)."""
    rr, cc = jnp.meshgrid(jnp.arange(h, dtype=jnp.float32), jnp.arange(w, dtype=jnp.float32), indexing="ij")
    return (matrix[0, 0] * rr + matrix[0, 1] * cc + offset[0],
            matrix[1, 0] * rr + matrix[1, 1] * cc + offset[1])


def xy_inverse_map(h: int, w: int, a: jax.Array, center_fixed: bool = True):
    """An inverse map written, as skimage writes it, on (x = column, y = row): source = A·p + t with
    the image centre ((W−1)/2, (H−1)/2) kept fixed when ``center_fixed``. Returns the equivalent
    (matrix [2, 2], offset [2]) on (row, col) for :func:`affine_coords`."""
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    tx = cx - (a[0, 0] * cx + a[0, 1] * cy) if center_fixed else 0.0
    ty = cy - (a[1, 0] * cx + a[1, 1] * cy) if center_fixed else 0.0
    matrix = jnp.array([[a[1, 1], a[1, 0]], [a[0, 1], a[0, 0]]])
    return matrix, jnp.stack([jnp.asarray(ty, jnp.float32), jnp.asarray(tx, jnp.float32)])


def rgb_to_hsv(x: jax.Array) -> jax.Array:
    """[..., 3] RGB in [0, 1] → HSV in [0, 1] (skimage's conventions: hue 0 where max = min, blue
    over green over red when channels tie at the maximum)."""
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    v = x.max(-1)
    delta = v - x.min(-1)
    safe = jnp.where(delta == 0, 1.0, delta)
    s = jnp.where(v == 0, 0.0, delta / jnp.where(v == 0, 1.0, v))
    h = jnp.where(b == v, 4.0 + (r - g) / safe, jnp.where(g == v, 2.0 + (b - r) / safe, (g - b) / safe))
    h = jnp.where(delta == 0, 0.0, jnp.mod(h / 6.0, 1.0))
    return jnp.stack([h, s, v], -1)


def hsv_to_rgb(x: jax.Array) -> jax.Array:
    """[..., 3] HSV in [0, 1] → RGB in [0, 1]."""
    h, s, v = x[..., 0], x[..., 1], x[..., 2]
    h6 = h * 6.0
    sector = jnp.mod(jnp.floor(h6), 6).astype(jnp.int32)
    f = h6 - jnp.floor(h6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    table = jnp.stack([jnp.stack(c, -1) for c in
                       ((v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q))], 0)  # [6, ..., 3]
    return jnp.take_along_axis(table, sector[None, ..., None], axis=0)[0]


def pixelate_operator(n: int, ratio) -> jax.Array:
    """[n, n] linear map of one axis: Pillow's BOX resize to m = floor(n·ratio) (each output
    averages the inputs whose centres fall in its box), then BOX back up to n (each output copies the
    input pixel under its centre). ``ratio`` may be traced."""
    m = jnp.maximum(jnp.floor(n * ratio + 1e-6), 1.0)
    scale = n / m
    o = jnp.arange(n, dtype=jnp.float32)[:, None]
    k = jnp.arange(n, dtype=jnp.float32)[None, :]
    down = ((o * scale <= k + 0.5) & (k + 0.5 < (o + 1) * scale) & (o < m)).astype(jnp.float32)
    down = down / jnp.maximum(down.sum(1, keepdims=True), 1.0)
    src = jnp.floor((jnp.arange(n, dtype=jnp.float32) + 0.5) * m / n)
    up = (src[:, None] == jnp.arange(n, dtype=jnp.float32)[None, :]).astype(jnp.float32)
    return up @ down


LUMA = (0.2125, 0.7154, 0.0721)  # skimage.color.rgb2gray


def luma(x: jax.Array) -> jax.Array:
    """[H, W, C] → [H, W, 1]: skimage's rgb2gray weights for C = 3, the image itself for C = 1."""
    if x.shape[-1] == 1:
        return x
    return (x * jnp.asarray(LUMA, x.dtype)).sum(-1, keepdims=True)
