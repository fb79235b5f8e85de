"""Common corruptions: the 19 CIFAR-10-C types and 9 MNIST-C types at severities 1–5, as array ops.

``corrupt_images(images, name, severity, key)`` takes images [N, H, W, C] (C = 1 or 3, H, W ≥ 8), uint8 in
0…255 or float32 in [0, 1], and returns the same shape, dtype and range (uint8 output is rounded,
not truncated as the reference's ``np.uint8`` does). Image i is corrupted with
``jax.random.fold_in(key, i)``: the same key gives the same output bit for bit, every image gets its
own noise, and an image's corruption does not depend on the batch it is in.

(Longer than this project's ~400-line norm on purpose: the 28 corruptions are one table of parameters
and one dispatch, each type a few lines next to its documented parameters; the array primitives they share are in
``corruption_ops.py`` and the procedural textures in ``corruption_textures.py``.)

Parameters (``parameters(name, severity, shape)`` returns the ones used)
-----------------------------------------------------------------------
``RGB32`` holds the CIFAR-10-C values of Hendrycks & Dietterich (ICLR 2019), as in
``hendrycks/robustness: ImageNet-C/create_c/make_cifar_c.py`` (the ``imagecorruptions`` package
holds the ImageNet-C values, which are larger). ``GRAY28`` is the table for 28×28 grayscale: the same
values with every parameter measured in pixels (blur σ and radii, glass displacement, motion and
snow-streak radii, spatter σ, elastic α/σ/affine) multiplied by 28/32, integers rounded half up;
relative parameters (noise, zoom factors, pixelate ratio, fog/frost/snow intensities, colour
factors, JPEG quality) unchanged. One exception: defocus keeps its radii, because its kernel is the
pixel disk x² + y² ≤ r² and r·0.875 would turn severities 1–4 into the identity.
For other sizes the table is picked by channel count (C = 3 → RGB32, C = 1 → GRAY28) and the pixel
parameters are multiplied by min(H, W)/32 or min(H, W)/28 (with the same rounding; defocus included).

The MNIST-C types (Mu & Gilmer 2019, ``google-research/mnist-c: corruptions.py``) have one table,
defined at 28 px (translate is multiplied by min(H, W)/28, strokes are drawn at the image's scale):

- shear, rotate: angle 0.2, 0.4, 0.6, 0.8, 1.0 rad, sign at random; scale: zoom out by 1/0.9 … 1/0.5;
  translate: 1 … 5 px in x and y, signs at random — MNIST-C's own five levels (its dataset used
  severity 2 for shear and rotate, 3 for scale and translate). Centre fixed, order 1, zero outside.
- stripe: columns inverted at both sides, width 0.125, 0.1875, 0.25, 0.3125, 0.375 of W (MNIST-C:
  0.25, severity 3).
- dotted_line, zigzag: severity s draws s independent strokes (MNIST-C: one, severity 1).
- canny_edges, inverse: blend (1 − a)·x + a·y with the edge map / inverted image y, a = s/5
  (MNIST-C: a = 1, severity 5). Canny here is a jnp approximation of ``skimage.feature.canny``
  (σ = 1, thresholds 0.1/0.2, non-maximum suppression over 4 quantised directions, hysteresis);
  on RGB it runs on luma and the edges replace all channels.

Implementation and departures from the reference
------------------------------------------------
Everything but JPEG and spatter's water severities is jnp, jitted once per (type, image shape):
parameters are traced, so the five severities share one compilation.

- noise: gaussian x + N(0, c); shot Poisson(x·c)/c; impulse salt-and-pepper on a fraction c of the
  values; speckle x + x·N(0, c).
- gaussian_blur: separable Gaussian, truncate 4, edge padding (skimage). defocus_blur: the disk
  kernel above, smoothed by a 3×3 Gaussian, reflect-101 border (OpenCV). motion_blur: ImageMagick's
  one-sided Gaussian streak (as re-implemented in ``imagecorruptions``), angle U(−45°, 45°).
  zoom_blur: mean of the image and its centre zooms 1, 1.01, … (``scipy.ndimage.zoom`` order 1
  geometry, by ``map_coordinates``). glass_blur: blur, 8-bit truncation, the reference's sequential
  local pixel moves (run as a permutation in ``lax.fori_loop``), blur; on RGB the reference's numpy
  "swap" of two pixel views copies the displaced pixel instead of swapping (aliasing) and that is
  reproduced; on gray the values are swapped.
- snow: the reference's snow layer with this module's motion blur instead of ImageMagick's;
  frost: a procedural texture (``corruption_textures.frost_texture``) — a SUBSTITUTE for the six
  frost photographs of the original, tinted light blue on RGB; fog: diamond-square plasma (jnp).
- spatter: the liquid layer in jnp; mud (severities 4–5) as the reference; water (1–3) in numpy with
  scipy.ndimage stand-ins for OpenCV (the thresholded layer's boundary for Canny, Euclidean distance
  transform, 3×3 means, histogram equalisation, the emboss kernel); the liquid layer is clipped to
  ≤ 1 before shading. Colours on gray: their luma.
- brightness / saturate in HSV (jnp rgb↔hsv). On gray, brightness is x + c (what the HSV route
  gives) and saturate is x·(1 − 0.7875·c₂) (gray has S = 0 and hue 0: S becomes c₂, then luma), i.e.
  the IDENTITY at severities 1–3, a slight darkening at 4–5.
- contrast (per-channel mean), pixelate (Pillow BOX down to floor(size·c), back up, as matrices),
  elastic_transform (random affine by ``map_coordinates`` mode ``mirror``, Gaussian-smoothed
  U(−1, 1) displacements, truncate 3, ``map_coordinates`` mode ``reflect``).
- jpeg_compression: Pillow, quality 80, 65, 58, 50, 40, on the host (float input is rounded to 8 bit).

Non-monotone by construction of the reference table (distance from the clean image, see the tests):
saturate (0.3× and 0.1× saturation, then 1.5×, 2×, 2.5×: severity 3 is closer than 2);
elastic_transform (the affine jitter shrinks from 0.08 to 0.03 of the size while α grows: at 32 px
the distance falls with severity); glass_blur (1–3 differ only by a larger σ that smooths the shuffle
back; 4–5 shuffle twice and are farther than 1–3); spatter (water at 1–3, mud at 4–5).
"""
from __future__ import annotations

