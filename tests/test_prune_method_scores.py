"""Pruning-method scores and selection against independent references: a hand-written numpy
forward/backward pass (tests/prune_methods_reference.py), jax.hessian of a loss written here from scratch,
and numpy top-k counts."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lottery.models.fcn import FCN
from lottery.prune import methods, taylor
from prune_methods_reference import SHAPES, keep_top, loss_and_grads, tiny

MODULE = FCN(features=(3, 2), use_bias=True)


def ctx(**kw):
    return methods.Context(module=MODULE, **kw)


def jx(tree):
    return jax.tree.map(jnp.asarray, tree)


def ref_batch_grads(params, masks, x, y, valid):
    """∂L_b/∂W per batch from the numpy backward pass: {layer: [nb, in, out]}."""
    per = [loss_and_grads(params, masks, x[b], y[b], valid[b])[1] for b in range(len(x))]
    return {n: np.stack([g[n] * masks[n]["kernel"] for g in per]) for n in SHAPES}


def test_snip_score_is_abs_w_times_mean_gradient_normalised():
    params, masks, x, y, valid = tiny()
    got = methods.get("snip").scores(ctx(), jx(params), jx(masks), None, *jx((x, y, valid)))
    g = ref_batch_grads(params, masks, x, y, valid)
    raw = {n: np.abs(params[n]["kernel"] * g[n].mean(0)) for n in SHAPES}
    total = sum(r.sum() for r in raw.values())
    for n in SHAPES:
        np.testing.assert_allclose(got[n]["kernel"], raw[n] / total, rtol=2e-4, atol=1e-7)
        assert (np.asarray(got[n]["kernel"])[~masks[n]["kernel"]] == 0).all()


def test_snip_gradient_matches_central_finite_differences():
    params, masks, x, y, valid = tiny(masked=False, nb=1)
    got = methods.get("snip").scores(ctx(), jx(params), jx(masks), None, *jx((x, y, valid)))
    w = {n: params[n]["kernel"].astype(np.float64) for n in SHAPES}
    raw, eps = {}, 1e-5
    for n in SHAPES:
        g = np.zeros_like(w[n])
        for i in np.ndindex(w[n].shape):
            up = {m: {**params[m], "kernel": w[m].copy()} for m in SHAPES}
            down = {m: {**params[m], "kernel": w[m].copy()} for m in SHAPES}
            up[n]["kernel"][i] += eps
            down[n]["kernel"][i] -= eps
            g[i] = (loss_and_grads(up, masks, x[0], y[0], valid[0])[0]
                    - loss_and_grads(down, masks, x[0], y[0], valid[0])[0]) / (2 * eps)
        raw[n] = np.abs(w[n] * g)
    total = sum(r.sum() for r in raw.values())
    for n in SHAPES:
        np.testing.assert_allclose(got[n]["kernel"], raw[n] / total, rtol=1e-3, atol=1e-6)


def test_taylor_first_order_accumulates_abs_per_batch():
    params, masks, x, y, valid = tiny()
    got = methods.get("taylor1").scores(ctx(), jx(params), jx(masks), None, *jx((x, y, valid)))
    g = ref_batch_grads(params, masks, x, y, valid)
    for n in SHAPES:
        want = np.mean(np.abs(g[n] * params[n]["kernel"]), axis=0)
        np.testing.assert_allclose(got[n]["kernel"], want, rtol=2e-4, atol=1e-7)


def flat_loss(flat, params, masks, x, y, valid):
    """The tiny net's masked cross-entropy as a function of its kernels flattened (dense_0 then
    dense_1, row-major) — written here with plain jnp, independent of lottery's code."""
    a0 = flat[:12].reshape(4, 3) * masks["dense_0"]["kernel"]
    a1 = flat[12:].reshape(3, 2) * masks["dense_1"]["kernel"]
    h = jnp.maximum(x @ a0 + params["dense_0"]["bias"], 0)
    logits = h @ a1 + params["dense_1"]["bias"]
    logp = jax.nn.log_softmax(logits)
    ce = -jnp.take_along_axis(logp, y[:, None], 1)[:, 0]
    return jnp.sum(ce * valid) / jnp.sum(valid)


def ref_hessian_diagonal(params, masks, x, y, valid):
    flat = jnp.concatenate([jnp.ravel(params[n]["kernel"]) for n in sorted(SHAPES)])
    diags = [jnp.diag(jax.hessian(flat_loss)(flat, params, masks, x[b], y[b], valid[b])) for b in range(len(x))]
    return np.mean(np.stack(diags), 0), [np.asarray(jax.hessian(flat_loss)(flat, params, masks, x[b], y[b], valid[b]))
                                         for b in range(len(x))]


