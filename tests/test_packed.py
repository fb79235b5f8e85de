"""Packed training (one wide layer per data order): against a numpy backprop loop, against the
unpacked population, with a diverging member, with pruned weights; its layout and bucket plan."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lottery import configs
from lottery.models import registry as model_registry
from lottery.train import buckets, order, packed_step as packed, trainer
from lottery.train.strategies.packed import Packed
from lottery.train.strategies.packed import packs
from lottery.train.state import Member

D, N, B = 5, 40, 16


def data(label_sets=1):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, D)).astype(np.float32)
    y = (x.sum(1) + rng.normal(size=N) > 0).astype(np.int32)
    labels = np.stack([y] + [rng.integers(0, 2, N).astype(np.int32) for _ in range(label_sets - 1)])
    return jnp.asarray(x), jnp.asarray(labels)


def make(members, spec="gmm_fcn", pack=True, shared=False, epochs=3, wd=0.0, lr=0.1, label_sets=1):
    c = configs.base()
    c.train.epochs, c.train.batch_size, c.train.shared_data_order, c.train.pack = epochs, B, shared, pack
    c.optimizer.lr, c.optimizer.weight_decay = lr, wd
    x, labels = data(label_sets)
    return trainer.BucketTrainer(trainer.build_bucket(model_registry.get(spec), x, labels, members, c.train,
                                                      c.optimizer, 2))


def trained(t, pop=None):
    pop = t.init() if pop is None else pop
    kept = jax.tree.map(np.asarray, pop)
    pop, losses, _ = t.train(pop, 0, t.total_steps)
    return kept, jax.tree.map(np.asarray, pop), losses


GRID = [Member(w, s, l) for w in (2, 5, 3) for s in (4, 9) for l in (0, 1)]


@pytest.mark.parametrize("spec", ["gmm_fcn", "mnist_fcn2"])
@pytest.mark.parametrize("shared", [False, True])
def test_packed_population_equals_the_unpacked_one(spec, shared):
    a, b = make(GRID, spec, pack=True, shared=shared, wd=1e-3, label_sets=2), make(GRID, spec, pack=False,
                                                                                shared=shared, wd=1e-3, label_sets=2)
    assert isinstance(a.strategy, Packed) and not isinstance(b.strategy, Packed)
    assert a.strategy.plan.groups == 2 and a.strategy.program.shared_order == shared
    _, pa, la = trained(a)
    _, pb, lb = trained(b)
    for x, y in zip(jax.tree.leaves(pa.params), jax.tree.leaves(pb.params)):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(la, lb, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(pa.step, pb.step)
    for x in jax.tree.leaves(jax.tree.map(lambda p, m: p[~m], pa.params, pa.masks)):
        assert np.all(x == 0)  # padding beyond each member's width is untouched


def test_packed_members_match_a_numpy_backprop_loop():
    """Two widths of one seed (one packed group) with biases, SGD with coupled weight decay, by hand."""
    members = [Member(3, 7), Member(4, 7)]
    lr, wd, epochs = 0.05, 0.01, 3
    t = make(members, "mnist_fcn2", epochs=epochs, wd=wd, lr=lr)
    assert isinstance(t.strategy, Packed) and t.strategy.plan.groups == 1 and t.strategy.plan.slots == 2
    start, end, _ = trained(t)
    x, labels = (np.asarray(a, np.float64) for a in data())
    y = labels[0].astype(int)
    for k, m in enumerate(members):
        w = m.width
        p = {n: {key: np.asarray(v[k], np.float64) for key, v in layer.items()} for n, layer in start.params.items()}
        w1, b1 = p["dense_0"]["kernel"][:, :w], p["dense_0"]["bias"][:w]
        w2, b2 = p["dense_1"]["kernel"][:w], p["dense_1"]["bias"]
        for e in range(epochs):
            for idx in order.epoch_batches(7, e, N, B):
                idx = idx[idx >= 0]
                xb, yb = x[idx], y[idx]
                h = xb @ w1 + b1
                a = np.maximum(h, 0)
                z = a @ w2 + b2
                q = np.exp(z - z.max(1, keepdims=True))
                q /= q.sum(1, keepdims=True)
                dz = (q - np.eye(2)[yb]) / len(idx)
                dh = (dz @ w2.T) * (h > 0)
                grads = (xb.T @ dh, dh.sum(0), a.T @ dz, dz.sum(0))
                w1, b1, w2, b2 = (v - lr * (g + wd * v) for v, g in zip((w1, b1, w2, b2), grads))
        got = end.params
        np.testing.assert_allclose(got["dense_0"]["kernel"][k][:, :w], w1, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(got["dense_0"]["bias"][k][:w], b1, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(got["dense_1"]["kernel"][k][:w], w2, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(got["dense_1"]["bias"][k], b2, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("spec", ["gmm_fcn", "mnist_fcn2"])
@pytest.mark.parametrize("layers", [("dense_0", "dense_1"), ("dense_1",)])
def test_a_diverging_member_leaves_its_group_bitwise_unchanged(spec, layers):
    members = [Member(w, 0) for w in (2, 3, 4)]  # one shared group
    t = make(members, spec, epochs=2)
    _, clean, _ = trained(t)
    pop = t.init()
    pop = pop.replace(params={name: jax.tree.map(lambda p: p.at[1].multiply(jnp.inf) if name in layers else p, layer)
                              for name, layer in pop.params.items()})  # every weight, or the output layer only
    _, bad, _ = trained(t, pop)
    assert bad.finite.tolist() == [True, False, True] and clean.finite.all()
    for a, b in zip(jax.tree.leaves(clean.params), jax.tree.leaves(bad.params)):
        assert np.array_equal(a[[0, 2]], b[[0, 2]])


def test_pruned_weights_stay_zero_and_the_program_compiles_once(monkeypatch):
    monkeypatch.setattr(trainer, "CHUNK_INDEX_BUDGET", 2 * 3 * 16)  # one epoch (3 steps) per chunk
    t = make([Member(w, s) for w in (3, 6) for s in (0, 1)], "mnist_fcn2", epochs=4, wd=0.05)
    pop = t.init()
    rng = np.random.default_rng(1)
    masks = jax.tree.map(lambda m: m & jnp.asarray(rng.random(m.shape) < 0.5), pop.masks)
    pop = pop.replace(masks=masks, params=jax.tree.map(lambda p, m: p * m, pop.params, masks))
    _, out, losses = trained(t, pop)
    assert t.strategy.cache_size() == 1 and losses.shape == (4 * 3, 4)
    for p, m in zip(jax.tree.leaves(out.params), jax.tree.leaves(out.masks)):
        assert np.all(p[~m] == 0.0) and np.any(p[m] != 0.0)


def test_plan_layout_and_when_packing_applies():
    plan = packed.PackPlan.build([2, 3, 2, 3], [0, 0, 1, 1])
    np.testing.assert_array_equal(plan.col_member, [[0, 0, 1, 1, 1], [2, 2, 3, 3, 3]])
    np.testing.assert_array_equal(plan.col_unit, [[0, 1, 0, 1, 2]] * 2)
    np.testing.assert_array_equal(plan.slot_member, [[0, 1], [2, 3]])
    assert packed.PackPlan.build([2, 3], [0, 1]) is None  # irregular groups train unpacked
    c = configs.base()
    spec = model_registry.get("gmm_fcn")
    assert packs(spec, c.train, c.optimizer)
    c.optimizer.momentum = 0.9  # per-weight optimizer state: unpacked
    assert not packs(spec, c.train, c.optimizer)
    assert not packs(model_registry.get("mnist_fcn3"), configs.base().train, configs.base().optimizer)
    t = configs.base().train
    assert buckets.plan_for([1, 3, 50, 100, 200, 500], t, packed=True) == [[1, 3, 50, 100], [200], [500]]
    assert buckets.plan_for([1, 3, 50, 100, 200, 500], t, packed=False) == [[1], [3], [50, 100], [200], [500]]
    assert buckets.plan_for([8, 2, 4, 2], t, packed=True, pads=False) == [[2], [4], [8]]  # conv nets: no padding