import io
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from lottery.data import corruption_ops as ops
from lottery.data import corruption_textures as tex
from lottery.core.errors import ConfigError

CIFAR_C: tuple[str, ...] = (
    "gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise", "defocus_blur", "glass_blur",
    "motion_blur", "zoom_blur", "gaussian_blur", "snow", "frost", "fog", "spatter", "brightness",
    "contrast", "saturate", "elastic_transform", "pixelate", "jpeg_compression")
MNIST_C: tuple[str, ...] = (
    "shear", "scale", "rotate", "translate", "stripe", "dotted_line", "zigzag", "canny_edges", "inverse")
ALL: tuple[str, ...] = CIFAR_C + MNIST_C
SEVERITIES = (1, 2, 3, 4, 5)

# CIFAR-10-C (make_cifar_c.py), one tuple per severity 1..5, for 32×32 RGB.
RGB32: dict[str, tuple[tuple[float, ...], ...]] = {
    "gaussian_noise": ((0.04,), (0.06,), (0.08,), (0.09,), (0.10,)),
    "shot_noise": ((500,), (250,), (100,), (75,), (50,)),
    "impulse_noise": ((0.01,), (0.02,), (0.03,), (0.05,), (0.07,)),
    "speckle_noise": ((0.06,), (0.1,), (0.12,), (0.16,), (0.2,)),
    "defocus_blur": ((0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)),  # disk radius, alias σ
    "glass_blur": ((0.05, 1, 1), (0.25, 1, 1), (0.4, 1, 1), (0.25, 1, 2), (0.4, 1, 2)),  # σ, max δ, iterations
    "motion_blur": ((6, 1), (6, 1.5), (6, 2), (8, 2), (9, 2.5)),  # radius, σ
    # zoom factors 1, 1.01, … : len(np.arange(1, stop, 0.01)) for stop 1.06, 1.11, 1.16, 1.21, 1.26
    "zoom_blur": tuple((float(len(np.arange(1, stop, 0.01))),) for stop in (1.06, 1.11, 1.16, 1.21, 1.26)),
    "gaussian_blur": ((0.4,), (0.6,), (0.7,), (0.8,), (1,)),
    # loc, scale, zoom, threshold, streak radius, streak σ, blend
    "snow": ((0.1, 0.2, 1, 0.6, 8, 3, 0.95), (0.1, 0.2, 1, 0.5, 10, 4, 0.9), (0.15, 0.3, 1.75, 0.55, 10, 4, 0.9),
             (0.25, 0.3, 2.25, 0.6, 12, 6, 0.85), (0.3, 0.3, 1.25, 0.65, 14, 12, 0.8)),
    "frost": ((1, 0.2), (1, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45)),  # image weight, frost weight
    "fog": ((0.2, 3), (0.5, 3), (0.75, 2.5), (1, 2), (1.5, 1.75)),  # intensity, plasma decay
    # loc, scale, σ, threshold, intensity (water) or σ (mud), mud
    "spatter": ((0.62, 0.1, 0.7, 0.7, 0.5, 0), (0.65, 0.1, 0.8, 0.7, 0.5, 0), (0.65, 0.3, 1, 0.69, 0.5, 0),
                (0.65, 0.1, 0.7, 0.69, 0.6, 1), (0.65, 0.1, 0.5, 0.68, 0.6, 1)),
    "brightness": ((0.05,), (0.1,), (0.15,), (0.2,), (0.3,)),
    "contrast": ((0.75,), (0.5,), (0.4,), (0.3,), (0.15,)),
    "saturate": ((0.3, 0), (0.1, 0), (1.5, 0), (2, 0.1), (2.5, 0.2)),
    # α, σ, affine: 32 × (0, 0, .08), (.05, .2, .07), (.08, .06, .06), (.1, .04, .05), (.1, .03, .03)
    "elastic_transform": tuple(tuple(32 * f for f in c) for c in (
        (0, 0, 0.08), (0.05, 0.2, 0.07), (0.08, 0.06, 0.06), (0.1, 0.04, 0.05), (0.1, 0.03, 0.03))),
    "pixelate": ((0.95,), (0.9,), (0.85,), (0.75,), (0.65,)),
    "jpeg_compression": ((80,), (65,), (58,), (50,), (40,)),
}
# MNIST-C types, at 28 px, for either channel count.
MNIST28: dict[str, tuple[tuple[float, ...], ...]] = {
    "shear": tuple((a,) for a in (0.2, 0.4, 0.6, 0.8, 1.0)),
    "rotate": tuple((a,) for a in (0.2, 0.4, 0.6, 0.8, 1.0)),
    "scale": tuple((1 / f,) for f in (0.9, 0.8, 0.7, 0.6, 0.5)),
    "translate": tuple((float(p),) for p in (1, 2, 3, 4, 5)),
    "stripe": tuple((f,) for f in (0.125, 0.1875, 0.25, 0.3125, 0.375)),
    "dotted_line": tuple((float(n),) for n in SEVERITIES),
    "zigzag": tuple((float(n),) for n in SEVERITIES),
    "canny_edges": tuple((s / 5,) for s in SEVERITIES),
    "inverse": tuple((s / 5,) for s in SEVERITIES),
}
# Parameters measured in pixels: index → "px" (real) or "int" (rounded half up, ≥ 1).
PIXEL_PARAMS: dict[str, dict[int, str]] = {
    "defocus_blur": {0: "px", 1: "px"}, "glass_blur": {0: "px", 1: "int"}, "motion_blur": {0: "int", 1: "px"},
    "gaussian_blur": {0: "px"}, "snow": {4: "int", 5: "px"}, "spatter": {2: "px"},
    "elastic_transform": {0: "px", 1: "px", 2: "px"}, "translate": {0: "px"},
}


