"""The population trainer against independent computations and against its members alone."""
from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lottery import configs
from lottery.models import registry as model_registry
from lottery.train import optim, order, trainer
from lottery.train.state import Member
from helpers import numpy_cross_entropy

D, N, B = 5, 40, 16


def data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, D)).astype(np.float32)
    y = (x.sum(1) + rng.normal(size=N) > 0).astype(np.int32)
    return jnp.asarray(x), jnp.asarray(y)[None]


def cfgs(epochs=3, shared=False, momentum=0.0, wd=0.0, name="sgd", lr=0.1):
    c = configs.base()
    c.train.epochs, c.train.batch_size, c.train.shared_data_order = epochs, B, shared
    c.optimizer.name, c.optimizer.lr, c.optimizer.momentum, c.optimizer.weight_decay = name, lr, momentum, wd
    return c.train, c.optimizer


def vmapped_scan(spec, module, tx, schedule, members, x, y, train_cfg):
    """The vmapped-scan strategy of ``members`` on labels y [1, N], built directly (no BucketTrainer)."""
    from lottery.train.sharding import Layout
    from lottery.train.strategies import Bucket
    from lottery.train.strategies.vmapped import VmappedScan
    bucket = Bucket(spec=spec, module=module, padded_width=max(m.width for m in members), members=members,
                    reported=len(members), layout=Layout(jax.local_devices()[:1]), x_train=x, labels=y,
                    label_set=jnp.zeros(len(members), jnp.int32), num_classes=2, train_cfg=train_cfg, opt_cfg=None,
                    tx=tx, lr_schedule=schedule)
    return VmappedScan(bucket)


def train(members, spec_name="gmm_fcn", **kw):
    """Trains from scratch; returns a namespace with population, program, losses [steps, K]."""
    x, y = data()
    tc, oc = cfgs(**kw)
    t, pop, losses, _ = trainer.train_bucket(model_registry.get(spec_name), x, y, members, tc, oc, 2)
    return SimpleNamespace(population=pop, strategy=t.strategy, module=t.module, losses=losses)


def member_params(run, k, width):
    """Model k's params cut to its true width: {dense_i: {kernel}}."""
    p = jax.tree.map(lambda a: np.asarray(a[k]), run.population.params)
    return {"dense_0": {"kernel": p["dense_0"]["kernel"][:, :width]},
            "dense_1": {"kernel": p["dense_1"]["kernel"][:width]}}


