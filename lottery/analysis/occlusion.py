"""Geometric attribution by occlusion (docs/science.md §8; study B, section 6.4): slide a patch over one image,
replace it by a fill value, recompute the sample's angle to its own class, feature length, margin and
probability, and map the change per pixel.

All window positions of a batch of images go through one forward pass per model (each clean image
first, then its occluded copies), vmapped (or mapped) over the population's model axis.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from lottery.analysis import geometry

MAPS = ("angle_own", "length", "margin", "prob_own")


def window_starts(size: int, patch: int, stride: int) -> list[int]:
    """Top-left coordinates along one axis: 0, stride, 2·stride, … while the window fits, plus the
    position flush with the far border if the stride grid misses it."""
    starts = list(range(0, size - patch + 1, stride))
    if starts[-1] != size - patch:
        starts.append(size - patch)
    return starts


def window_masks(height: int, width: int, patch: int, stride: int) -> np.ndarray:
    """bool [P, H, W]: the pixels of every window position (rows major)."""
    if stride < 1:
        raise ValueError(f"occlusion: stride must be ≥ 1, got {stride}")
    if patch < 1 or patch > min(height, width):
        raise ValueError(f"occlusion: patch must be between 1 and the image size {height}×{width}, got {patch}")
    out = []
    for r in window_starts(height, patch, stride):
        for c in window_starts(width, patch, stride):
            m = np.zeros((height, width), bool)
            m[r:r + patch, c:c + patch] = True
            out.append(m)
    return np.stack(out)


@functools.partial(jax.jit, static_argnames=("module", "head_name", "loop"))
def _changes(module, head_name, loop, params, stats, batch, labels):
    """[K, 4, B, P]: change of each measure (MAPS order) from each clean image batch[:, 0] to its occluded
    images batch[:, 1:] (batch [B, 1 + P, H, W, C], labels [B]), per model — models vmapped, or mapped one
    after the other when ``loop`` (XLA runs vmapped convolutions slowly on CPU). Compiled once per
    (module, head, loop, shapes): Flax modules hash by value."""
    b, q = batch.shape[:2]
    flat = batch.reshape(b * q, *batch.shape[2:])
    flat_labels = jnp.repeat(labels, q)

    def one(ps):
        feats, _ = geometry.features(module, ps[0], ps[1], flat)
        w, bias = geometry.head(ps[0], head_name)
        m = geometry.measures(feats, w, bias, flat_labels)
        d = jnp.stack([m[k].reshape(b, q) for k in MAPS])  # [4, B, 1 + P]
        return d[..., 1:] - d[..., :1]

    return jax.lax.map(one, (params, stats)) if loop else jax.vmap(one)((params, stats))


def occlusion_batch(module, params, stats, head_name: str, xs, labels, patch: int, stride: int, fill,
                    loop: bool = False) -> dict:
    """Per-pixel change maps {angle_own, length, margin, prob_own: [K, B, H, W]} of images xs [B, H, W, C]
    with true classes ``labels`` [B] for a population (params, stats: flat variables with a leading model
    axis K; stats {} without batch-norm; ``head_name`` from :func:`geometry.head_name`); all B × (1 + P)
    images go through one compiled forward pass per model (``loop``: models one after the other).

    Every window (``patch`` × ``patch``, top-left corners on a ``stride`` grid, the last window flush
    with the border) is replaced by ``fill`` — a scalar, a per-channel [C] value or an image [H, W, C]
    whose window region is used — and each measure's change (occluded − clean) is averaged over the
    windows covering each pixel; a pixel no window covers (stride > patch) is 0. Margins are signed
    (geometry.measures), so a window that flips the prediction shows up as a large drop.
    ValueError (one line) for patch < 1 or larger than the image, stride < 1, a bad label or fill.
    """
    xs = jnp.asarray(xs)
    if xs.ndim != 4:
        raise ValueError(f"occlusion: xs must be images [B, H, W, C], got shape {list(xs.shape)}")
    B, H, W, C = xs.shape
    masks = window_masks(H, W, patch, stride)  # [P, H, W]
    try:
        fill_img = jnp.broadcast_to(jnp.asarray(fill, xs.dtype), (H, W, C))
    except ValueError:
        raise ValueError(f"occlusion: fill must be a scalar, [C] or [H, W, C] for an image {[H, W, C]}, got "
                         f"shape {list(np.shape(fill))}") from None
    labels = np.asarray(labels).reshape(-1)
    num_classes = params[head_name]["kernel"].shape[-1]  # kernel [K, d, C]
    if labels.shape != (B,):
        raise ValueError(f"occlusion: labels must be [{B}], one per image, got shape {list(labels.shape)}")
    bad = labels[(labels < 0) | (labels >= num_classes)]
    if bad.size:
        raise ValueError(f"occlusion: each label must be in [0, {num_classes}), got {bad.tolist()[:5]}")

    occluded = jnp.where(jnp.asarray(masks)[None, ..., None], fill_img[None, None], xs[:, None])  # [B, P, H, W, C]
    batch = jnp.concatenate([xs[:, None], occluded], axis=1)  # clean image first
    delta = _changes(module, head_name, bool(loop), params, stats, batch, jnp.asarray(labels, jnp.int32))
    m = jnp.asarray(masks, delta.dtype)
    cover = m.sum(0)  # [H, W]
    summed = jnp.einsum("kqbp,phw->kqbhw", delta, m)
    maps = jnp.where(cover > 0, summed / jnp.where(cover > 0, cover, 1.0), 0.0)
    return {k: maps[:, i] for i, k in enumerate(MAPS)}


def occlusion_maps(module, params, stats, head_name: str, x, label: int, patch: int, stride: int, fill) -> dict:
    """:func:`occlusion_batch` of one image x [H, W, C] with true class ``label``: {measure: [K, H, W]}."""
    x = jnp.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"occlusion: x must be one image [H, W, C], got shape {list(x.shape)}")
    maps = occlusion_batch(module, params, stats, head_name, x[None], [int(label)], patch, stride, fill)
    return {k: v[:, 0] for k, v in maps.items()}
