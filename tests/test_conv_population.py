"""Convolutional populations: batch-norm under vmap, augmentation per member, masks, initialisation."""
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lottery import api, configs, studies
from lottery.core.errors import ConfigError
from lottery.models import forward
from lottery.models import registry as model_registry
from lottery.train import optim, trainer
from lottery.train.eval_set import EvalSet
from lottery.train.state import Member, init_population
from helpers import override

N, HW, C, CLASSES, B = 22, 8, 3, 3, 8  # 22 = 2 full batches of 8 + one of 6 valid and 2 padding


def data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, HW, HW, C)).astype(np.float32)
    y = rng.integers(0, CLASSES, size=(2, N)).astype(np.int32)  # two label sets
    return jnp.asarray(x), jnp.asarray(y)


def cfgs(epochs=2, augment=True, members="auto"):
    c = configs.base()
    override(c, {"train.epochs": epochs, "train.batch_size": B, "train.augment": augment, "train.members": members,
                 "optimizer.lr": 0.05,
                 "optimizer.momentum": 0.9, "optimizer.weight_decay": 5e-4})
    return c.train, c.optimizer


def conv_trainer(population, name="resnet_8", **kw):
    x, y = data()
    tc, oc = cfgs(**kw)
    return trainer.BucketTrainer(trainer.build_bucket(model_registry.get(name), x, y, population, tc, oc, CLASSES,
                                                      pad_fill=(-1.0, 0.0, 1.0)))


def pruned(pop, seed=0, keep=0.6):
    """The population with a random 40% of every kernel pruned (params zeroed there)."""
    rng = np.random.default_rng(seed)
    masks = {n: {k: (np.asarray(m) & (rng.random(m.shape) < keep)) if k == "kernel" else np.asarray(m)
                 for k, m in layer.items()} for n, layer in pop.masks.items()}
    masks = jax.tree.map(jnp.asarray, masks)
    params = jax.tree.map(lambda p, m: p * m, pop.params, masks)
    return pop.replace(params=params, masks=masks)


def member(tree, k):
    return jax.tree.map(lambda a: np.asarray(a[k]), tree)


@pytest.mark.parametrize("how", ["vmap", "loop"])
def test_conv_population_equals_members_trained_alone(how):
    """Two ResNet-8s (different seeds and label sets) with batch-norm, augmentation, momentum and weight
    decay, trained as one population — one jit(scan(vmap(step))) program, or member by member (the
    CPU default for conv nets) — equal each member trained alone (loop of plain steps): params, running
    statistics, losses and evaluation. Pruned kernel entries stay exactly 0."""
    members = [Member(2, 0, 0), Member(2, 1, 1)]
    t = conv_trainer(members, members=how)
    assert t.member_loop == (how == "loop")
    pop = pruned(t.init())
    masks0 = jax.tree.map(np.asarray, pop.masks)  # the population is donated to training
    pop, losses, _ = t.train(pop, 0, t.total_steps)
    x, y = data()
    labels = jnp.stack([y[0, :10], y[1, :10]])[:, None]  # [K, 1, 10]
    metrics = t.evaluate(pop, [EvalSet("test", x[:10], labels, ("test",))])
    assert np.all(np.isfinite(losses)) and losses.shape == (t.total_steps, 2)
    for k, m in enumerate(members):
        alone = conv_trainer([m], members="loop")
        one = alone.init()
        one = one.replace(params=jax.tree.map(lambda a, mk: a * mk[k:k + 1], one.params, masks0),
                          masks=jax.tree.map(lambda a: a[k:k + 1], masks0))
        one, l1, _ = alone.train(one, 0, alone.total_steps)
        np.testing.assert_allclose(losses[:, k], l1[:, 0], rtol=2e-4, atol=2e-5)
        for got, want in ((pop.params, one.params), (pop.stats, one.stats)):
            jax.tree.map(lambda a, b: np.testing.assert_allclose(np.asarray(a[k]), np.asarray(b[0]), rtol=2e-3, atol=2e-5),
                         got, want)
        m1 = alone.evaluate(one, [EvalSet("test", x[:10], labels[k:k + 1], ("test",))])
        np.testing.assert_allclose(metrics["test"]["loss"][k], m1["test"]["loss"][0], rtol=1e-3)
    for name, layer in pop.masks.items():
        if "kernel" in layer:
            kernel = np.asarray(pop.params[name]["kernel"])
            assert np.all(kernel[~np.asarray(layer["kernel"])] == 0.0), name
    # training moved the running statistics away from their initial values (mean 0, var 1)
    assert float(np.abs(np.asarray(pop.stats["stem_bn"]["mean"])).max()) > 1e-3


