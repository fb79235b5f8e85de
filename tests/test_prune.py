"""Pruning: exact counting, magnitude rules (clean / openlth, global / layerwise), random control.

Every expected value comes from an independent numpy / exact-integer reference written here from
the documented rules (docs/science.md §4 and the docstring of ``lottery.prune.magnitude``), never from the
library itself.
"""
import functools
import math
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lottery.prune import counting, magnitude
from lottery.prune import random as prune_random

SMALL = ((10, 8), (8, 6), (6, 4))  # dense_0, dense_1, dense_2 kernels [in, out]


# ---------------------------------------------------------------------------------------------
# Exact references
# ---------------------------------------------------------------------------------------------

def exact_ceil(fraction, count, rate=None):
    """⌈f·R⌉ (times an optional rate) on exact decimal arithmetic."""
    x = Fraction(str(fraction)) * int(count)
    if rate is not None:
        x *= Fraction(str(rate))
    return math.ceil(x)


def ref_prune(params, masks, fraction, rule="clean", scope="global", ignore=(), rates=None):
    """numpy reference of magnitude.prune: returns {layer: kernel keep-mask}."""
    rates = rates or {}
    names = sorted(params)
    ranked = [n for n in names if n not in ignore]
    kern = {n: np.asarray(masks[n]["kernel"], bool) for n in names}
    out = {n: kern[n].copy() for n in names}
    if scope == "global":
        groups = [(ranked, None)]
    else:
        groups = [([n], rates.get(n, 1.0)) for n in ranked]
    for group, rate in groups:
        counted = names if (rule == "openlth" and scope == "global") else group
        total = sum(int(kern[n].sum()) for n in counted)
        k = exact_ceil(fraction, total, rate)
        mags = np.concatenate([np.abs(np.asarray(params[n]["kernel"], np.float64)).ravel() for n in group])
        alive = np.concatenate([kern[n].ravel() for n in group])
        keep = alive.copy()
        if rule == "clean":
            idx = np.flatnonzero(alive)
            # Sort by magnitude, ties broken by position in the concatenation (name order, row-major).
            order = idx[np.lexsort((idx, mags[idx]))]
            keep[order[:k]] = False
        else:
            surviving = np.sort(mags[alive])
            if k >= surviving.size:
                keep[:] = False
            else:
                keep &= mags > surviving[k]
        start = 0
        for n in group:
            size = kern[n].size
            out[n] = keep[start:start + size].reshape(kern[n].shape)
            start += size
    return out


# ---------------------------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------------------------

def distinct_params(rng, shapes=SMALL, bias=True):
    """Params whose |w| are all distinct (a random permutation of 1..T, exact in float32)."""
    total = sum(a * b for a, b in shapes)
    mags = (rng.permutation(total) + 1).astype(np.float32) / np.float32(1024)
    signs = rng.choice(np.array([-1.0, 1.0], np.float32), total)
    flat = mags * signs
    params, start = {}, 0
    for i, (a, b) in enumerate(shapes):
        layer = {"kernel": flat[start:start + a * b].reshape(a, b)}
        if bias:
            layer["bias"] = rng.normal(size=b).astype(np.float32)
        params[f"dense_{i}"] = layer
        start += a * b
    return params


def tied_params(rng, shapes=SMALL, levels=4, bias=True):
    """Params with many ties, across signs and across layers: |w| in {1..levels}."""
    params = {}
    for i, (a, b) in enumerate(shapes):
        k = rng.integers(1, levels + 1, size=(a, b)).astype(np.float32)
        k *= rng.choice(np.array([-1.0, 1.0], np.float32), (a, b))
        params[f"dense_{i}"] = {"kernel": k}
        if bias:
            params[f"dense_{i}"]["bias"] = rng.normal(size=b).astype(np.float32)
    return params


def random_masks(rng, params, density=0.7):
    masks = {}
    for n, layer in params.items():
        masks[n] = {"kernel": rng.random(layer["kernel"].shape) < density}
        if "bias" in layer:
            masks[n]["bias"] = rng.random(layer["bias"].shape) < 0.9
    return masks


def full_masks(params):
    return {n: {k: np.ones(v.shape, bool) for k, v in layer.items()} for n, layer in params.items()}