def test_taylor_second_order_uses_the_exact_hessian_diagonal():
    params, masks, x, y, valid = tiny()
    diag, _ = ref_hessian_diagonal(jx(params), jx(masks), *jx((x, y, valid)))
    h = taylor.hessian_diagonal(ctx(hessian="exact"), jx(params), jx(masks), None, *jx((x, y, valid)))
    got_flat = np.concatenate([np.ravel(h[n]) for n in sorted(SHAPES)])
    np.testing.assert_allclose(got_flat, diag, rtol=1e-4, atol=1e-6)
    assert np.abs(diag).max() > 1e-3  # the test is not vacuous
    got = methods.get("taylor2").scores(ctx(hessian="exact"), jx(params), jx(masks), None, *jx((x, y, valid)))
    g = ref_batch_grads(params, masks, x, y, valid)
    start = 0
    for n in sorted(SHAPES):
        w = params[n]["kernel"].astype(np.float64)
        hd = diag[start:start + w.size].reshape(w.shape)
        start += w.size
        want = np.mean(np.abs(g[n] * w), 0) + 0.5 * w * w * hd
        np.testing.assert_allclose(got[n]["kernel"], want, rtol=1e-4, atol=1e-6)


def test_hutchinson_diagonal_is_within_its_standard_error():
    params, masks, x, y, valid = tiny()
    diag, full = ref_hessian_diagonal(jx(params), jx(masks), *jx((x, y, valid)))
    samples = 4000
    h = taylor.hessian_diagonal(ctx(hessian="hutchinson", samples=samples), jx(params), jx(masks),
                                jax.random.PRNGKey(3), *jx((x, y, valid)))
    got = np.concatenate([np.ravel(h[n]) for n in sorted(SHAPES)])
    # z_i (Hz)_i = H_ii + Σ_{j≠i} H_ij z_i z_j: variance Σ_{j≠i} H_ij² per batch sample.
    var = np.mean([(hb ** 2).sum(1) - np.diag(hb) ** 2 for hb in full], 0) / (samples * len(full))
    assert (np.abs(got - diag) <= 5 * np.sqrt(var) + 1e-6).all()


@pytest.mark.parametrize("scope", ["global", "layerwise"])
@pytest.mark.parametrize("name", methods.NAMES)
def test_every_method_keeps_exactly_the_requested_count(name, scope):
    params, masks, x, y, valid = tiny()
    m = methods.get(name)
    s = m.scores(ctx(hessian="exact", binarise=m.binarise), jx(params), jx(masks), jax.random.PRNGKey(0),
                 *jx((x, y, valid)))
    alive = {n: masks[n]["kernel"] for n in SHAPES}
    for ratio in (0.0, 0.3, 0.5, 0.9):
        got = methods.select(s, jx(masks), ratio, scope=scope)
        want = keep_top({n: s[n]["kernel"] for n in SHAPES}, alive, ratio, layerwise=scope == "layerwise")
        for n in SHAPES:
            np.testing.assert_array_equal(got[n]["kernel"], want[n])
            np.testing.assert_array_equal(got[n]["bias"], masks[n]["bias"])
        groups = [[n] for n in SHAPES] if scope == "layerwise" else [list(SHAPES)]
        for group in groups:
            r = sum(int(alive[n].sum()) for n in group)
            kept = sum(int(np.asarray(got[n]["kernel"]).sum()) for n in group)
            assert kept == r - math.ceil(round(ratio * r, 6))
        summary = methods.sparsity(got, jx(masks))
        for n in SHAPES:
            assert int(summary[n]["kept"]) == int(np.asarray(got[n]["kernel"]).sum())
            assert int(summary[n]["alive"]) == int(alive[n].sum())


def test_random_masks_differ_by_key_and_are_nested_across_ratios():
    params, masks, *_ = tiny(masked=False)
    rs = methods.get("random").scores
    a = [methods.select(rs(ctx(), jx(params), jx(masks), jax.random.PRNGKey(k)), jx(masks), 0.5) for k in (0, 1)]
    assert any((np.asarray(a[0][n]["kernel"]) != np.asarray(a[1][n]["kernel"])).any() for n in SHAPES)
    s = rs(ctx(), jx(params), jx(masks), jax.random.PRNGKey(0))
    low, high = methods.select(s, jx(masks), 0.3), methods.select(s, jx(masks), 0.7)
    for n in SHAPES:
        assert (np.asarray(high[n]["kernel"]) <= np.asarray(low[n]["kernel"])).all()


def test_a_ratio_sweep_of_ten_models_equals_ten_separate_calls_and_compiles_once():
    params, masks, *_ = tiny()
    keys = jnp.stack([jax.random.PRNGKey(0), jax.random.PRNGKey(1)])
    stack = lambda t: jax.tree.map(lambda a: jnp.stack([jnp.asarray(a)] * 2), t)  # noqa: E731
    scores = jax.vmap(lambda k: methods.get("random").scores(ctx(), jx(params), jx(masks), k))(keys)
    sweep = jax.jit(lambda s, m, r: methods.sweep(s, m, r, scope="global"))
    ratios = jnp.linspace(0.0, 0.9, 10)
    got = sweep(scores, stack(masks), ratios)  # [2, 10, ...]
    single = jax.jit(lambda s, m, r: methods.select(s, m, r))
    for i in range(2):
        for j in range(10):
            one = single(jax.tree.map(lambda a: a[i], scores), jx(masks), ratios[j])
            for n in SHAPES:
                np.testing.assert_array_equal(got[n]["kernel"][i, j], one[n]["kernel"])
    assert sweep._cache_size() == 1 and single._cache_size() == 1
    sweep(scores, stack(masks), jnp.linspace(0.05, 0.95, 10))  # other ratios: no new compile
    assert sweep._cache_size() == 1
