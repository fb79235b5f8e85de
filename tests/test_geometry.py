"""Latent geometry (docs/science.md §8): the encoder / head split of every family, per-sample angles, lengths and
margins, per-class summaries and model-vs-model deltas; the curse-of-dimensionality check.

References are independent of the library: a float64 Python loop over samples and class pairs
(math.acos, explicit boundary distances), penultimate activations written out with numpy or with the
Flax submodules applied one by one, counts by hand, and the closed form (180/π)/√d.
"""
from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lottery.analysis import dimensionality, geometry
from lottery.models import densenet, layers, registry, resnet


# ---------------------------------------------------------------- independent references

def _loop_measures(feats, W, b, labels):
    """Per-sample angles (degrees), length, pred, correct, signed margin by explicit loops in float64."""
    feats, W = np.asarray(feats, np.float64), np.asarray(W, np.float64)
    b = np.zeros(len(W)) if b is None else np.asarray(b, np.float64)
    out = {"angles": [], "length": [], "pred": [], "correct": [], "margin": []}
    for x, y in zip(feats, labels):
        nx = math.sqrt(sum(v * v for v in x))
        angles = []
        for w in W:
            nw = math.sqrt(sum(v * v for v in w))
            cos = 0.0 if nx == 0 or nw == 0 else max(-1.0, min(1.0, float(np.dot(w, x)) / (nx * nw)))
            angles.append(math.degrees(math.acos(cos)))
        logits = [float(np.dot(w, x)) + bc for w, bc in zip(W, b)]
        i = int(np.argmax(logits))
        dists = []
        for j in range(len(W)):
            if j == i:
                continue
            dw = W[i] - W[j]
            gap = float(np.dot(dw, x)) + b[i] - b[j]
            norm = math.sqrt(float(np.dot(dw, dw)))
            if norm == 0:
                dists.append(0.0 if gap == 0 else math.inf)
            else:
                dists.append(abs(gap) / norm)
        d = min(dists) if dists else math.inf
        out["angles"].append(angles)
        out["length"].append(nx)
        out["pred"].append(i)
        out["correct"].append(i == y)
        out["margin"].append(d if i == y else -d)
    return {k: np.asarray(v) for k, v in out.items()}


def random_variables(module, shape, seed=0):
    """(flat params, flat batch stats) of ``module`` for inputs of ``shape``, drawn with numpy from the
    abstract shapes (Flax's own init of a conv net takes seconds to compile on CPU): kernels
    N(0, 1/fan_in), biases N(0, 0.1²), batch-norm scales U[0.5, 1.5), running variances U[0.5, 2)."""
    rng = np.random.default_rng(seed)
    v = jax.eval_shape(module.init, jax.random.PRNGKey(0), jnp.zeros((1, *shape)))

    def draw(layer, leaf, s):
        if leaf == "kernel":
            return rng.normal(size=s) / np.sqrt(np.prod(s[:-1]))
        if leaf in ("scale", "var"):
            return rng.uniform(0.5, 1.5 if leaf == "scale" else 2.0, size=s)
        return 0.1 * rng.normal(size=s)  # bias, batch-norm shift, running mean

    out = [{name: {leaf: jnp.asarray(draw(name, leaf, a.shape), jnp.float32) for leaf, a in layer.items()}
            for name, layer in layers.flat(v.get(col, {})).items()} for col in ("params", "batch_stats")]
    return out[0], out[1]


def _init(spec_name, width, shape, classes=10, seed=0, **kw):
    module = registry.get(spec_name, **kw).module(width, classes)
    return (module, *random_variables(module, shape, seed))


# ---------------------------------------------------------------- measures