def kernel_counts(masks):
    return {n: int(np.asarray(layer["kernel"]).sum()) for n, layer in masks.items()}


def to_np(tree):
    return jax.tree.map(np.asarray, tree)


@functools.lru_cache(maxsize=None)
def jitted(rule, scope, ignore=(), rates=()):
    """One compiled prune per static configuration (rates passed as a tuple of pairs)."""
    return jax.jit(functools.partial(magnitude.prune, rule=rule, scope=scope, ignore=ignore,
                                     rates=dict(rates) or None))


def check_against_reference(params, masks, fraction, rule, scope, ignore=(), rates=()):
    got = to_np(jitted(rule, scope, ignore, rates)(params, masks, jnp.float32(fraction)))
    want = ref_prune(params, masks, fraction, rule, scope, ignore, dict(rates))
    assert set(got) == set(masks)
    for n in masks:
        old = np.asarray(masks[n]["kernel"])
        new = got[n]["kernel"]
        assert new.dtype == np.bool_ and new.shape == old.shape
        assert not np.any(new & ~old), f"{n}: a dead weight came back"
        np.testing.assert_array_equal(new, want[n], err_msg=f"{n} rule={rule} scope={scope} f={fraction}")
        if "bias" in masks[n]:
            np.testing.assert_array_equal(got[n]["bias"], np.asarray(masks[n]["bias"]))
        assert set(got[n]) == set(masks[n])
    for n in ignore:
        np.testing.assert_array_equal(got[n]["kernel"], np.asarray(masks[n]["kernel"]))
    return got


# ---------------------------------------------------------------------------------------------
# 1. counting.ceil_fraction
# ---------------------------------------------------------------------------------------------

def _ceil_cases():
    rng = np.random.default_rng(0)
    fixed_f = [0.0, 1.0, 0.2, 0.5, 0.1, 0.3, 0.25, 0.8, 0.05, 0.000001, 0.999999, 0.123457, 0.7]
    fixed_r = [0, 1, 2, 3, 5, 7, 10, 999, 1000, 999_999, 1_000_000, 1_000_001, 238_200, 266_200,
               190_559, 47_641, 2**24 + 1, 2**30, 2**31 - 2, 2**31 - 1]
    fs = [f for f in fixed_f for _ in fixed_r]
    rs = [r for _ in fixed_f for r in fixed_r]
    rand_f = [round(int(p) / 1e6, 6) for p in rng.integers(0, 1_000_001, 400)]
    rand_r = [int(r) for r in rng.integers(0, 2**31 - 1, 400, dtype=np.int64)]
    rand_r[:50] = [int(r) for r in rng.integers(0, 2000, 50)]
    rand_r[50:100] = [int(r) for r in rng.integers(2**31 - 5000, 2**31, 50, dtype=np.int64)]
    return fs + rand_f, rs + rand_r


def test_ceil_fraction_the_motivating_case():
    assert exact_ceil(0.2, 238_200) == 47_640
    assert int(counting.ceil_fraction(0.2, 238_200)) == 47_640
    assert int(jax.jit(counting.ceil_fraction)(jnp.float32(0.2), jnp.int32(238_200))) == 47_640


def test_ceil_fraction_is_exact_for_six_decimal_fractions():
    fs, rs = _ceil_cases()
    want = np.array([exact_ceil(f, r) for f, r in zip(fs, rs)], np.int64)
    # Eager, elementwise.
    got = np.asarray(counting.ceil_fraction(np.array(fs, np.float32), np.array(rs, np.int32)))
    assert got.dtype == np.int32
    bad = np.flatnonzero(got.astype(np.int64) != want)
    assert bad.size == 0, [(fs[i], rs[i], int(got[i]), int(want[i])) for i in bad[:10]]
    # Jitted with a traced fraction (and a traced count), one element at a time: one compilation.
    fn = jax.jit(counting.ceil_fraction)
    for f, r, w in list(zip(fs, rs, want))[::7]:
        assert int(fn(jnp.float32(f), jnp.int32(r))) == w, (f, r)
    assert fn._cache_size() == 1
    # Jitted, vectorised.
    got_jit = np.asarray(fn(jnp.asarray(fs, jnp.float32), jnp.asarray(rs, jnp.int32)))
    np.testing.assert_array_equal(got_jit.astype(np.int64), want)
    # Scalar python inputs.
    for f, r, w in list(zip(fs, rs, want))[::53]:
        assert int(counting.ceil_fraction(f, r)) == w