def test_augmentation_is_per_member_and_changes_training():
    """Members' augmentation keys differ by seed and equal the key of the member alone; training with
    augmentation (a fully connected net on images, cheap to compile) differs from training without."""
    members = [Member(2, 0), Member(2, 1)]
    keys = conv_trainer(members).bucket.augment_keys
    assert not np.array_equal(np.asarray(keys[0]), np.asarray(keys[1]))
    np.testing.assert_array_equal(np.asarray(keys[1]), np.asarray(conv_trainer([members[1]]).bucket.augment_keys[0]))
    runs = {}
    for augment in (True, False):
        t = conv_trainer([Member(4, 0)], name="mnist_fcn2", epochs=1, augment=augment)
        _, runs[augment], _ = t.train(t.init(), 0, t.total_steps)
    assert not np.allclose(runs[True], runs[False])


def numpy_conv_same(x, w):
    """x [B, H, W, Cin], w [3, 3, Cin, Cout], stride 1, zero padding 1 → [B, H, W, Cout] (float64 loops)."""
    b, h, wd, _ = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    out = np.zeros((b, h, wd, w.shape[-1]))
    for i in range(h):
        for j in range(wd):
            patch = xp[:, i:i + 3, j:j + 3, :]  # [B, 3, 3, Cin]
            out[:, i, j, :] = np.einsum("bklc,klco->bo", patch, w)
    return out


def test_batch_norm_running_statistics_use_only_valid_examples():
    """One training-mode pass: the stem's running mean and variance become 0.9·old + 0.1·(batch mean,
    biased batch variance) of the stem convolution's output over the valid examples only (numpy conv)."""
    spec = model_registry.get("resnet_8")
    module = spec.module(2, CLASSES)
    pop = init_population(spec, module, optim.direction(cfgs()[1]), [Member(2, 5)], 2, (HW, HW, C), CLASSES)
    params, stats = member(pop.params, 0), member(pop.stats, 0)
    x = np.asarray(data()[0][:5])
    valid = np.array([True, True, False, True, False])
    _, new = forward.logits(module, params, stats, jnp.asarray(x), train=True, valid=jnp.asarray(valid))
    conv = numpy_conv_same(x[valid].astype(np.float64), np.asarray(params["stem_conv"]["kernel"], np.float64))
    mean, var = conv.mean(axis=(0, 1, 2)), conv.var(axis=(0, 1, 2))
    np.testing.assert_allclose(new["stem_bn"]["mean"], 0.1 * mean, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(new["stem_bn"]["var"], 0.9 + 0.1 * var, rtol=1e-4, atol=1e-6)
    # evaluation mode normalises with the running statistics and leaves them unchanged
    _, same = forward.logits(module, params, new, jnp.asarray(x), train=False)
    assert same is new


def test_conv_initialisation():
    """Kaiming-normal kernels (std √(2/fan_in), fan_in = 3·3·C_in), head bias U(±1/√fan_in), batch-norm
    scales U[0, 1) and shifts 0; the same seed gives the same weights alone or in a population."""
    spec = model_registry.get("resnet_8")
    module = spec.module(8, 10)
    tx = optim.direction(cfgs()[1])
    pop = init_population(spec, module, tx, [Member(8, 3), Member(8, 4)], 8, (8, 8, 3), 10)
    p = member(pop.params, 0)
    k = p["stage2_block0/b_conv"]["kernel"]  # [3, 3, 32, 32]
    assert k.shape == (3, 3, 32, 32)
    assert abs(k.std() / np.sqrt(2 / (9 * 32)) - 1) < 0.03 and abs(k.mean()) < 0.01
    scales = np.concatenate([layer["scale"] for layer in p.values() if "scale" in layer])
    assert scales.min() >= 0 and scales.max() < 1 and abs(scales.mean() - 0.5) < 0.05
    assert all(np.all(layer["bias"] == 0) for layer in p.values() if "scale" in layer)
    assert np.abs(p["head"]["bias"]).max() <= 1 / np.sqrt(32)
    assert set(pop.stats) == {n for n, layer in p.items() if "scale" in layer}
    alone = init_population(spec, module, tx, [Member(8, 4)], 8, (8, 8, 3), 10)
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(np.asarray(a[1]), np.asarray(b[0])), pop.params, alone.params)


@pytest.mark.parametrize("name,shape,message", [
    ("vgg16", (28, 28, 1), "at least 32×32"),
    ("lenet5", (8, 8, 3), "at least 12×12"),
    ("resnet_8", (784,), "takes images"),
])
def test_image_shapes_a_model_cannot_take(name, shape, message):
    c = studies.defaults("imp")
    c.model.name, c.model.widths, c.data.name = name, (4,), "fashion_mnist"
    with pytest.raises(ConfigError, match=message) as e:
        api.check_data(c, types.SimpleNamespace(train_size=100, input_shape=shape, num_classes=10))
    assert e.value.field == "model.name"


def test_conv_config_errors():
    c = studies.defaults("imp")
    c.model.name, c.model.widths = "resnet_9", (4,)
    with pytest.raises(ConfigError, match="6n"):
        api.check(c)
    c.model.name = "resnet_8"  # on the default Gaussian-mixture data
    with pytest.raises(ConfigError, match="needs images"):
        api.check(c)