@pytest.mark.parametrize("with_bias", [True, False])
def test_measures_match_a_loop(with_bias):
    rng = np.random.default_rng(0)
    B, d, C = 40, 7, 5
    feats = rng.normal(size=(B, d)).astype(np.float32)
    feats[3] = 0.0  # a dead feature vector: every angle 90°
    W = rng.normal(size=(C, d)).astype(np.float32)
    b = rng.normal(size=C).astype(np.float32) if with_bias else None
    logits = feats @ W.T + (0 if b is None else b)
    labels = np.where(np.arange(B) % 2 == 0, logits.argmax(1), rng.integers(0, C, B))  # ≥ half correct
    m = jax.jit(geometry.measures)(feats, W, b, labels)
    ref = _loop_measures(feats, W, b, labels)

    np.testing.assert_allclose(m["angles"], ref["angles"], atol=2e-3)
    np.testing.assert_allclose(m["angles"][3], 90.0)
    np.testing.assert_allclose(m["angle_own"], ref["angles"][np.arange(B), labels], atol=2e-3)
    np.testing.assert_allclose(m["length"], ref["length"], rtol=1e-5)
    np.testing.assert_array_equal(m["pred"], ref["pred"])
    np.testing.assert_array_equal(m["correct"], ref["correct"])
    assert 0 < ref["correct"].sum() < B
    np.testing.assert_allclose(m["margin"], ref["margin"], rtol=1e-4, atol=1e-5)
    # the sign flips exactly on the misclassified samples
    nonzero = ref["margin"] != 0
    np.testing.assert_array_equal(np.asarray(m["margin"])[nonzero] < 0, ~ref["correct"][nonzero])
    z = logits - logits.max(1, keepdims=True) if b is not None else feats @ W.T - (feats @ W.T).max(1, keepdims=True)
    prob = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    np.testing.assert_allclose(m["prob"], prob, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m["prob_own"], prob[np.arange(B), labels], rtol=1e-5, atol=1e-6)


def test_margin_with_equal_class_rows():
    """W_i = W_j: the same bias → tie everywhere (margin 0); another bias → that pair never decides."""
    W = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], np.float32)
    x = np.array([[2.0, 1.0]], np.float32)
    m = geometry.measures(x, W, np.zeros(3, np.float32), np.array([0]))
    assert float(m["margin"][0]) == 0.0
    b = np.array([0.5, 0.0, 0.0], np.float32)  # class 0 always beats class 1; boundary with 2 only
    m = geometry.measures(x, W, b, np.array([0]))
    expected = abs(2.0 + 0.5 - 1.0) / math.sqrt(2.0)
    np.testing.assert_allclose(m["margin"][0], expected, rtol=1e-6)
    ref = _loop_measures(x, W, b, [0])
    np.testing.assert_allclose(m["margin"], ref["margin"], rtol=1e-6)