# ---------------------------------------------------------------------------------------------
# 2./3. global scope, both rules, against the numpy reference
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rule", magnitude.RULES)
@pytest.mark.parametrize("ignore", [(), ("dense_2",)])
def test_global_matches_reference_distinct_magnitudes(rule, ignore):
    for seed in range(4):
        rng = np.random.default_rng(seed)
        params = distinct_params(rng)
        masks = random_masks(rng, params)
        for fraction in (0.2, 0.1, 0.5, 0.37, 0.999):
            got = check_against_reference(params, masks, fraction, rule, "global", ignore)
            before, after = kernel_counts(masks), kernel_counts(got)
            ranked = [n for n in masks if n not in ignore]
            removed = sum(before[n] - after[n] for n in ranked)
            if rule == "clean":
                r = sum(before[n] for n in ranked)
                assert removed == exact_ceil(fraction, r)
            else:
                r = sum(before.values())  # ignored layers count in R
                k = exact_ceil(fraction, r)
                assert removed == min(k + 1, sum(before[n] for n in ranked))


@pytest.mark.parametrize("rule", magnitude.RULES)
@pytest.mark.parametrize("ignore", [(), ("dense_0",)])
def test_global_matches_reference_with_ties(rule, ignore):
    for seed in range(4):
        rng = np.random.default_rng(100 + seed)
        params = tied_params(rng)
        masks = random_masks(rng, params)
        for fraction in (0.2, 0.1, 0.33, 0.6):
            got = check_against_reference(params, masks, fraction, rule, "global", ignore)
            if rule == "clean":
                ranked = [n for n in masks if n not in ignore]
                before, after = kernel_counts(masks), kernel_counts(got)
                assert sum(before[n] - after[n] for n in ranked) == exact_ceil(
                    fraction, sum(before[n] for n in ranked))


def test_clean_tie_rule_by_hand():
    """Equal magnitudes: the earlier layer (name order), then the earlier row-major position goes."""
    params = {
        "dense_1": {"kernel": np.array([[1.0, -1.0], [2.0, 1.0]], np.float32)},
        "dense_0": {"kernel": np.array([[3.0, 1.0], [-1.0, 5.0]], np.float32),
                    "bias": np.zeros(2, np.float32)},
    }
    masks = {"dense_1": {"kernel": np.array([[True, True], [True, True]])},
             "dense_0": {"kernel": np.array([[True, True], [False, True]]), "bias": np.ones(2, bool)}}
    # Surviving: dense_0 has 3 (|1| at (0,1)); dense_1 has 4 (|1| at (0,0), (0,1), (1,1)); R = 7.
    # f = 0.3 → k = ⌈2.1⌉ = 3: remove dense_0[0,1], dense_1[0,0], dense_1[0,1]; keep dense_1[1,1].
    got = to_np(magnitude.prune(params, masks, 0.3, rule="clean"))
    np.testing.assert_array_equal(got["dense_0"]["kernel"], [[True, False], [False, True]])
    np.testing.assert_array_equal(got["dense_1"]["kernel"], [[False, False], [True, True]])
    # openlth: R = 7, k = 3, sorted surviving |w| = 1,1,1,1,2,3,5 → t = 1 → every |w| = 1 goes.
    got = to_np(magnitude.prune(params, masks, 0.3, rule="openlth"))
    np.testing.assert_array_equal(got["dense_0"]["kernel"], [[True, False], [False, True]])
    np.testing.assert_array_equal(got["dense_1"]["kernel"], [[False, False], [True, False]])


def test_openlth_counts_ignored_layers_in_r():
    """R includes ignored layers: ignoring a big layer still removes ⌈f·R_all⌉ + 1 from the rest."""
    rng = np.random.default_rng(7)
    params = distinct_params(rng)
    masks = full_masks(params)
    got = to_np(jitted("openlth", "global", ("dense_0",))(params, masks, jnp.float32(0.2)))
    before, after = kernel_counts(masks), kernel_counts(got)
    assert after["dense_0"] == before["dense_0"]
    removed = before["dense_1"] + before["dense_2"] - after["dense_1"] - after["dense_2"]
    assert removed == math.ceil(Fraction(1, 5) * (80 + 48 + 24)) + 1 == 32


