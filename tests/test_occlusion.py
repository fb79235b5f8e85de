"""Occlusion maps of angle, length, margin and probability (docs/science.md §8, B section 6.4): a model blind to
one quadrant gives exactly zero there; every map equals a float64 numpy recomputation window by
window; bad patches, strides, labels and fills are refused in one line."""
from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lottery.analysis import occlusion
from test_geometry import random_variables
from lottery.models import registry

H = W = 8
CLASSES = 3


def _population(blind_quadrant: bool):
    """Two FCN models 64 → 6 → 5 → 3 (stacked on a model axis); optionally the first-layer kernel rows of
    the top-left 4×4 quadrant are zero, so those pixels cannot matter."""
    module = registry.get("fcn", hidden=(6, 5)).module(0, CLASSES)
    models = []
    for seed in (0, 1):
        p, _ = random_variables(module, (H, W, 1), seed)
        if blind_quadrant:
            rows = np.zeros((H, W), bool)
            rows[:4, :4] = True
            p["dense_0"]["kernel"] = jnp.where(rows.reshape(-1, 1), 0.0, p["dense_0"]["kernel"])
        models.append(p)
    return module, jax.tree.map(lambda *a: jnp.stack(a), *models), models


def _np_measures(params, x, label):
    """(angle_own°, length, signed margin, prob_own) of one image through the FCN in float64."""
    h = np.asarray(x, np.float64).reshape(1, -1)
    for name in ("dense_0", "dense_1"):
        h = np.maximum(h @ np.asarray(params[name]["kernel"], np.float64) + np.asarray(params[name]["bias"]), 0)
    X = h[0]
    Wm = np.asarray(params["dense_2"]["kernel"], np.float64).T
    b = np.asarray(params["dense_2"]["bias"], np.float64)
    z = Wm @ X + b
    i = int(np.argmax(z))
    nx = np.linalg.norm(X)
    cos = 0.0 if nx == 0 else np.clip(Wm[label] @ X / (np.linalg.norm(Wm[label]) * nx), -1, 1)
    margin = min(abs(z[i] - z[j]) / np.linalg.norm(Wm[i] - Wm[j]) for j in range(CLASSES) if j != i)
    prob = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    return math.degrees(math.acos(cos)), nx, margin if i == label else -margin, prob[label]


def test_blind_quadrant_gives_exact_zeros():
    module, stacked, _ = _population(blind_quadrant=True)
    x = jnp.asarray(np.random.default_rng(0).normal(size=(H, W, 1)), jnp.float32)
    maps = occlusion.occlusion_maps(module, stacked, {}, "dense_2", x, label=1, patch=3, stride=2, fill=0.0)
    assert set(maps) == {"angle_own", "length", "margin", "prob_own"}
    # windows start at 0, 2, 4, 5; pixels [0:2, 0:2] are covered only by the window at (0, 0), inside the quadrant
    for name, m in maps.items():
        assert m.shape == (2, H, W)
        np.testing.assert_array_equal(np.asarray(m)[:, :2, :2], 0.0, err_msg=name)
        assert np.any(np.asarray(m)[:, 4:, 4:] != 0), name


@pytest.mark.parametrize("patch,stride,fill", [(3, 2, 0.5), (2, 3, np.array([-1.0]))])
def test_maps_match_a_numpy_recomputation(patch, stride, fill):
    module, stacked, models = _population(blind_quadrant=False)
    x = np.random.default_rng(1).normal(size=(H, W, 1)).astype(np.float32)
    label = 2
    maps = occlusion.occlusion_maps(module, stacked, {}, "dense_2", x, label, patch, stride, fill)
    starts = sorted(set(range(0, H - patch + 1, stride)) | {H - patch})
    for k, params in enumerate(models):
        clean = np.array(_np_measures(params, x, label))
        total = np.zeros((4, H, W))
        count = np.zeros((H, W))
        for r in starts:
            for c in starts:
                occ = x.copy()
                occ[r:r + patch, c:c + patch, :] = fill
                total[:, r:r + patch, c:c + patch] += (np.array(_np_measures(params, occ, label)) - clean)[:, None, None]
                count[r:r + patch, c:c + patch] += 1
        ref = np.where(count > 0, total / np.maximum(count, 1), 0.0)
        if stride > patch:
            assert np.any(count == 0)  # gaps between windows stay 0
        for i, name in enumerate(("angle_own", "length", "margin", "prob_own")):
            np.testing.assert_allclose(maps[name][k], ref[i], rtol=1e-4, atol=2e-4, err_msg=name)