def _scale_entry(name: str, c: tuple[float, ...], factor: float) -> tuple[float, ...]:
    units = dict(PIXEL_PARAMS.get(name, {}))
    if name == "spatter" and c[5] == 1:
        units[4] = "px"  # the mud severities use c[4] as a blur σ
    out = list(map(float, c))
    for i, unit in units.items():
        v = c[i] * factor
        out[i] = float(max(1, int(np.floor(v + 0.5)))) if unit == "int" else float(v)
    return tuple(out)


GRAY28: dict[str, tuple[tuple[float, ...], ...]] = {
    name: (table if name == "defocus_blur" else tuple(_scale_entry(name, c, 28 / 32) for c in table))
    for name, table in RGB32.items()}


def check(name: str, severity: int) -> None:
    """ConfigError (a ValueError) unless ``name`` is in ALL and ``severity`` in 1…5."""
    if name not in ALL:
        raise ConfigError("corruption", f"unknown {name!r}; allowed: {', '.join(ALL)}")
    if isinstance(severity, bool) or not isinstance(severity, (int, np.integer)) or not 1 <= severity <= 5:
        raise ConfigError("severity", f"{severity!r} is outside 1–5")


def _check_images(images) -> None:
    shape, dtype = getattr(images, "shape", None), getattr(images, "dtype", None)
    if shape is None or len(shape) != 4:
        raise ConfigError("images", f"expected a 4-D array [N, H, W, C], got shape {shape}")
    if np.dtype(dtype) not in (np.dtype(np.uint8), np.dtype(np.float32)):
        raise ConfigError("images", f"dtype {dtype} is not uint8 (0–255) or float32 (0–1)")
    if shape[3] not in (1, 3) or shape[1] < 8 or shape[2] < 8:
        raise ConfigError("images", f"shape {tuple(shape)}: need C = 1 or 3 and H, W ≥ 8")