# ---------------------------------------------------------------------------------------------
# 4. layerwise scope
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rule", magnitude.RULES)
def test_layerwise_with_rates_and_ignore(rule):
    rates = (("dense_1", 0.5),)
    ignore = ("dense_2",)
    for seed in range(3):
        for make in (distinct_params, tied_params):
            rng = np.random.default_rng(200 + seed)
            params = make(rng)
            masks = random_masks(rng, params)
            for fraction in (0.2, 0.4, 0.5):
                got = check_against_reference(params, masks, fraction, rule, "layerwise", ignore, rates)
                if rule == "clean":
                    before, after = kernel_counts(masks), kernel_counts(got)
                    assert before["dense_0"] - after["dense_0"] == exact_ceil(fraction, before["dense_0"])
                    assert before["dense_1"] - after["dense_1"] == exact_ceil(fraction, before["dense_1"], 0.5)
                    assert after["dense_2"] == before["dense_2"]


# ---------------------------------------------------------------------------------------------
# 5./6. iterated levels on the 784→300→10 FCN
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fcn_784_300_10():
    """784→300→10 with biases; kernels ~ N(0, 1) in float32 with tie-free magnitudes."""
    rng = np.random.default_rng(11)
    total = 784 * 300 + 300 * 10
    pool = np.unique(np.abs(rng.normal(size=total + 20_000).astype(np.float32)))
    assert pool.size >= total
    mags = rng.permutation(pool)[:total]
    flat = mags * rng.choice(np.array([-1.0, 1.0], np.float32), total)
    assert np.unique(np.abs(flat)).size == total == 238_200
    return {
        "dense_0": {"kernel": flat[:784 * 300].reshape(784, 300), "bias": np.zeros(300, np.float32)},
        "dense_1": {"kernel": flat[784 * 300:].reshape(300, 10), "bias": np.zeros(10, np.float32)},
    }