def test_cifar10_resnet18_quick_runs_on_cifar_files_and_resumes(tmp_path):
    """The CIFAR-10 config's quick preset, shrunk, through the command line on files in the real CIFAR-10 binary
    format given as data.data_dir (data.name = cifar10): rows for every width × seed × level with OpenLTH's
    counts, batch-norm statistics in the level checkpoints, and a second run restoring every level with
    the same table."""
    import subprocess
    import sys

    import pandas as pd

    from lottery.data import cifar
    from lottery.store.checkpoints import BucketCheckpoints

    folder = cifar.write_synthetic_cifar10(str(tmp_path / "data"), train=60, test=20)
    workdir = tmp_path / "run"
    cmd = [sys.executable, "-m", "lottery.main", "--config=experiments/cifar10_resnet18.py:quick", f"--workdir={workdir}",
           "--config.data.name=cifar10", f"--config.data.data_dir={folder}", "--config.model.widths=(2,)",
           "--config.train.batch_size=30", "--config.train.epochs=2", "--config.optimizer.milestones=(1,)",
           "--config.imp.levels=1", "--config.report.figures=False"]
    root = str(__import__("pathlib").Path(__file__).resolve().parents[1])
    first = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-2000:]
    df = pd.read_parquet(workdir / "results.parquet")
    main = df[df.split == "test"]
    assert sorted(main.level.unique()) == [0, 1] and set(main.seed) == {0, 1} and set(main.dataset) == {"cifar10"}
    assert set(main.weights_total) == {model_registry.get("resnet_20").weight_count(2, (32, 32, 3), 10)}
    level1 = main[main.level == 1]
    assert set(level1.weights_remaining) == {main.weights_total.iloc[0] - -(-main.weights_total.iloc[0] * 2 // 10) - 1}
    saved = BucketCheckpoints(str(workdir / "checkpoints" / "bucket00-w2-2")).load("level_001")
    assert set(saved["stats"]) == {n for n, layer in saved["params"].items() if "scale" in layer}
    assert saved["stats"]["stem_bn"]["var"].shape == (2, 2)
    second = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-2000:]
    assert second.stdout.count("restored from its checkpoint") == 2
    pd.testing.assert_frame_equal(df, pd.read_parquet(workdir / "results.parquet"))


def test_training_mode_loss_ignores_running_statistics_and_snip_sees_batch_norm_nets():
    """batch_loss without statistics (the pruning methods' scores) equals it with any running statistics — training mode
    normalises with the batch's own — and SNIP's |w·g| on a batch-norm net equals |w · ∂L/∂w| from a loss
    written directly on the Flax module (training mode, nested variables)."""
    import optax

    from lottery.models import layers
    from lottery.prune import methods, snip
    from lottery.models.loss import batch_loss

    spec = model_registry.get("resnet_8")
    module = spec.module(2, CLASSES)
    pop = init_population(spec, module, optim.direction(cfgs()[1]), [Member(2, 1)], 2, (HW, HW, C), CLASSES)
    params, masks = member(pop.params, 0), member(pop.masks, 0)
    x, y = data()
    x, y, valid = x[:8], y[0, :8], jnp.ones(8, bool)
    odd = jax.tree.map(lambda a: a + 3.0, member(pop.stats, 0))
    assert float(batch_loss(module, params, masks, x, y, valid)) == pytest.approx(
        float(batch_loss(module, params, masks, x, y, valid, odd)), rel=1e-6)

    def direct(kernels):
        full = {n: ({**layer, "kernel": kernels[n]} if n in kernels else layer) for n, layer in params.items()}
        variables = {"params": layers.nested(full), "batch_stats": layers.nested(odd)}
        logits, _ = module.apply(variables, x, train=True, mutable=["batch_stats"])
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    kernels = {n: layer["kernel"] for n, layer in params.items() if "kernel" in layer}
    g = jax.grad(direct)(kernels)
    raw = {n: np.abs(np.asarray(kernels[n]) * np.asarray(g[n])) for n in kernels}
    total = sum(r.sum() for r in raw.values())
    got = snip.scores(methods.Context(module), params, masks, None, x[None], y[None], valid[None])
    for n in kernels:
        np.testing.assert_allclose(got[n]["kernel"], raw[n] / total, rtol=2e-3, atol=1e-7)


def test_learned_score_methods_refuse_batch_norm_nets():
    import pathlib

    c = configs.load(str(pathlib.Path(__file__).resolve().parents[1] / "experiments/prune_methods_cifar10.py") + ":quick")
    c.prune_methods.methods = ("magnitude", "biprop")
    with pytest.raises(ConfigError, match="batch-norm") as e:
        api.check(c)
    assert e.value.field == "prune_methods.methods"
