"""Convolutional families: prunable-weight counts against explicit formulas from the layer shapes
(OpenLTH's counts), forward shapes, batch-norm statistics, bad depths."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lottery.models import conv


def cifar_resnet_count(depth, w, channels=3, classes=10):
    """conv and linear weights of OpenLTH's cifar_resnet_{depth}_{w}, written out layer by layer."""
    n = (depth - 2) // 6
    total = channels * w * 9  # stem
    cin = w
    for stage, filters in enumerate((w, 2 * w, 4 * w)):
        for block in range(n):
            total += cin * filters * 9 + filters * filters * 9
            if cin != filters:  # the downsampling block's 1×1 shortcut
                total += cin * filters
            cin = filters
    return total + 4 * w * classes


def test_openlth_resnet_20_16_has_270896_weights():
    assert cifar_resnet_count(20, 16) == 270_896  # the formula itself against OpenLTH's published count
    assert conv.get("resnet_20").weight_count(16, (32, 32, 3), 10) == 270_896


@pytest.mark.parametrize("w", [16, 11, 15, 40])
def test_resnet_20_counts(w):
    assert conv.get("resnet_20").weight_count(w, (32, 32, 3), 10) == cifar_resnet_count(20, w)


@pytest.mark.parametrize("w", [1, 2, 5, 8, 20])
def test_resnet_8_on_one_channel_counts(w):
    assert conv.get("resnet_8").weight_count(w, (28, 28, 1), 10) == cifar_resnet_count(8, w, channels=1)


def test_vgg16_resnet18_lenet5_counts():
    convs = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256),
             (256, 512)] + [(512, 512)] * 5  # 13 convolutions
    assert conv.get("vgg16").weight_count(64, (32, 32, 3), 10) == sum(a * b * 9 for a, b in convs) + 512 * 10
    blocks = [(64, 64, 1)] * 2 + [(64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1), (256, 512, 2), (512, 512, 1)]
    r18 = 3 * 64 * 9 + sum(a * b * 9 + b * b * 9 + (a * b if a != b else 0) for a, b, _ in blocks) + 512 * 10
    assert conv.get("resnet18").weight_count(64, (32, 32, 3), 10) == r18  # 11,164,352 + the 1×1 shortcuts
    assert conv.get("lenet5").weight_count(1, (28, 28, 1), 10) == 1 * 6 * 25 + 6 * 16 * 25 + 400 * 120 + 120 * 84 + 84 * 10


@pytest.mark.parametrize("name,width,shape", [("resnet_8", 2, (28, 28, 1)), ("resnet18", 4, (32, 32, 3)),
                                              ("vgg11", 4, (32, 32, 3)), ("lenet5", 1, (28, 28, 1))])
def test_forward_shapes_and_batch_norm_statistics(name, width, shape):
    spec = conv.get(name)
    module = spec.module(width, 10)
    x = jnp.asarray(np.random.default_rng(0).normal(size=(3, *shape)), jnp.float32)
    variables = module.init(jax.random.PRNGKey(0), x, train=False)
    assert module.apply(variables, x, train=False).shape == (3, 10)
    if spec.batch_norm:
        logits, updated = module.apply(variables, x, train=True, mutable=["batch_stats"])
        before, after = jax.tree.leaves(variables["batch_stats"]), jax.tree.leaves(updated["batch_stats"])
        assert logits.shape == (3, 10) and any(not np.allclose(a, b) for a, b in zip(before, after))
    else:
        assert "batch_stats" not in variables


@pytest.mark.parametrize("name", ["resnet_9", "resnet_2", "vgg12", "densenet7"])
def test_bad_names_and_depths_are_refused(name):
    with pytest.raises(ValueError):
        conv.get(name)