def parameters(name: str, severity: int, shape: tuple[int, int, int]) -> tuple[float, ...]:
    """The parameters ``corrupt_images`` uses for ``name`` at ``severity`` on images of ``shape`` (H, W, C)."""
    check(name, severity)
    h, w, c = shape
    if name in MNIST28:
        return _scale_entry(name, MNIST28[name][severity - 1], min(h, w) / 28)
    table, base = (RGB32, 32) if c == 3 else (GRAY28, 28)
    return _scale_entry(name, table[name][severity - 1], min(h, w) / base)


def _bounds(name: str, shape) -> tuple[float, ...]:
    """Per-parameter maxima over the five severities (static sizes of kernels and loops)."""
    rows = np.array([parameters(name, s, shape) for s in SEVERITIES])
    return tuple(float(v) for v in rows.max(0))


# ---------------------------------------------------------------- per-image ops: (img [H,W,C], key, p, hi)

def _gaussian_noise(x, key, p, hi):
    return x + p[0] * jax.random.normal(key, x.shape)


def _shot_noise(x, key, p, hi):
    return jax.random.poisson(key, x * p[0], x.shape).astype(jnp.float32) / p[0]


def _impulse_noise(x, key, p, hi):
    u = jax.random.uniform(key, (2,) + x.shape)
    return jnp.where(u[0] < p[0], (u[1] < 0.5).astype(jnp.float32), x)


def _speckle_noise(x, key, p, hi):
    return x + x * p[0] * jax.random.normal(key, x.shape)


def _gauss_radius(sigma_max: float, truncate: float = 4.0) -> int:
    return max(1, int(truncate * sigma_max + 0.5))


def _gaussian_blur(x, key, p, hi):
    return ops.gaussian(x, p[0], _gauss_radius(hi[0]))


def _defocus_blur(x, key, p, hi):
    kernel = ops.disk_kernel(p[0], p[1], int(np.ceil(hi[0])) + 1)
    return ops.filter2d(x, kernel, "reflect")


def _glass_blur(x, key, p, hi):
    h, w, c = x.shape
    sigma, delta, iters = p[0], p[1].astype(jnp.int32), p[2].astype(jnp.int32)
    radius = _gauss_radius(hi[0])
    x = jnp.floor(jnp.clip(ops.gaussian(x, sigma, radius), 0, 1) * 255) / 255  # np.uint8(… * 255)
    hh, ww = np.meshgrid(np.arange(h - 1, 0, -1), np.arange(w - 1, 0, -1), indexing="ij")
    hh, ww = jnp.asarray(hh.ravel()), jnp.asarray(ww.ravel())
    moves = jax.random.randint(key, (int(hi[2]), hh.shape[0], 2), -delta, delta)
    copy = c == 3  # the reference's RGB "swap" of aliased views copies (see the module doc)

    def body(t, state):
        perm, it = state
        i, j = hh[t], ww[t]
        ok = (it < iters) & (i >= delta + 1) & (i <= h - delta) & (j >= delta + 1) & (j <= w - delta)
        dx, dy = moves[it, t, 0], moves[it, t, 1]
        a, b = i * w + j, (i + dy) * w + (j + dx)
        pa, pb = perm[a], perm[b]
        perm = perm.at[a].set(jnp.where(ok, pb, pa))
        if not copy:
            perm = perm.at[b].set(jnp.where(ok, pa, pb))
        return perm, it

    perm = jnp.arange(h * w)
    for it in range(int(hi[2])):
        perm, _ = jax.lax.fori_loop(0, hh.shape[0], body, (perm, jnp.int32(it)))
    x = x.reshape(h * w, c)[perm].reshape(h, w, c)
    return ops.gaussian(x, sigma, radius)


def _motion_blur(x, key, p, hi):
    angle = jax.random.uniform(key, (), minval=-45.0, maxval=45.0)
    return ops.motion(x, p[0], p[1], angle, int(hi[0]))


def _zoom_blur(x, key, p, hi):
    out = x
    for i in range(int(hi[0])):
        out = out + jnp.where(i < p[0], ops.zoom(x, 1.0 + 0.01 * i), 0.0)
    return out / (p[0] + 1)