class _ConvBN(nn.Module):
    """A small batch-norm net (conv → BN → ReLU → pool → linear head), cheaper to compile than a ResNet."""

    @nn.compact
    def __call__(self, x, train: bool = False, mask=None):
        x = nn.BatchNorm(use_running_average=not train, name="bn")(nn.Conv(4, (3, 3), name="conv")(x), mask=mask)
        return nn.Dense(CLASSES, name="head")(jnp.mean(nn.relu(x), axis=(1, 2)))


def test_batch_norm_population_uses_running_statistics():
    module = _ConvBN()
    params, stats = random_variables(module, (H, W, 1))
    params = jax.tree.map(lambda a: jnp.stack([a, 1.1 * a]), params)
    stats = jax.tree.map(lambda a: jnp.stack([a, a]), stats)
    x = jnp.asarray(np.random.default_rng(2).normal(size=(H, W, 1)), jnp.float32)
    maps = occlusion.occlusion_maps(module, params, stats, "head", x, 0, patch=4, stride=4, fill=0.0)
    assert maps["margin"].shape == (2, H, W) and np.all(np.isfinite(np.asarray(maps["margin"])))
    stats["bn"]["mean"] = stats["bn"]["mean"] + 0.5
    moved = occlusion.occlusion_maps(module, params, stats, "head", x, 0, patch=4, stride=4, fill=0.0)
    assert not np.allclose(maps["length"], moved["length"])


def test_bad_arguments():
    module, stacked, _ = _population(blind_quadrant=False)
    x = np.zeros((H, W, 1), np.float32)
    call = lambda **kw: occlusion.occlusion_maps(module, stacked, {}, "dense_2", x, **{  # noqa: E731
        "label": 0, "patch": 2, "stride": 1, "fill": 0.0, **kw})
    with pytest.raises(ValueError, match=r"^occlusion: patch must be between 1 and the image size 8×8, got 9$"):
        call(patch=9)
    with pytest.raises(ValueError, match="patch must be"):
        call(patch=0)
    with pytest.raises(ValueError, match=r"^occlusion: stride must be ≥ 1, got 0$"):
        call(stride=0)
    with pytest.raises(ValueError, match="label must be in"):
        call(label=3)
    with pytest.raises(ValueError, match="fill must be"):
        call(fill=np.zeros(4))


def test_a_batch_equals_its_images_one_by_one_mapped_or_vmapped():
    module, stacked, _ = _population(blind_quadrant=False)
    xs = jnp.asarray(np.random.default_rng(3).normal(size=(3, H, W, 1)), jnp.float32)
    labels = [2, 0, 1]
    for loop in (False, True):
        batch = occlusion.occlusion_batch(module, stacked, {}, "dense_2", xs, labels, 3, 2, 0.0, loop=loop)
        for i, label in enumerate(labels):
            one = occlusion.occlusion_maps(module, stacked, {}, "dense_2", xs[i], label, 3, 2, 0.0)
            for k in occlusion.MAPS:
                assert batch[k].shape == (2, 3, H, W)
                np.testing.assert_allclose(batch[k][:, i], one[k], rtol=1e-5, atol=1e-5, err_msg=f"{k} {loop}")
    with pytest.raises(ValueError, match=r"^occlusion: labels must be \[3\], one per image, got shape \[2\]$"):
        occlusion.occlusion_batch(module, stacked, {}, "dense_2", xs, [0, 1], 3, 2, 0.0)