def test_openlth_recursion_on_784_300_10(fcn_784_300_10):
    # Device arrays from the start, as the training loop passes them (numpy inputs would be a
    # second cache entry on the first call, which is not a recompile across levels).
    params = jax.tree.map(jnp.asarray, fcn_784_300_10)
    masks = jax.tree.map(jnp.asarray, full_masks(params))
    assert sum(kernel_counts(masks).values()) == 238_200
    fn = jax.jit(functools.partial(magnitude.prune, rule="openlth", scope="global"))
    n = 238_200
    f = jnp.float32(0.2)
    for level in range(1, 13):
        masks = fn(params, masks, f)
        params = jax.tree.map(lambda p, m: p * m, params, masks)  # rewound weights of the survivors
        n = n - math.ceil(Fraction(1, 5) * n) - 1
        got = sum(kernel_counts(to_np(masks)).values())
        assert got == n, (level, got, n)
        assert fn._cache_size() == 1
        np.testing.assert_array_equal(np.asarray(masks["dense_0"]["bias"]), np.ones(300, bool))
    # Same sequence in pure integer arithmetic: ⌈2N/10⌉ = −(−2N // 10).
    seq = [238_200]
    for _ in range(12):
        seq.append(seq[-1] - (-(-2 * seq[-1] // 10)) - 1)
    assert seq[1:4] == [190_559, 152_446, 121_955] and seq[-1] == n == 16_363


def test_clean_density_after_levels(fcn_784_300_10):
    params = jax.tree.map(jnp.asarray, fcn_784_300_10)
    masks = jax.tree.map(jnp.asarray, full_masks(params))
    fn = jax.jit(functools.partial(magnitude.prune, rule="clean", scope="global"))
    n0 = n = 238_200
    for level in range(1, 13):
        masks = fn(params, masks, jnp.float32(0.2))
        n = n - math.ceil(Fraction(1, 5) * n)
        got = sum(kernel_counts(to_np(masks)).values())
        assert got == n, (level, got, n)
        assert 0.8**level * n0 - level <= got <= 0.8**level * n0
        assert got / n0 == pytest.approx(0.8**level, abs=level / n0)
    assert fn._cache_size() == 1
    # The reference agrees on which weights survive at the end (params fixed throughout).
    params = to_np(params)
    ref = full_masks(params)
    for _ in range(12):
        keep = ref_prune(params, ref, 0.2, "clean", "global")
        ref = {k: {"kernel": keep[k], "bias": ref[k]["bias"]} for k in ref}
    for k in ref:
        np.testing.assert_array_equal(np.asarray(masks[k]["kernel"]), ref[k]["kernel"])


# ---------------------------------------------------------------------------------------------
# 7. vmap over a population
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rule", magnitude.RULES)
def test_vmap_over_population_matches_single_models(rule):
    rng = np.random.default_rng(300)
    members = [distinct_params(rng) if i % 2 else tied_params(rng) for i in range(5)]
    member_masks = [random_masks(rng, p) for p in members]
    decimals = [0.0, 0.2, 0.5, 0.13, 0.9]  # the reference reads these exactly
    fractions = np.array(decimals, np.float32)
    stack = lambda trees: jax.tree.map(lambda *xs: np.stack(xs), *trees)
    single = functools.partial(magnitude.prune, rule=rule, scope="global")
    batched = jax.jit(jax.vmap(single, in_axes=(0, 0, 0)))(stack(members), stack(member_masks),
                                                          jnp.asarray(fractions))
    batched = to_np(batched)
    one = jax.jit(single)
    for i in range(5):
        alone = to_np(one(members[i], member_masks[i], jnp.float32(fractions[i])))
        want = ref_prune(members[i], member_masks[i], decimals[i], rule, "global")
        for n in alone:
            np.testing.assert_array_equal(batched[n]["kernel"][i], alone[n]["kernel"])
            np.testing.assert_array_equal(batched[n]["bias"][i], alone[n]["bias"])
            np.testing.assert_array_equal(alone[n]["kernel"], want[n])


# ---------------------------------------------------------------------------------------------
# 8. random.like
# ---------------------------------------------------------------------------------------------

def _base_and_target(seed):
    rng = np.random.default_rng(seed)
    params = distinct_params(rng)
    base = random_masks(rng, params, density=0.8)
    target = to_np(jitted("clean", "global")(params, base, jnp.float32(0.5)))
    return base, target


def test_random_like_global():
    base, target = _base_and_target(400)
    fn = jax.jit(functools.partial(prune_random.like, scope="global"))
    a = to_np(fn(jax.random.PRNGKey(0), base, target))
    b = to_np(fn(jax.random.PRNGKey(1), base, target))
    a2 = to_np(fn(jax.random.PRNGKey(0), base, target))
    want = sum(kernel_counts(target).values())
    for m in (a, b):
        assert sum(kernel_counts(m).values()) == want
        for n in base:
            k = m[n]["kernel"]
            assert k.dtype == np.bool_ and k.shape == base[n]["kernel"].shape
            assert not np.any(k & ~base[n]["kernel"]), "chosen outside the base mask"
            np.testing.assert_array_equal(m[n]["bias"], base[n]["bias"])
    differs = lambda x, y: any(not np.array_equal(x[n]["kernel"], y[n]["kernel"]) for n in base)
    assert differs(a, target) and differs(b, target) and differs(a, b)
    assert not differs(a, a2)  # the key is the only source of randomness
    # Global: per-layer counts are free to move (the target here keeps the big magnitudes).
    assert kernel_counts(a) != kernel_counts(target) or kernel_counts(b) != kernel_counts(target)


def test_random_like_layerwise():
    base, target = _base_and_target(401)
    fn = jax.jit(functools.partial(prune_random.like, scope="layerwise"))
    a = to_np(fn(jax.random.PRNGKey(0), base, target))
    b = to_np(fn(jax.random.PRNGKey(5), base, target))
    for m in (a, b):
        assert kernel_counts(m) == kernel_counts(target)
        for n in base:
            assert not np.any(m[n]["kernel"] & ~base[n]["kernel"])
            np.testing.assert_array_equal(m[n]["bias"], base[n]["bias"])
    assert any(not np.array_equal(a[n]["kernel"], target[n]["kernel"]) for n in base)
    assert any(not np.array_equal(a[n]["kernel"], b[n]["kernel"]) for n in base)


def test_random_like_is_uniform_inside_base():
    """Over many keys every surviving slot is chosen at about keep/alive frequency."""
    base, target = _base_and_target(402)
    fn = jax.jit(jax.vmap(functools.partial(prune_random.like, scope="global"), in_axes=(0, None, None)))
    keys = jax.random.split(jax.random.PRNGKey(9), 400)
    out = to_np(fn(keys, base, target))
    freq = np.concatenate([out[n]["kernel"].mean(0).ravel() for n in sorted(base)])
    alive = np.concatenate([base[n]["kernel"].ravel() for n in sorted(base)])
    p = sum(kernel_counts(target).values()) / alive.sum()
    assert np.all(freq[~alive] == 0)
    assert abs(freq[alive].mean() - p) < 1e-6
    assert np.all(np.abs(freq[alive] - p) < 5 * math.sqrt(p * (1 - p) / 400) + 1e-9)


# ---------------------------------------------------------------------------------------------
# 9. edges
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("scope", magnitude.SCOPES)
def test_fraction_zero_leaves_clean_masks_unchanged(scope):
    rng = np.random.default_rng(500)
    params = tied_params(rng)
    masks = random_masks(rng, params)
    got = to_np(jitted("clean", scope)(params, masks, jnp.float32(0.0)))
    for n in masks:
        np.testing.assert_array_equal(got[n]["kernel"], masks[n]["kernel"])
        np.testing.assert_array_equal(got[n]["bias"], masks[n]["bias"])


def test_fraction_zero_openlth_removes_the_smallest_only():
    """OpenLTH's rule removes k + 1 = 1 weight at f = 0 (the threshold is the smallest survivor)."""
    rng = np.random.default_rng(501)
    params = distinct_params(rng)
    masks = random_masks(rng, params)
    got = check_against_reference(params, masks, 0.0, "openlth", "global")
    assert sum(kernel_counts(masks).values()) - sum(kernel_counts(got).values()) == 1


@pytest.mark.parametrize("rule", magnitude.RULES)
@pytest.mark.parametrize("scope", magnitude.SCOPES)
def test_ignoring_all_but_one_layer(rule, scope):
    rng = np.random.default_rng(502)
    params = distinct_params(rng)
    masks = random_masks(rng, params)
    ignore = ("dense_0", "dense_2")
    got = check_against_reference(params, masks, 0.3, rule, scope, ignore)
    for n in ignore:
        np.testing.assert_array_equal(got[n]["kernel"], masks[n]["kernel"])
    assert kernel_counts(got)["dense_1"] < kernel_counts(masks)["dense_1"]


@pytest.mark.parametrize("rule", magnitude.RULES)
def test_nonnegative_scores_replace_magnitudes(rule):
    rng = np.random.default_rng(504)
    params = distinct_params(rng)
    scores = distinct_params(rng)  # unrelated ranking
    scores = {n: {k: np.abs(v) for k, v in layer.items()} for n, layer in scores.items()}
    masks = random_masks(rng, params)
    got = to_np(magnitude.prune(params, masks, 0.3, rule=rule, scores=scores))
    want = ref_prune(scores, masks, 0.3, rule)
    for n in masks:
        np.testing.assert_array_equal(got[n]["kernel"], want[n])


@pytest.mark.parametrize("rule", magnitude.RULES)
def test_signed_scores_lower_is_pruned_first(rule):
    params = {"dense_0": {"kernel": np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)}}
    masks = {"dense_0": {"kernel": np.ones((2, 2), bool)}}
    scores = {"dense_0": {"kernel": np.array([[-10.0, 1.0], [2.0, 3.0]], np.float32)}}
    got = to_np(magnitude.prune(params, masks, 0.25, rule=rule, scores=scores))["dense_0"]["kernel"]
    assert not got[0, 0]  # the lowest score goes first


def test_masks_without_biases_and_unknown_options():
    rng = np.random.default_rng(503)
    params = distinct_params(rng, bias=False)
    masks = random_masks(rng, params)
    got = check_against_reference(params, masks, 0.25, "clean", "global")
    assert all(set(layer) == {"kernel"} for layer in got.values())
    with pytest.raises(ValueError):
        magnitude.prune(params, masks, 0.2, rule="nope")
    with pytest.raises(ValueError):
        magnitude.prune(params, masks, 0.2, scope="nope")