def test_sgd_momentum_weight_decay_matches_numpy_loop():
    """D → P → 2 without biases, trained by a hand-written numpy backprop loop on the same batches."""
    width, momentum, wd, lr, epochs = 4, 0.9, 0.01, 0.05, 3
    run = train([Member(width, 7)], epochs=epochs, momentum=momentum, wd=wd, lr=lr)
    # Start from the same initial weights: re-train zero epochs to read them.
    from lottery.train.state import init_population as init
    spec = model_registry.get("gmm_fcn")
    from lottery.train.optim import direction
    tc, oc = cfgs(momentum=momentum, wd=wd, lr=lr)
    pop0 = init(spec, spec.module(width, 2), direction(oc), [Member(width, 7)], width, (D,), 2)
    w1 = np.asarray(pop0.params["dense_0"]["kernel"][0], np.float64)
    w2 = np.asarray(pop0.params["dense_1"]["kernel"][0], np.float64)
    x, y = (np.asarray(a, np.float64) for a in data())
    y = y[0].astype(int)
    b1, b2 = np.zeros_like(w1), np.zeros_like(w2)
    for e in range(epochs):
        for idx in order.epoch_batches(7, e, N, B):
            idx = idx[idx >= 0]
            xb, yb = x[idx], y[idx]
            h = xb @ w1
            a = np.maximum(h, 0)
            z = a @ w2
            p = np.exp(z - z.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            dz = (p - np.eye(2)[yb]) / len(idx)
            g2 = a.T @ dz
            g1 = xb.T @ ((dz @ w2.T) * (h > 0))
            b1 = momentum * b1 + g1 + wd * w1
            b2 = momentum * b2 + g2 + wd * w2
            w1, w2 = w1 - lr * b1, w2 - lr * b2
    got = member_params(run, 0, width)
    np.testing.assert_allclose(got["dense_0"]["kernel"], w1, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got["dense_1"]["kernel"], w2, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("shared", [False, True])
def test_population_equals_members_trained_alone(shared):
    members = [Member(3, s) for s in (0, 1, 2)]
    together = train(members, shared=shared, momentum=0.9)
    for k, m in enumerate(members):
        alone = train([m], shared=shared, momentum=0.9)
        for layer in ("dense_0", "dense_1"):
            np.testing.assert_allclose(np.asarray(together.population.params[layer]["kernel"][k]),
                                       np.asarray(alone.population.params[layer]["kernel"][0]), rtol=1e-5, atol=1e-6)
    if not shared:  # independent orders: different seeds really saw different data
        assert not np.allclose(together.losses[:, 0], together.losses[:, 1])


def test_padded_width_equals_width_trained_alone():
    padded = train([Member(2, 0), Member(6, 0), Member(9, 1)], momentum=0.9, wd=1e-3)
    alone = train([Member(2, 0)], momentum=0.9, wd=1e-3)
    a, b = member_params(padded, 0, 2), member_params(alone, 0, 2)
    for layer in a:
        np.testing.assert_allclose(a[layer]["kernel"], b[layer]["kernel"], rtol=1e-5, atol=1e-6)
    full = jax.tree.map(lambda v: np.asarray(v[0]), padded.population.params)
    assert np.all(full["dense_0"]["kernel"][:, 2:] == 0) and np.all(full["dense_1"]["kernel"][2:] == 0)


@pytest.mark.parametrize("opt", ["sgd", "adam", "adamw"])
def test_masked_weights_stay_exactly_zero(opt):
    """Prune random entries, then train with momentum/Adam and weight decay: they stay exactly 0."""
    x, y = data()
    tc, oc = cfgs(epochs=3, momentum=0.9, wd=0.05, name=opt)
    spec = model_registry.get("mnist_fcn2")
    members = [Member(6, s) for s in range(3)]
    from lottery.train.state import init_population
    module = spec.module(6, 2)
    tx = optim.direction(oc)
    pop = init_population(spec, module, tx, members, 6, (D,), 2)
    rng = np.random.default_rng(0)
    masks = jax.tree.map(lambda m: m & jnp.asarray(rng.random(m.shape) < 0.5), pop.masks)
    pop = pop.replace(masks=masks, params=jax.tree.map(lambda p, m: p * m, pop.params, masks))
    program = vmapped_scan(spec, module, tx, optim.schedule(oc, 3, 3), members, x, y, tc)
    idx = jnp.asarray(order.step_batches([0, 1, 2], 0, 9, N, B))
    kept = [np.asarray(m) for m in jax.tree.leaves(masks)]  # the program donates its input state
    pop, _ = program.chunk(pop, idx)
    for p, m in zip(jax.tree.leaves(pop.params), kept):
        p = np.asarray(p)
        assert np.all(p[~m] == 0.0)
        assert np.any(p[m] != 0.0)


def test_train_program_compiles_once_per_bucket(monkeypatch):
    monkeypatch.setattr(trainer, "CHUNK_INDEX_BUDGET", 2 * 3 * 16)  # forces one epoch (3 steps) per chunk
    run = train([Member(2, 0), Member(3, 1)], epochs=4)
    assert run.strategy.cache_size() == 1
    assert run.losses.shape == (4 * 3, 2)


def test_diverging_model_is_flagged_and_leaves_the_others_bitwise_unchanged():
    x, y = data()
    tc, oc = cfgs(epochs=2)
    spec = model_registry.get("gmm_fcn")
    from lottery.train.state import init_population
    module = spec.module(4, 2)
    tx = optim.direction(oc)
    members = [Member(4, s) for s in range(3)]
    idx = jnp.asarray(order.step_batches([0, 1, 2], 0, 6, N, B))
    program = vmapped_scan(spec, module, tx, optim.schedule(oc, 3, 2), members, x, y, tc)

    def run(poison):
        pop = init_population(spec, module, tx, members, 4, (D,), 2)
        if poison:
            pop = pop.replace(params=jax.tree.map(lambda p: p.at[1].multiply(jnp.inf), pop.params))
        return program.chunk(pop, idx)[0]

    clean, bad = run(False), run(True)
    assert np.asarray(bad.finite).tolist() == [True, False, True]
    for a, b in zip(jax.tree.leaves(clean.params), jax.tree.leaves(bad.params)):
        a, b = np.asarray(a), np.asarray(b)
        assert np.array_equal(a[[0, 2]], b[[0, 2]])


def test_epoch_batches_are_permutations_with_padded_tail():
    b = order.epoch_batches(3, 5, 37, 8)
    assert b.shape == (5, 8)
    flat = b.ravel()
    assert sorted(flat[flat >= 0].tolist()) == list(range(37)) and np.sum(flat < 0) == 3
    assert np.array_equal(b, order.epoch_batches(3, 5, 37, 8))
    assert not np.array_equal(b, order.epoch_batches(3, 6, 37, 8))


def test_chunk_steps_divide_every_boundary():
    for bounds, per_epoch in (([10], 10), ([70, 30], 10), ([1200, 500], 469), ([10000, 100], 10)):
        c = trainer.chunk_steps(bounds, 4, 100, per_epoch)
        assert all(b % c == 0 for b in bounds) and c * 4 * 100 <= trainer.CHUNK_INDEX_BUDGET
    assert trainer.chunk_steps([100, 30], 1, 1, 10) == 10  # whole epochs preferred


def test_step_batches_do_not_depend_on_chunking():
    whole = order.step_batches([4, 5], 0, 12, 37, 8)  # 5 steps per epoch
    parts = np.concatenate([order.step_batches([4, 5], s, 3, 37, 8) for s in range(0, 12, 3)])
    np.testing.assert_array_equal(whole, parts)
    np.testing.assert_array_equal(whole[5:10, 0], order.epoch_batches(4, 1, 37, 8))


def test_evaluation_matches_numpy():
    from lottery.train.eval_set import EvalSet
    from lottery.train.evaluate import EvalProgram
    run = train([Member(3, 0), Member(5, 1)], spec_name="mnist_fcn2", epochs=2)
    x, y = data(1)
    noisy = (1 - y[0])
    labels = jnp.stack([jnp.stack([y[0], noisy])] * 2)  # [K, M, N]
    r = EvalProgram(run.module, 16, 2).run(run.population.params, run.population.masks, EvalSet("test", x, labels))
    loss, err = r["loss"], r["error"]
    for k in range(2):
        p = jax.tree.map(lambda a: np.asarray(a[k]), run.population.params)
        logits = np.asarray(x, np.float64) @ p["dense_0"]["kernel"] + p["dense_0"]["bias"]
        logits = np.maximum(logits, 0) @ p["dense_1"]["kernel"] + p["dense_1"]["bias"]
        for j, lab in enumerate([np.asarray(y[0]), np.asarray(noisy)]):
            np.testing.assert_allclose(float(loss[k, j]), numpy_cross_entropy(logits, lab).mean(), rtol=1e-4)
            np.testing.assert_allclose(float(err[k, j]), np.mean(logits.argmax(1) != lab), atol=1e-6)