def _snow(x, key, p, hi):
    h, w, c = x.shape
    k1, k2 = jax.random.split(key)
    layer = p[0] + p[1] * jax.random.normal(k1, (h, w, 1))
    layer = ops.zoom(layer, p[2])
    layer = jnp.where(layer < p[3], 0.0, layer)
    layer = jnp.floor(jnp.clip(layer, 0, 1) * 255) / 255  # the 8-bit PNG handed to ImageMagick
    layer = ops.motion(layer, p[4], p[5], jax.random.uniform(k2, (), minval=-135.0, maxval=-45.0), int(hi[4]))
    gray = x if c == 1 else (x * jnp.asarray((0.299, 0.587, 0.114))).sum(-1, keepdims=True)  # OpenCV RGB2GRAY
    x = p[6] * x + (1 - p[6]) * jnp.maximum(x, gray * 1.5 + 0.5)
    return x + layer + layer[::-1, ::-1]


FROST_TINT = (0.88, 0.94, 1.0)  # light blue on RGB


def _frost(x, key, p, hi):
    h, w, c = x.shape
    t = tex.frost_texture(key, h, w)[..., None]
    if c == 3:
        t = t * jnp.asarray(FROST_TINT)
    return p[0] * x + p[1] * t


def _fog(x, key, p, hi):
    h, w, _ = x.shape
    n = tex.next_pow2(max(h, w))
    top = x.max()
    x = x + p[0] * tex.plasma(key, n, p[1])[:h, :w, None]
    return x * top / (top + p[0])


def _spatter_liquid(x, key, p, hi):
    h, w, _ = x.shape
    layer = p[0] + p[1] * jax.random.normal(key, (h, w, 1))
    layer = ops.gaussian(layer, p[2], _gauss_radius(hi[2]))
    return jnp.where(layer < p[3], 0.0, layer)


def _brightness(x, key, p, hi):
    if x.shape[-1] == 1:
        return x + p[0]
    hsv = ops.rgb_to_hsv(x)
    return ops.hsv_to_rgb(hsv.at[..., 2].set(jnp.clip(hsv[..., 2] + p[0], 0, 1)))


def _saturate(x, key, p, hi):
    if x.shape[-1] == 1:
        return x * (1 - (ops.LUMA[1] + ops.LUMA[2]) * p[1])
    hsv = ops.rgb_to_hsv(x)
    return ops.hsv_to_rgb(hsv.at[..., 1].set(jnp.clip(hsv[..., 1] * p[0] + p[1], 0, 1)))


def _contrast(x, key, p, hi):
    mean = x.mean(axis=(0, 1), keepdims=True)
    return (x - mean) * p[0] + mean


def _pixelate(x, key, p, hi):
    ph = ops.pixelate_operator(x.shape[0], p[0])
    pw = ops.pixelate_operator(x.shape[1], p[0])
    return jnp.einsum("ij,jkc,lk->ilc", ph, x, pw)


