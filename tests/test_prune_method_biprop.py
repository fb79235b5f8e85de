"""Multi-prize tickets (biprop) and edge-popup against numpy: the forward network, the
straight-through score gradient, and score training that lowers the loss with W untouched."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lottery.models.fcn import FCN
from lottery.prune import biprop, methods
from lottery.train import scores as score_training
from prune_methods_reference import SHAPES, keep_top, loss_and_grads, tiny

MODULE = FCN(features=(3, 2), use_bias=True)


def jx(tree):
    return jax.tree.map(jnp.asarray, tree)


def ref_network(params, masks, s, ratio, binarise, layerwise=False):
    keep = keep_top({n: s[n]["kernel"] for n in SHAPES}, {n: masks[n]["kernel"] for n in SHAPES}, ratio, layerwise)
    out = {}
    for n in SHAPES:
        w, m = params[n]["kernel"].astype(np.float64), keep[n]
        alpha = np.abs(w)[m].mean() if m.any() else 0.0
        out[n] = np.sign(w) * alpha * m if binarise else w * m
    return out, keep


@pytest.mark.parametrize("binarise", [True, False])
@pytest.mark.parametrize("scope", ["global", "layerwise"])
def test_forward_weights_are_sign_w_times_alpha_times_topk_mask(binarise, scope):
    params, masks, *_ = tiny()
    ctx = methods.Context(MODULE, binarise=binarise)
    s = biprop.scores(ctx, jx(params), jx(masks), jax.random.PRNGKey(2))
    for ratio in (0.0, 0.4, 0.8):
        eff, keep = biprop.network(ctx, jx(params), jx(masks), s, ratio, scope=scope)
        want, want_keep = ref_network(params, masks, jax.tree.map(np.asarray, s), ratio, binarise, scope == "layerwise")
        for n in SHAPES:
            np.testing.assert_array_equal(keep[n]["kernel"], want_keep[n])
            np.testing.assert_allclose(eff[n]["kernel"], want[n], rtol=1e-6)
            np.testing.assert_array_equal(eff[n]["bias"], params[n]["bias"])  # biases frozen


def test_score_gradient_is_dl_dweff_times_w():
    params, masks, x, y, valid = tiny()
    ctx = methods.Context(MODULE, binarise=True)
    s = biprop.scores(ctx, jx(params), jx(masks), jax.random.PRNGKey(5))
    ratio = 0.5
    g = jax.grad(lambda sc: biprop.loss(ctx, jx(params), jx(masks), sc, ratio, *jx((x[0], y[0], valid[0]))))(s)
    eff, _ = ref_network(params, masks, jax.tree.map(np.asarray, s), ratio, True)
    eff_params = {n: {"kernel": eff[n], "bias": params[n]["bias"]} for n in SHAPES}
    _, d_eff = loss_and_grads(eff_params, masks, x[0], y[0], valid[0])
    for n in SHAPES:
        want = d_eff[n] * masks[n]["kernel"] * params[n]["kernel"]
        np.testing.assert_allclose(g[n]["kernel"], want, rtol=1e-4, atol=1e-7)
        # pruned (but alive) weights get gradient too: the straight-through estimator
    assert any(np.abs(np.asarray(g[n]["kernel"]))[~ref_network(params, masks, jax.tree.map(np.asarray, s), ratio, True)[1][n]
                                                   & masks[n]["kernel"]].max() > 0 for n in SHAPES)


def test_training_scores_lowers_the_loss_and_leaves_w_bit_identical():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    labels = jnp.asarray((x[:, 0] + x[:, 1] > 0).astype(np.int32))[None]  # [L=1, N]
    module = FCN(features=(16, 2), use_bias=True)
    p = module.init(jax.random.PRNGKey(0), jnp.zeros((1, 4)))["params"]
    masks = jax.tree.map(lambda a: jnp.ones(a.shape, bool), p)
    k = 3
    ratios = jnp.asarray([0.0, 0.5, 0.8], jnp.float32)
    stack = lambda t: jax.tree.map(lambda a: jnp.stack([a] * k), t)  # noqa: E731
    params_k, masks_k = stack(p), stack(masks)
    before = jax.tree.map(lambda a: np.array(a, copy=True), params_k)
    ctx = methods.Context(module, binarise=True)
    tx = optax.trace(decay=0.9)
    program = score_training.ScoreProgram(ctx, tx, optax.constant_schedule(0.5))
    s0 = jax.vmap(lambda key, m: biprop.scores(ctx, None, m, key))(jax.random.split(jax.random.PRNGKey(1), k), masks_k)

    def full_loss(s):
        return jax.vmap(lambda pp, mm, ss, r: biprop.loss(ctx, pp, mm, ss, r, jnp.asarray(x), labels[0],
                                                          jnp.ones(64, bool)))(params_k, masks_k, s, ratios)

    start = np.asarray(full_loss(s0))
    state, losses = score_training.train(program, program.init(jax.tree.map(jnp.copy, s0)), params_k, masks_k, ratios,
                                         jnp.asarray(x), labels, jnp.zeros(k, jnp.int32), [0] * k, steps=40, chunk=8,
                                         batch=16)
    end = np.asarray(full_loss(state.scores))
    assert losses.shape == (40, k)
    assert (end[1:] < start[1:] - 0.05).all(), (start, end)  # pruned members learn a better subnetwork
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(np.asarray(a), b), params_k, before)
    assert program.run._cache_size() == 1  # one compile for every chunk and every ratio
