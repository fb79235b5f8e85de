"""Gaussian mixture data (docs/science.md §1.1): exact Bayes posterior, sampling statistics, registry.

Every expectation is computed independently of the library: closed forms for the linear
layout, a float64 numpy evaluation of the mixture densities for xor, and sample moments
against the means docs/science.md §1.1 states.
"""
from __future__ import annotations

import jax
import numpy as np
import pytest

from lottery import configs
from lottery.data import catalog as registry, gmm


# ---------------------------------------------------------------- independent references

def _logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    m = np.max(a, axis=axis, keepdims=True)
    return np.squeeze(m, axis) + np.log(np.sum(np.exp(a - m), axis=axis))


def _log_gauss(x: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """log N(x; mu, I) in float64, full normalisation constant included."""
    d = x.shape[-1]
    diff = x - mu[None, :]
    return -0.5 * np.sum(diff * diff, axis=-1) - 0.5 * d * np.log(2.0 * np.pi)


def _spec_xor_means(dim: int, nu: float) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Component means of the xor layout written out from docs/science.md §1.1."""
    h = dim // 2
    zeros_h, nu_h = np.zeros(h), nu * np.ones(h)
    class0 = [np.zeros(dim), nu * np.ones(dim)]
    class1 = [np.concatenate([zeros_h, nu_h]), np.concatenate([nu_h, zeros_h])]
    return class0, class1


def _xor_posterior_numpy(x: np.ndarray, nu: float) -> np.ndarray:
    """p(y=1|x) for the xor mixture: equal component weights, equal class priors, float64."""
    x = np.asarray(x, np.float64)
    class0, class1 = _spec_xor_means(x.shape[1], nu)
    log_p0 = _logsumexp(np.stack([np.log(0.5) + _log_gauss(x, m) for m in class0]), axis=0)
    log_p1 = _logsumexp(np.stack([np.log(0.5) + _log_gauss(x, m) for m in class1]), axis=0)
    # equal priors cancel; p1 = sigmoid(log_p1 - log_p0)
    return 1.0 / (1.0 + np.exp(-(log_p1 - log_p0)))


def _linear_logit(x: np.ndarray, nu: float) -> np.ndarray:
    """Closed form: logit p(y=1|x) = nu*sum(x) - nu^2*D/2."""
    x = np.asarray(x, np.float64)
    return nu * x.sum(axis=1) - nu * nu * x.shape[1] / 2.0


# The posterior is evaluated under jit here: eager dispatch compiles every op for every new
# shape (~1 s each time on a small CPU); jit compiles the whole function once. The registry
# test below keeps one eager call of the real Dataset.posterior.
_posterior = jax.jit(gmm.posterior, static_argnums=0)


def _points_around(rng: np.random.Generator, means: list[np.ndarray], n: int) -> np.ndarray:
    """Points drawn with numpy near each of the given means (plus a wider spread)."""
    d = means[0].shape[0]
    pts = [m[None, :] + rng.standard_normal((n, d)) for m in means]
    pts.append(rng.standard_normal((n, d)) * 2.0 + np.mean(means, axis=0))
    return np.concatenate(pts).astype(np.float32)


# ---------------------------------------------------------------- linear posterior

@pytest.mark.parametrize("dim,nu", [(10, 0.3), (10, 1.0), (100, 0.2), (100, 0.5)])
def test_linear_posterior_matches_closed_form(dim, nu):
    rng = np.random.default_rng(dim * 1000 + int(nu * 100))
    x = _points_around(rng, [np.zeros(dim), nu * np.ones(dim)], 200)
    post = np.asarray(_posterior(gmm.linear(dim=dim, nu=nu), x), np.float64)
    assert post.shape == (x.shape[0], 2)
    np.testing.assert_allclose(post.sum(axis=1), 1.0, atol=1e-5)
    assert np.all(post > 0)
    logit = np.log(post[:, 1] / post[:, 0])
    expected = _linear_logit(x, nu)
    # float32 with the expanded quadratic: absolute error grows with ||x||^2 ~ D
    tol = 2e-5 * dim + 1e-4 * np.abs(expected)
    assert np.all(np.abs(logit - expected) <= tol), np.max(np.abs(logit - expected) - tol)


def test_linear_posterior_is_half_on_the_midplane():
    dim, nu = 10, 0.8
    rng = np.random.default_rng(1)
    x = rng.standard_normal((50, dim))
    x = x - x.mean(axis=1, keepdims=True) + nu / 2.0  # sum(x) = D*nu/2 exactly
    post = np.asarray(_posterior(gmm.linear(dim=dim, nu=nu), x.astype(np.float32)))
    np.testing.assert_allclose(post[:, 1], 0.5, atol=1e-4)


# ---------------------------------------------------------------- xor posterior

@pytest.mark.parametrize("dim,nu", [(10, 1.0), (10, 0.6), (100, 0.6), (100, 1.3)])
def test_xor_posterior_matches_numpy_mixture_density(dim, nu):
    rng = np.random.default_rng(7 + dim + int(nu * 10))
    class0, class1 = _spec_xor_means(dim, nu)
    x = _points_around(rng, class0 + class1, 100)
    post = np.asarray(_posterior(gmm.xor(dim=dim, nu=nu), x), np.float64)
    assert post.shape == (x.shape[0], 2)
    np.testing.assert_allclose(post.sum(axis=1), 1.0, atol=1e-5)
    expected = _xor_posterior_numpy(x, nu)
    np.testing.assert_allclose(post[:, 1], expected, atol=2e-4, rtol=1e-3)
    # also in log-odds where the probabilities are not saturated
    ok = (expected > 1e-4) & (expected < 1 - 1e-4)
    assert ok.sum() > 20
    np.testing.assert_allclose(np.log(post[ok, 1] / post[ok, 0]),
                               np.log(expected[ok] / (1 - expected[ok])), atol=2e-5 * dim + 1e-3)


def test_xor_posterior_symmetries():
    """Independent facts of the layout: at the four means the posterior is symmetric,
    and at the centre of all four means it is exactly one half."""
    dim, nu = 10, 1.0
    class0, class1 = _spec_xor_means(dim, nu)
    x = np.stack(class0 + class1 + [np.full(dim, nu / 2)]).astype(np.float32)
    post = np.asarray(_posterior(gmm.xor(dim=dim, nu=nu), x))
    np.testing.assert_allclose(post[0, 1], post[1, 1], atol=1e-5)
    np.testing.assert_allclose(post[2, 1], post[3, 1], atol=1e-5)
    np.testing.assert_allclose(post[0, 1], 1 - post[2, 1], atol=1e-5)
    assert post[0, 0] > 0.5 and post[2, 1] > 0.5
    np.testing.assert_allclose(post[4], [0.5, 0.5], atol=1e-5)


def test_xor_needs_even_dimension():
    with pytest.raises(ValueError):
        gmm.xor(dim=11, nu=1.0)


# ---------------------------------------------------------------- sampling

N_SAMPLE = 20_000


def _class_fraction_ok(y: np.ndarray) -> None:
    n = y.shape[0]
    frac = float(np.mean(y == 1))
    assert abs(frac - 0.5) <= 3 * 0.5 / np.sqrt(n), frac
    assert set(np.unique(y).tolist()) == {0, 1}


def test_sample_linear_shapes_balance_and_means():
    dim, nu = 100, 0.5
    x, y = gmm.sample(gmm.linear(dim=dim, nu=nu), jax.random.PRNGKey(0), N_SAMPLE)
    assert x.shape == (N_SAMPLE, dim) and x.dtype == np.float32
    assert y.shape == (N_SAMPLE,) and y.dtype == np.int32
    x, y = np.asarray(x, np.float64), np.asarray(y)
    _class_fraction_ok(y)
    for c, mu in ((0, 0.0), (1, nu)):
        xc = x[y == c]
        se = 1.0 / np.sqrt(len(xc))
        # 100 coordinates: allow 4.5 standard errors on each
        np.testing.assert_allclose(xc.mean(axis=0), mu, atol=4.5 * se)
        # identity covariance: unit variance per coordinate, no correlation across coordinates
        np.testing.assert_allclose(xc.var(axis=0), 1.0, atol=0.06)
        c01 = np.mean((xc[:, 0] - xc[:, 0].mean()) * (xc[:, 1] - xc[:, 1].mean()))
        assert abs(c01) < 0.05


def test_sample_xor_class_means_and_components():
    dim, nu = 100, 1.0
    h = dim // 2
    x, y = gmm.sample(gmm.xor(dim=dim, nu=nu), jax.random.PRNGKey(3), N_SAMPLE)
    x, y = np.asarray(x, np.float64), np.asarray(y)
    _class_fraction_ok(y)
    class0, class1 = _spec_xor_means(dim, nu)
    for c, comps in ((0, class0), (1, class1)):
        xc = x[y == c]
        se = 1.0 / np.sqrt(len(xc))
        # the class mean is the average of the two component means (each ν/2·1)
        # plus the spread of the component mixing (std ν/2 per coordinate of the mean)
        np.testing.assert_allclose(xc.mean(axis=0), (comps[0] + comps[1]) / 2,
                                   atol=4.5 * se * np.sqrt(1 + nu ** 2 / 4))
        # components are separable at this ν and D: the half-means are ~ N(0 or ν, 1/50)
        s1, s2 = xc[:, :h].mean(axis=1), xc[:, h:].mean(axis=1)
        first = s1 + s2 < nu if c == 0 else s1 < s2  # component 0 of the class
        frac = first.mean()
        assert abs(frac - 0.5) <= 3.5 * 0.5 * se, frac  # equal component weights
        for sel, mu in ((first, comps[0]), (~first, comps[1])):
            se_k = 1.0 / np.sqrt(sel.sum())
            np.testing.assert_allclose(xc[sel].mean(axis=0), mu, atol=5 * se_k)


def test_sample_is_deterministic_in_key():
    mix = gmm.linear(dim=100, nu=0.3)  # same shapes as above: no new compilation
    a = gmm.sample(mix, jax.random.PRNGKey(5), N_SAMPLE)
    b = gmm.sample(mix, jax.random.PRNGKey(5), N_SAMPLE)
    c = gmm.sample(mix, jax.random.PRNGKey(6), N_SAMPLE)
    np.testing.assert_array_equal(np.asarray(a[0]), np.asarray(b[0]))
    np.testing.assert_array_equal(np.asarray(a[1]), np.asarray(b[1]))
    assert not np.array_equal(np.asarray(a[0]), np.asarray(c[0]))


# ---------------------------------------------------------------- registry

# Sizes: the same shapes as the sampling tests above, so the eagerly dispatched random ops
# are already compiled (compilation, not the 20000 x 100 draw, is what costs time on CPU).
REG_DIM, REG_TRAIN, REG_TEST = 100, N_SAMPLE, N_SAMPLE


def _gmm_cfg(name="gmm_linear", seed=0, dim=REG_DIM, nu=0.5):
    cfg = configs.base()
    cfg.data.name = name
    cfg.data.dim = dim
    cfg.data.nu = nu
    cfg.data.train_size = REG_TRAIN
    cfg.data.test_size = REG_TEST
    cfg.data.seed = seed
    return cfg.data


def test_registry_gmm_linear_dataset_and_posterior():
    cfg = _gmm_cfg("gmm_linear", nu=0.5)
    ds = registry.load(cfg)
    assert ds.x_train.shape == (REG_TRAIN, REG_DIM) and ds.x_test.shape == (REG_TEST, REG_DIM)
    assert ds.y_train.shape == (REG_TRAIN,) and ds.y_test.shape == (REG_TEST,)
    assert ds.num_classes == 2
    assert ds.posterior is not None
    x = np.asarray(ds.x_test)
    post = np.asarray(ds.posterior(x), np.float64)  # eager, as callers use it
    assert post.shape == (x.shape[0], 2)
    np.testing.assert_allclose(np.log(post[:, 1] / post[:, 0]), _linear_logit(x, 0.5),
                               atol=2e-3, rtol=1e-4)
    # labels are 0/1 and the train and test sets are different draws
    assert set(np.unique(np.asarray(ds.y_train)).tolist()) <= {0, 1}
    assert not np.array_equal(np.asarray(ds.x_train), np.asarray(ds.x_test))
    # the data follow the configured mixture: class-1 mean is nu*1, class-0 mean is 0
    x, y = np.asarray(ds.x_train, np.float64), np.asarray(ds.y_train)
    for c, mu in ((0, 0.0), (1, 0.5)):
        np.testing.assert_allclose(x[y == c].mean(axis=0), mu, atol=5 / np.sqrt((y == c).sum()))


def test_registry_gmm_xor_posterior():
    cfg = _gmm_cfg("gmm_xor", nu=1.0)
    ds = registry.load(cfg)
    x = np.asarray(ds.x_test)
    post = np.asarray(jax.jit(ds.posterior)(x), np.float64)
    np.testing.assert_allclose(post[:, 1], _xor_posterior_numpy(x, 1.0), atol=2e-4, rtol=1e-3)


@pytest.mark.parametrize("name", ["gmm_linear", "gmm_xor"])
def test_registry_gmm_seed_determinism(name):
    a = registry.load(_gmm_cfg(name, seed=0))
    b = registry.load(_gmm_cfg(name, seed=0))
    c = registry.load(_gmm_cfg(name, seed=1))
    for field in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(np.asarray(getattr(a, field)), np.asarray(getattr(b, field)))
    assert not np.array_equal(np.asarray(a.x_train), np.asarray(c.x_train))
    assert not np.array_equal(np.asarray(a.x_test), np.asarray(c.x_test))
    assert not np.array_equal(np.asarray(a.y_train), np.asarray(c.y_train))