def elastic_fields(key, shape, p, hi):
    """The random parts of elastic_transform for one image of ``shape`` (H, W): the affine as
    (matrix [2, 2], offset [2]) on (row, col) for ``scipy.ndimage.affine_transform`` (mode ``mirror``),
    and the displacements (d_row, d_col) [H, W] applied with ``map_coordinates`` (mode ``reflect``)."""
    h, w = shape
    u = jax.random.uniform(key, (6 + 2 * h * w,), minval=-1.0, maxval=1.0)  # one draw: affine, then fields
    cx, cy, sq = float(w // 2), float(h // 2), float(min(h, w) // 3)
    src = jnp.array([[cx + sq, cy + sq], [cx + sq, cy - sq], [cx - sq, cy - sq]])  # (x, y) as OpenCV
    dst = src + p[2] * u[:6].reshape(3, 2)
    forward = jnp.linalg.solve(jnp.concatenate([src, jnp.ones((3, 1))], 1), dst).T  # [2, 3]: dst = A·src + t
    inv = jnp.linalg.inv(forward[:, :2])
    back = -inv @ forward[:, 2]  # source (x, y) = inv·(x, y) + back
    matrix = jnp.array([[inv[1, 1], inv[1, 0]], [inv[0, 1], inv[0, 0]]])
    offset = jnp.stack([back[1], back[0]])
    radius = _gauss_radius(hi[1], truncate=3.0)
    d_col = ops.gaussian(u[6:6 + h * w].reshape(h, w), p[1], radius, "symmetric") * p[0]
    d_row = ops.gaussian(u[6 + h * w:].reshape(h, w), p[1], radius, "symmetric") * p[0]
    return matrix, offset, d_row, d_col


def _elastic_transform(x, key, p, hi):
    h, w, _ = x.shape
    matrix, offset, d_row, d_col = elastic_fields(key, (h, w), p, hi)
    rows, cols = ops.affine_coords(h, w, matrix, offset)
    x = ops.sample(x, rows, cols, mode="mirror")
    rr, cc = jnp.meshgrid(jnp.arange(h, dtype=jnp.float32), jnp.arange(w, dtype=jnp.float32), indexing="ij")
    return ops.sample(x, rr + d_row, cc + d_col, mode="reflect")


def _warp_xy(x, a, t=None):
    h, w, _ = x.shape
    if t is None:
        matrix, offset = ops.xy_inverse_map(h, w, a)
    else:
        matrix, offset = ops.xy_inverse_map(h, w, a, center_fixed=False)
        offset = offset + jnp.stack([t[1], t[0]])
    rows, cols = ops.affine_coords(h, w, matrix, offset)
    return ops.sample(x, rows, cols, mode="constant")


def _sign(key, shape=()):
    return jnp.where(jax.random.bernoulli(key, 0.5, shape), 1.0, -1.0)


def shear_matrix(angle):
    """skimage (≤ 0.18) AffineTransform(shear=angle) on (x, y): [[1, −sin], [0, cos]]."""
    return jnp.array([[1.0, -jnp.sin(angle)], [0.0, jnp.cos(angle)]])


def rotate_matrix(angle):
    return jnp.array([[jnp.cos(angle), -jnp.sin(angle)], [jnp.sin(angle), jnp.cos(angle)]])


def _shear(x, key, p, hi):
    return _warp_xy(x, shear_matrix(p[0] * _sign(key)))


def _rotate(x, key, p, hi):
    return _warp_xy(x, rotate_matrix(p[0] * _sign(key)))


def _scale(x, key, p, hi):
    return _warp_xy(x, jnp.eye(2) * p[0])


def _translate(x, key, p, hi):
    return _warp_xy(x, jnp.eye(2), p[0] * _sign(key, (2,)))


def _stripe(x, key, p, hi):
    w = x.shape[1]
    width = jnp.floor(p[0] * w + 0.5)
    cols = jnp.arange(w)[None, :, None]
    return jnp.where((cols < width) | (cols >= w - width), 1.0 - x, x)


def _dotted_line(x, key, p, hi):
    h, w, _ = x.shape
    sc = min(h, w) / 28
    rows = jax.random.randint(key, (int(hi[0]), 2), 0, h - 1).astype(jnp.float32)
    lines = jax.vmap(lambda r: tex.stroke(0.0, r[0], float(w - 1), r[1], h, w, 2.3 * sc))(rows)
    total = jnp.where((jnp.arange(int(hi[0])) < p[0])[:, None, None], lines, 0.0).sum(0)
    gaps = (jnp.floor(jnp.arange(w) / (2 * sc)) % 2 == 0)[None, :]
    return x + jnp.where(gaps, 0.0, total)[..., None]


ZIGZAG_PEAKS = 8


def _zigzag_one(r0, tilt, h, w, sc):
    c0, c1 = 2.0 * sc, 25.0 * sc
    r1 = r0 + tilt
    theta = jnp.arctan((r1 - r0) / (c1 - c0))
    length = (c1 - c0) / jnp.cos(theta)
    a = b = 2.0 * sc
    k = jnp.arange(ZIGZAG_PEAKS, dtype=jnp.float32)
    along = (2 * k + 1) * a
    inside = along <= length
    along = jnp.concatenate([jnp.zeros(1), jnp.where(inside, along, length), length[None]])
    across = jnp.concatenate([jnp.zeros(1), jnp.where(inside, b * (-1.0) ** k, 0.0), jnp.zeros(1)])
    cols = c0 + along * jnp.cos(theta) - across * jnp.sin(theta)
    rows = r0 + along * jnp.sin(theta) + across * jnp.cos(theta)
    left = cols[:-1] <= cols[1:]
    ca, cb = jnp.where(left, cols[:-1], cols[1:]), jnp.where(left, cols[1:], cols[:-1])
    ra, rb = jnp.where(left, rows[:-1], rows[1:]), jnp.where(left, rows[1:], rows[:-1])
    return jax.vmap(lambda *e: tex.stroke(*e, h, w, 2.3 * sc))(ca, ra, cb, rb).sum(0)


def _zigzag(x, key, p, hi):
    h, w, _ = x.shape
    sc = min(h, w) / 28
    n, tilt = int(hi[0]), int(round(5 * sc))
    draws = jax.random.uniform(key, (2, n))
    r0 = jnp.floor(draws[0] * (h - 1))  # randint(0, h − 1) and randint(−5, 5) as in MNIST-C
    r1 = jnp.floor(draws[1] * 2 * tilt) - tilt
    zigzags = jax.vmap(lambda a, b: _zigzag_one(a, b, h, w, sc))(r0, r1)
    total = jnp.where((jnp.arange(n) < p[0])[:, None, None], zigzags, 0.0).sum(0)
    return x + total[..., None]


def canny(gray: jax.Array, low: float = 0.1, high: float = 0.2) -> jax.Array:
    """Edge map [H, W] in {0, 1} of a gray image [H, W] (see the module doc)."""
    h, w = gray.shape
    taps = ops.gaussian_taps(1.0, 4)
    smooth = lambda z: ops.filter1d(ops.filter1d(z, taps, 0, "constant"), taps, 1, "constant")
    s = smooth(gray) / smooth(jnp.ones_like(gray))
    deriv, avg = jnp.array([-1.0, 0.0, 1.0]), jnp.array([1.0, 2.0, 1.0])
    gi = ops.filter1d(ops.filter1d(s, deriv, 0, "symmetric"), avg, 1, "symmetric")
    gj = ops.filter1d(ops.filter1d(s, avg, 0, "symmetric"), deriv, 1, "symmetric")
    mag = jnp.hypot(gi, gj)
    sector = jnp.mod(jnp.round(jnp.arctan2(gi, gj) / (jnp.pi / 4)), 4).astype(jnp.int32)
    step = jnp.array([[0, 1], [1, 1], [1, 0], [1, -1]])[sector]  # (d_row, d_col) along the gradient
    rr, cc = jnp.meshgrid(jnp.arange(h), jnp.arange(w), indexing="ij")
    ahead = mag[jnp.clip(rr + step[..., 0], 0, h - 1), jnp.clip(cc + step[..., 1], 0, w - 1)]
    behind = mag[jnp.clip(rr - step[..., 0], 0, h - 1), jnp.clip(cc - step[..., 1], 0, w - 1)]
    interior = (rr > 0) & (rr < h - 1) & (cc > 0) & (cc < w - 1)
    peak = interior & (mag >= ahead) & (mag >= behind)
    weak, strong = peak & (mag >= low), peak & (mag >= high)

    def grow(state):
        edges, _ = state
        near = jax.lax.reduce_window(edges.astype(jnp.float32), 0.0, jax.lax.max, (3, 3), (1, 1), "SAME") > 0
        new = edges | (weak & near)
        return new, jnp.any(new != edges)

    edges, _ = jax.lax.while_loop(lambda s: s[1], grow, (strong, jnp.bool_(True)))
    return edges.astype(jnp.float32)


def _canny_edges(x, key, p, hi):
    edges = canny(ops.luma(x)[..., 0])[..., None]
    return (1 - p[0]) * x + p[0] * edges


def _inverse(x, key, p, hi):
    return x + p[0] * (1 - 2 * x)


_JAX_OPS = {
    "gaussian_noise": _gaussian_noise, "shot_noise": _shot_noise, "impulse_noise": _impulse_noise,
    "speckle_noise": _speckle_noise, "defocus_blur": _defocus_blur, "glass_blur": _glass_blur,
    "motion_blur": _motion_blur, "zoom_blur": _zoom_blur, "gaussian_blur": _gaussian_blur, "snow": _snow,
    "frost": _frost, "fog": _fog, "spatter_liquid": _spatter_liquid, "brightness": _brightness,
    "contrast": _contrast, "saturate": _saturate, "elastic_transform": _elastic_transform,
    "pixelate": _pixelate, "shear": _shear, "scale": _scale, "rotate": _rotate, "translate": _translate,
    "stripe": _stripe, "dotted_line": _dotted_line, "zigzag": _zigzag, "canny_edges": _canny_edges,
    "inverse": _inverse,
}


@partial(jax.jit, static_argnames=("name", "hi"))
def _run(x, key, p, name: str, hi: tuple[float, ...]):
    """x [N, H, W, C] float32 → op ``name`` on every image with key fold_in(key, i), clipped to [0, 1]."""
    keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(x.shape[0]))
    out = jax.vmap(lambda im, k: _JAX_OPS[name](im, k, p, hi))(x, keys)
    return jnp.clip(out, 0.0, 1.0)


