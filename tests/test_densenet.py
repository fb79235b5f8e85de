"""CIFAR DenseNet-BC: prunable-weight count against a formula from the layer shapes, forward shapes,
batch-norm statistics and the padding mask, bad widths."""
import functools

import flax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lottery.models import densenet


def densenet_count(blocks, k, channels=3, classes=10):
    """conv and linear weights of a CIFAR DenseNet-BC with growth rate k, written out layer by layer."""
    total = channels * 2 * k * 9  # stem: 3×3, 2k filters
    c = 2 * k
    for b, layers in enumerate(blocks):
        if b > 0:  # transition: 1×1 to ⌊c / 2⌋
            total += c * (c // 2)
            c //= 2
        for _ in range(layers):
            total += c * 4 * k + 4 * k * k * 9  # 1×1 bottleneck to 4k, then 3×3 to k
            c += k
    return total + c * classes  # head


def kernel_count(module, shape=(32, 32, 3)):
    x = jax.ShapeDtypeStruct((1, *shape), jnp.float32)
    variables = jax.eval_shape(functools.partial(module.init, train=False), jax.random.PRNGKey(0), x)
    flat = flax.traverse_util.flatten_dict(variables["params"])
    return sum(int(np.prod(v.shape)) for path, v in flat.items() if path[-1] == "kernel")


def test_densenet121_k32_count_is_the_documented_one():
    assert densenet_count((6, 12, 24, 16), 32) == 6_872_768  # the figure in the module docstring


@pytest.mark.parametrize("classes", [10, 5])
@pytest.mark.parametrize("k", [32, 12, 4])
def test_densenet121_counts(k, classes):
    assert kernel_count(densenet.densenet121(k, classes)) == densenet_count((6, 12, 24, 16), k, classes=classes)


def test_odd_channels_and_other_block_counts():
    """k = 3 makes odd channel counts (⌊c / 2⌋ rounds down); two blocks on 1-channel input."""
    module = densenet.densenet((2, 3), 3, 7)
    assert kernel_count(module, (28, 28, 1)) == densenet_count((2, 3), 3, channels=1, classes=7)


def compiled(f, *args, **kwargs):
    """jax.jit(f) compiled for these arguments with XLA's backend optimisation off: compiling 58 dense
    layers dominates this test's time (running them at k = 2 takes milliseconds)."""
    lowered = jax.jit(f).lower(*args, **kwargs)
    return lowered.compile(compiler_options={"xla_backend_optimization_level": 0})


def filled(shapes, seed=0):
    """Variables of these shapes made without compiling module.init (its 120 random initialisers take
    ~10 s to compile on a CPU): kernels N(0, 1 / fan-in), Flax's LeCun-normal scale; batch-norm scales
    and running variances 1; biases and running means 0 (Flax's initial values)."""
    rng = np.random.default_rng(seed)

    def leaf(path, s):
        name = path[-1].key
        if name == "kernel":
            return jnp.asarray(rng.normal(size=s.shape) / np.sqrt(np.prod(s.shape[:-1])), s.dtype)
        return (jnp.ones if name in ("scale", "var") else jnp.zeros)(s.shape, s.dtype)

    return jax.tree_util.tree_map_with_path(leaf, shapes)


def test_forward_batch_stats_and_mask():
    module = densenet.densenet121(2, 10)
    x = jnp.asarray(np.random.default_rng(0).normal(size=(2, 32, 32, 3)), jnp.float32)
    variables = filled(jax.eval_shape(functools.partial(module.init, train=False), jax.random.PRNGKey(0), x))
    eval_apply = functools.partial(module.apply, train=False)
    logits = compiled(eval_apply, variables, x)(variables, x)
    assert logits.shape == (2, 10) and np.all(np.isfinite(np.asarray(logits)))
    names = set(variables["params"])
    assert {"stem_conv", "block0_layer5_conv2", "block3_layer15_bn1", "transition1_bn", "transition3_conv",
            "final_bn", "head"} <= names and "block0_layer6_conv1" not in names and "transition0_bn" not in names
    assert len(names) == 1 + 4 * (6 + 12 + 24 + 16) + 2 * 3 + 2
    # channels at k = 2: 4 → 16 | 8 → 32 | 16 → 64 | 32 → 64
    assert variables["params"]["head"]["kernel"].shape == (64, 10)

    mask = jnp.asarray([True, False]).reshape(2, 1, 1, 1)
    train = compiled(functools.partial(module.apply, train=True, mutable=["batch_stats"]), variables, x, mask=mask)
    masked_logits, masked = train(variables, x, mask=mask)
    assert masked_logits.shape == (2, 10) and np.all(np.isfinite(np.asarray(masked_logits)))
    before = jax.tree.leaves(variables["batch_stats"])
    after = jax.tree.leaves(masked["batch_stats"])
    assert len(after) == 2 * (2 * (6 + 12 + 24 + 16) + 3 + 1)  # mean and var of every batch-norm
    assert all(not np.allclose(a, b) for a, b in zip(before, after))

    # The second example is padding: the statistics are those of a batch of the first example alone.
    # That batch is written as the first example twice (same mean, same biased variance — Flax keeps
    # no Bessel correction), so the compiled function is reused; were the mask to miss a batch-norm,
    # the second example's activations would shift its statistics.
    alone_logits, alone = train(variables, jnp.stack([x[0], x[0]]), mask=jnp.ones_like(mask))
    jax.tree.map(functools.partial(np.testing.assert_allclose, rtol=1e-4, atol=1e-6),
                 masked["batch_stats"], alone["batch_stats"])
    np.testing.assert_allclose(masked_logits[0], alone_logits[0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("width", [0, -3])
def test_bad_width(width):
    with pytest.raises(ValueError, match="growth rate"):
        densenet.densenet121(width, 10)
    with pytest.raises(ValueError, match="growth rate"):
        densenet.densenet((2, 2), width, 10)
