"""Masked models: registry sizes, padding masks, initialisation from the true fan-in."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lottery.models import init as model_init
from lottery.models import masks as model_masks
from lottery.models import registry
from lottery.train.state import Member, param_shapes, stacked_padding_masks


def test_weight_counts_of_the_named_models():
    """OpenLTH counts (weights only): LeNet-300-100 266,200; 784→P→10 = 794·P; GMM D→P→2 = 102·P."""
    for name, width, classes, inputs, expected in [
        ("lenet_300_100", 300, 10, 784, 784 * 300 + 300 * 100 + 100 * 10),
        ("mnist_fcn2", 50, 10, 784, 794 * 50),
        ("mnist_fcn3", 25, 10, 784, 784 * 25 + 25 * 100 + 100 * 10),
        ("gmm_fcn", 7, 2, 100, 102 * 7),
    ]:
        spec = registry.get(name)
        module = spec.module(width, classes)
        shapes = param_shapes(module, (inputs,))
        masks = stacked_padding_masks(spec, shapes, [Member(width, 0)], width, inputs, classes)
        assert int(model_masks.count_weights(masks)[0]) == expected
        assert ("bias" in shapes["dense_0"]) == spec.use_bias


def test_padding_masks_and_counts_per_layer():
    spec = registry.get("mnist_fcn3")
    module = spec.module(8, 10)
    shapes = param_shapes(module, (12,))
    masks = stacked_padding_masks(spec, shapes, [Member(3, 0), Member(8, 0)], 8, 12, 10)
    one = jax.tree.map(lambda m: np.asarray(m[0]), masks)
    assert model_masks.count_per_layer(one) == {"dense_0": 12 * 3, "dense_1": 3 * 100, "dense_2": 100 * 10}
    assert one["dense_0"]["bias"].sum() == 3 and one["dense_1"]["kernel"][3:].sum() == 0


@pytest.mark.parametrize("scheme", model_init.SCHEMES)
def test_init_uses_true_fan_in_and_is_independent_of_padding(scheme):
    spec = registry.ModelSpec("t", ("W",), use_bias=True, init=scheme)
    d, true_w, padded_w = 400, 300, 600
    module = spec.module(padded_w, 2)
    shapes = param_shapes(module, (d,))
    masks = stacked_padding_masks(spec, shapes, [Member(true_w, 3)], padded_w, d, 2)
    masks = jax.tree.map(lambda m: m[0], masks)
    key = jax.random.PRNGKey(3)
    p = model_init.init_params(key, shapes, masks, scheme)
    k1, k2 = np.asarray(p["dense_0"]["kernel"]), np.asarray(p["dense_1"]["kernel"])
    assert np.all(k1[:, true_w:] == 0) and np.all(k2[true_w:] == 0) and np.all(np.asarray(p["dense_0"]["bias"])[true_w:] == 0)
    real1, real2 = k1[:, :true_w], k2[:true_w]
    # Kaiming: variance 2 / fan_in with the true fan-in (d for layer 0, true_w for layer 1, not padded_w).
    for w, fan_in in ((real1, d), (real2, true_w)):
        np.testing.assert_allclose(w.var(), 2.0 / fan_in, rtol=0.12 if w.size < 1000 else 0.03)
        if scheme == "kaiming_uniform":
            assert np.abs(w).max() <= np.sqrt(6.0 / fan_in)
    # Biases: U(±1/√fan_in).
    b = np.asarray(p["dense_0"]["bias"])[:true_w]
    assert np.abs(b).max() <= 1 / np.sqrt(d) and np.abs(b).max() > 0.5 / np.sqrt(d)
    # The same model unpadded gets the same numbers.
    module_a = spec.module(true_w, 2)
    shapes_a = param_shapes(module_a, (d,))
    masks_a = jax.tree.map(lambda m: m[0], stacked_padding_masks(spec, shapes_a, [Member(true_w, 3)], true_w, d, 2))
    pa = model_init.init_params(key, shapes_a, masks_a, scheme)
    np.testing.assert_array_equal(np.asarray(pa["dense_0"]["kernel"]), real1)
    np.testing.assert_array_equal(np.asarray(pa["dense_1"]["kernel"]), real2)


def test_coordinate_sample_depends_only_on_coordinates():
    key = jax.random.PRNGKey(0)
    a = np.asarray(model_init.coordinate_sample(key, (5, 7), "uniform"))
    b = np.asarray(model_init.coordinate_sample(key, (9, 4), "uniform"))
    np.testing.assert_array_equal(a[:5, :4], b[:5, :4])
    assert a.min() >= -1 and a.max() < 1 and len(np.unique(a)) == a.size


def test_fcn_forward_matches_numpy():
    from helpers import numpy_fcn_logits
    spec = registry.get("mnist_fcn3")
    module = spec.module(6, 4)
    x = np.random.default_rng(0).normal(size=(5, 3, 3, 1)).astype(np.float32)
    params = module.init(jax.random.PRNGKey(1), jnp.asarray(x))["params"]
    np.testing.assert_allclose(np.asarray(module.apply({"params": params}, jnp.asarray(x))),
                               numpy_fcn_logits(jax.tree.map(np.asarray, params), x), rtol=1e-5, atol=1e-5)