# ---------------------------------------------------------------- host ops (numpy / Pillow / scipy)

def _jpeg(x: np.ndarray, quality: int) -> np.ndarray:
    from PIL import Image

    out = np.empty_like(x)
    u8 = np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)
    for i, img in enumerate(u8):
        pil = Image.fromarray(img[..., 0], "L") if img.shape[-1] == 1 else Image.fromarray(img, "RGB")
        buf = io.BytesIO()
        pil.save(buf, "JPEG", quality=int(quality))
        dec = np.asarray(Image.open(buf)).astype(np.float32) / 255
        out[i] = dec.reshape(img.shape)
    return out


WATER, MUD = (175, 238, 238), (63, 42, 20)  # pale turquoise, mud brown (RGB, 0–255)


def _equalize(u8: np.ndarray) -> np.ndarray:
    """Histogram equalisation of a uint8 array as OpenCV's equalizeHist."""
    hist = np.bincount(u8.ravel(), minlength=256)
    cdf = np.cumsum(hist)
    first = cdf[np.flatnonzero(hist)[0]]
    if cdf[-1] == first:
        return u8
    lut = np.clip(np.round((cdf - first) * 255.0 / (cdf[-1] - first)), 0, 255).astype(np.uint8)
    return lut[u8]


def _water(liquid: np.ndarray) -> np.ndarray:
    """The water layer's shading [H, W] from the thresholded liquid layer [H, W] (module doc)."""
    from scipy import ndimage

    mask = liquid > 0
    edges = mask & ~ndimage.binary_erosion(mask, border_value=1)
    dist = ndimage.distance_transform_edt(~edges) if edges.any() else np.full(liquid.shape, 20.0)
    dist = ndimage.uniform_filter(np.minimum(dist, 20.0), 3, mode="mirror").astype(np.uint8)
    dist = _equalize(dist).astype(np.float64)
    emboss = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], np.float64)
    dist = np.clip(np.round(ndimage.correlate(dist, emboss, mode="mirror")), 0, 255)
    return ndimage.uniform_filter(dist, 3, mode="mirror")