def test_class_summary_and_deltas():
    labels = np.array([0, 0, 0, 1, 1, 3])  # class 2 has no sample
    m = {"correct": np.array([True, True, False, False, False, True]),
         "angle_own": np.array([10.0, 30.0, 80.0, 70.0, 90.0, 5.0], np.float32),
         "length": np.array([1.0, 3.0, 2.0, 4.0, 6.0, 2.0], np.float32),
         "margin": np.array([0.5, 1.5, -1.0, -2.0, -4.0, 3.0], np.float32)}
    s = geometry.class_summary(m, labels, 4)
    np.testing.assert_array_equal(s["count"], [3, 2, 0, 1])
    np.testing.assert_array_equal(s["correct_count"], [2, 0, 0, 1])
    np.testing.assert_array_equal(s["incorrect_count"], [1, 2, 0, 0])
    np.testing.assert_allclose(s["accuracy"], [2 / 3, 0.0, 0.0, 1.0])
    np.testing.assert_allclose(s["angle_own_mean_correct"], [20.0, 0.0, 0.0, 5.0])
    np.testing.assert_allclose(s["angle_own_std_correct"], [10.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(s["length_mean_incorrect"], [2.0, 5.0, 0.0, 0.0])
    np.testing.assert_allclose(s["length_std_incorrect"], [0.0, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(s["margin_mean_incorrect"], [-1.0, -3.0, 0.0, 0.0])
    assert all(np.all(np.isfinite(v)) for v in s.values())

    a = np.array([True, True, False, False])
    b = np.array([True, False, True, False])
    np.testing.assert_array_equal(geometry.delta_categories(a, b), [0, 1, 2, 3])
    assert geometry.delta_categories(a, b).dtype == jnp.int8
    m_b = {k: np.asarray(v)[:4] + 1 for k, v in m.items() if k != "correct"} | {"correct": b}
    m_a = {k: np.asarray(v)[:4] for k, v in m.items() if k != "correct"} | {"correct": a}
    d = geometry.deltas(m_a, m_b)
    for k in ("angle_own", "length", "margin"):
        np.testing.assert_allclose(d[k], 1.0)
    np.testing.assert_array_equal(d["category"], [0, 1, 2, 3])


# ---------------------------------------------------------------- the encoder / head split

def test_fcn_features_by_hand():
    module, params, stats = _init("fcn", 6, (4, 3, 1), classes=5, hidden=("W", 8))
    x = np.random.default_rng(1).normal(size=(9, 4, 3, 1)).astype(np.float32)
    feats, logits = geometry.features(module, params, stats, x)
    h = x.reshape(9, -1).astype(np.float64)
    for name in ("dense_0", "dense_1"):
        h = np.maximum(h @ np.asarray(params[name]["kernel"]) + np.asarray(params[name]["bias"]), 0)
    np.testing.assert_allclose(feats, h, rtol=1e-5, atol=1e-5)
    assert geometry.head_name(module, params, (4, 3, 1)) == "dense_2"
    W, b = geometry.head(params, "dense_2")
    assert W.shape == (5, 8) and b.shape == (5,)
    np.testing.assert_allclose(np.asarray(feats) @ np.asarray(W).T + np.asarray(b), logits, rtol=1e-5, atol=1e-5)


def test_lenet5_features_from_its_submodules():
    module, params, stats = _init("lenet5", 1, (16, 16, 1), classes=10)
    x = jnp.asarray(np.random.default_rng(2).normal(size=(3, 16, 16, 1)), jnp.float32)
    feats, logits = jax.jit(lambda p, x: geometry.features(module, p, {}, x))(params, x)

    def conv(name, features, padding, h):
        return nn.Conv(features, (5, 5), padding=padding).apply({"params": params[name]}, h)

    h = nn.max_pool(jax.nn.relu(conv("conv0", 6, 2, x)), (2, 2), strides=(2, 2))
    h = nn.max_pool(jax.nn.relu(conv("conv1", 16, "VALID", h)), (2, 2), strides=(2, 2))
    h = np.asarray(h, np.float64).reshape(3, -1)
    for name in ("dense0", "dense1"):
        h = np.maximum(h @ np.asarray(params[name]["kernel"]) + np.asarray(params[name]["bias"]), 0)
    assert feats.shape == (3, 84)
    np.testing.assert_allclose(feats, h, rtol=1e-4, atol=1e-5)
    assert geometry.head_name(module, params, (16, 16, 1)) == "head"
    W, b = geometry.head(params, "head")
    np.testing.assert_allclose(np.asarray(feats) @ np.asarray(W).T + np.asarray(b), logits, rtol=1e-4, atol=1e-5)


class _ResNet8Body(nn.Module):
    """resnet_8's layers up to the pool, built from the same blocks under the same names."""

    width: int

    @nn.compact
    def __call__(self, x):
        x = nn.relu(resnet.conv_bn(x, self.width, 3, 1, False, "stem"))
        for s, filters in enumerate((self.width, 2 * self.width, 4 * self.width)):
            x = resnet.BasicBlock(filters, 2 if s > 0 else 1, name=f"stage{s}_block0")(x, False)
        return jnp.mean(x, axis=(1, 2))


def test_resnet8_features_and_vmap_over_models():
    shape = (8, 8, 1)
    models = [_init("resnet_8", 2, shape, classes=3, seed=s) for s in (0, 1)]
    module = models[0][0]
    params = [m[1] for m in models]
    stats = [m[2] for m in models]  # random running statistics: eval mode must use them
    x = jnp.asarray(np.random.default_rng(3).normal(size=(5, *shape)), jnp.float32)

    stacked_p = jax.tree.map(lambda *a: jnp.stack(a), *params)
    stacked_s = jax.tree.map(lambda *a: jnp.stack(a), *stats)
    feats, logits = jax.jit(jax.vmap(lambda p, s: geometry.features(module, p, s, x)))(stacked_p, stacked_s)
    assert feats.shape == (2, 5, 8) and logits.shape == (2, 5, 3)
    name = geometry.head_name(module, params[0], shape)
    assert name == "head"
    for k in range(2):
        body = {"params": layers.nested({n: v for n, v in params[k].items() if n != "head"}),
                "batch_stats": layers.nested(stats[k])}
        ref = jax.jit(_ResNet8Body(2).apply)(body, x)
        np.testing.assert_allclose(feats[k], ref, rtol=1e-4, atol=1e-5)
        W, b = geometry.head(params[k], name)
        np.testing.assert_allclose(feats[k] @ W.T + b, logits[k], rtol=1e-4, atol=1e-5)
    assert not np.allclose(feats[0], feats[1])


@pytest.mark.parametrize("family,shape,width", [("vgg11", (32, 32, 3), 64), ("densenet121", (32, 32, 3), 32),
                                                ("resnet18", (32, 32, 3), 64), ("mnist_fcn3", (28, 28, 1), 300)])
def test_full_size_families_have_a_head(family, shape, width):
    """The split traced abstractly on the full-size nets (nothing computed)."""
    spec = registry.get(family)
    params = layers.flat(jax.eval_shape(lambda: spec.module(width, 10).init(jax.random.PRNGKey(0),
                                                                               jnp.zeros((1, *shape))))["params"])
    name = geometry.head_name(spec.module(width, 10), params, shape)
    assert name == ("dense_2" if family == "mnist_fcn3" else "head")
    assert params[name]["kernel"].shape[-1] == 10


def test_small_densenet_features():
    module = densenet.densenet((1, 1), 2, 4)  # DenseNet-121's class with two one-layer blocks
    params, stats = random_variables(module, (8, 8, 3))
    x = jnp.asarray(np.random.default_rng(4).normal(size=(2, 8, 8, 3)), jnp.float32)
    feats, logits = jax.jit(lambda p, s: geometry.features(module, p, s, x))(params, stats)
    W, b = geometry.head(params, geometry.head_name(module, params, (8, 8, 3)))
    assert feats.shape == (2, W.shape[1])
    np.testing.assert_allclose(feats @ W.T + b, logits, rtol=1e-4, atol=1e-4)


class _DenseThenSoftmax(nn.Module):
    @nn.compact
    def __call__(self, x, train: bool = False):
        return jax.nn.softmax(nn.Dense(3, name="head")(x.reshape(len(x), -1)))


class _DenseThenSum(nn.Module):
    @nn.compact
    def __call__(self, x, train: bool = False):
        return nn.Dense(3, name="head")(x.reshape(len(x), -1)).sum(-1, keepdims=True)


class _NoDense(nn.Module):
    @nn.compact
    def __call__(self, x, train: bool = False):
        return nn.Conv(3, (1, 1), name="conv")(x).mean(axis=(1, 2))


@pytest.mark.parametrize("cls", [_DenseThenSoftmax, _DenseThenSum, _NoDense])
def test_no_final_linear_layer(cls):
    module = cls()
    x = jnp.ones((2, 4, 4, 1))
    params = layers.flat(module.init(jax.random.PRNGKey(0), x)["params"])
    with pytest.raises(ValueError, match=rf"^model: {cls.__name__} has no final linear layer$"):
        geometry.features(module, params, {}, x)
    with pytest.raises(ValueError, match="has no final linear layer"):
        geometry.head_name(module, params, (4, 4, 1))


# ---------------------------------------------------------------- curse of dimensionality

def test_random_angles_approach_90_degrees():
    t = dimensionality.random_angles([2, 100, 2000], 1000, jax.random.PRNGKey(0))
    assert list(t["dim"]) == [2, 100, 2000]
    assert np.all(np.diff(t["std"]) < 0)
    np.testing.assert_allclose(t["mean"].iloc[1:], 90.0, atol=1.0)
    np.testing.assert_allclose(t["std"].iloc[-1], (180 / np.pi) / np.sqrt(2000), rtol=0.07)
    np.testing.assert_allclose(t["std"].iloc[-2], (180 / np.pi) / np.sqrt(100), rtol=0.08)
    np.testing.assert_allclose(t["std"].iloc[0], np.degrees(np.pi / np.sqrt(12)), rtol=0.08)  # uniform on [0, π]


def test_feature_angles_loop():
    rng = np.random.default_rng(5)
    feats, W = rng.normal(size=(6, 4)), rng.normal(size=(3, 4))
    ref = np.degrees([[math.acos(np.dot(f, w) / np.linalg.norm(f) / np.linalg.norm(w)) for w in W] for f in feats])
    mean, std = dimensionality.feature_angles(feats.astype(np.float32), W.astype(np.float32))
    np.testing.assert_allclose([mean, std], [ref.mean(), ref.std()], rtol=1e-4)