def _spatter(x: jax.Array, key, p: tuple[float, ...], hi) -> np.ndarray:
    from scipy import ndimage

    liquid = np.asarray(_run(x, key, jnp.asarray(p, jnp.float32), name="spatter_liquid", hi=hi))[..., 0]
    liquid = np.where(liquid < p[3], 0.0, liquid)  # _run clips to [0, 1]; the threshold is below 1
    x = np.asarray(x, np.float32)
    c = x.shape[-1]
    colour = np.asarray(MUD if p[5] else WATER, np.float32) / 255
    if c == 1:
        colour = np.array([(colour * ops.LUMA).sum()], np.float32)
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        if p[5]:  # mud
            m = ndimage.gaussian_filter((liquid[i] > p[3]).astype(np.float64), p[4], mode="nearest", truncate=4.0)
            m[m < 0.8] = 0
            out[i] = x[i] * (1 - m[..., None]) + colour * m[..., None]
        else:
            m = liquid[i] * _water(liquid[i])
            top = m.max()
            m = m / top * p[4] if top > 0 else m
            out[i] = x[i] + m[..., None] * colour
    return np.clip(out, 0, 1)


# ---------------------------------------------------------------- the entry point

def corrupt_images(images, name: str, severity: int, key: jax.Array):
    """Corrupts ``images`` [N, H, W, C] (uint8 0–255 or float32 0–1; numpy or jax) with ``name`` at
    ``severity`` (1–5); returns the same shape, dtype, range and array kind. See the module doc."""
    check(name, severity)
    _check_images(images)
    is_numpy = isinstance(images, np.ndarray)
    dtype = np.dtype(images.dtype)
    n, h, w, c = images.shape
    p = parameters(name, severity, (h, w, c))
    if n == 0:
        return images.copy() if is_numpy else jnp.asarray(images)
    x = jnp.asarray(images, jnp.float32)
    if dtype == np.uint8:
        x = x / 255.0
    if name == "jpeg_compression":
        out = _jpeg(np.asarray(x), p[0])
    elif name == "spatter":
        out = _spatter(x, key, p, _bounds(name, (h, w, c)))
    else:
        out = _run(x, key, jnp.asarray(p, jnp.float32), name=name, hi=_bounds(name, (h, w, c)))
    if dtype == np.uint8:
        out = np.round(np.asarray(out) * 255).astype(np.uint8) if is_numpy else \
            jnp.round(jnp.asarray(out) * 255).astype(jnp.uint8)
    return np.asarray(out, dtype) if is_numpy else jnp.asarray(out, dtype)
