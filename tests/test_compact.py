"""Dead-unit compaction: live units against a numpy loop, the live sub-network computes the full
model's logits, and IMP with compaction gives the uncompacted run's results."""
import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from lottery.api import run
from lottery.prune import compact
from lottery.train import compaction
from helpers import numpy_fcn_logits, tiny_config

QUIET = dict(log=lambda s: None)


def random_net(rng, sizes, bias=True, density=0.3):
    params, masks = {}, {}
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        params[f"dense_{i}"] = {"kernel": rng.standard_normal((a, b)).astype(np.float32)}
        masks[f"dense_{i}"] = {"kernel": rng.random((a, b)) < density}
        if bias:
            params[f"dense_{i}"]["bias"] = rng.standard_normal(b).astype(np.float32)
            masks[f"dense_{i}"]["bias"] = rng.random(b) < 0.8
    return params, masks


def numpy_live(params, masks):
    """Reference: unit j of hidden layer l is live iff it has an outgoing weight and either an incoming
    weight or a positive unmasked bias."""
    names = sorted(masks)
    out = []
    for l in range(len(names) - 1):
        kin, kout = masks[names[l]]["kernel"], masks[names[l + 1]]["kernel"]
        live = []
        for j in range(kin.shape[1]):
            has_out = any(kout[j, c] for c in range(kout.shape[1]))
            has_in = any(kin[r, j] for r in range(kin.shape[0]))
            bias_on = "bias" in params[names[l]] and masks[names[l]]["bias"][j] and params[names[l]]["bias"][j] > 0
            live.append(has_out and (has_in or bias_on))
        out.append(np.array(live))
    return out


@pytest.mark.parametrize("bias", [True, False])
def test_live_units_and_the_sub_network_compute_the_full_logits(bias):
    rng = np.random.default_rng(3)
    sizes = (7, 12, 9, 3)
    params, masks = random_net(rng, sizes, bias)
    live = compact.live_units(params, masks)
    expected = numpy_live(params, masks)
    for got, want in zip(live, expected):
        np.testing.assert_array_equal(np.asarray(got), want)
    assert 0 < sum(int(w.sum()) for w in expected) < 21  # some units dead, some live
    widths = [int(w.sum()) + 2 for w in expected]  # with two padding slots each
    idx = [compact.live_indices(l, w) for l, w in zip(live, widths)]
    for i, want in zip(idx, expected):
        np.testing.assert_array_equal(np.asarray(i), np.r_[np.flatnonzero(want), [len(want)] * 2])
    cp, cm = compact.compact(params, masks, idx)
    masked = lambda p, m: jax.tree.map(lambda a, b: np.asarray(a) * np.asarray(b), p, m)
    x = rng.standard_normal((20, sizes[0]))
    np.testing.assert_allclose(numpy_fcn_logits(masked(cp, cm), x), numpy_fcn_logits(masked(params, masks), x),
                               rtol=1e-5, atol=1e-5)
    # Writing the sub-network back changes only live entries.
    bumped = jax.tree.map(lambda a: a + 1.0, cp)
    back = compact.expand(params, bumped, idx)
    for name in params:
        layer = int(name.split("_")[1])
        rows = np.flatnonzero(expected[layer - 1]) if layer > 0 else np.arange(sizes[0])
        cols = np.flatnonzero(expected[layer]) if layer < len(sizes) - 2 else np.arange(sizes[-1])
        want = params[name]["kernel"].copy()
        want[np.ix_(rows, cols)] += 1.0
        np.testing.assert_array_equal(np.asarray(back[name]["kernel"]), want)
        if bias:
            want = params[name]["bias"].copy()
            want[cols] += 1.0
            np.testing.assert_array_equal(np.asarray(back[name]["bias"]), want)


def test_ladder():
    assert [compaction.ladder(n) for n in (1, 2, 3, 4, 5, 7, 9, 13, 100, 1000)] == [1, 2, 3, 4, 6, 8, 12, 16, 128, 1024]


@pytest.fixture
def trained_sizes(monkeypatch):
    sizes = []
    original = compaction.Compacted.train

    def spy(self, pop, start, stop, progress=None):
        pop, s = original(self, pop, start, stop, progress)
        sizes.append((s, tuple(int(pop.masks[n]["kernel"].shape[2]) for n in sorted(pop.masks)[:-1])))
        return pop, s

    monkeypatch.setattr(compaction.Compacted, "train", spy)
    return sizes


CASES = {
    "gmm_fcn": {},
    "fcn_bias_2_hidden": {"model.name": "fcn", "model.hidden": ("W", 5), "model.use_bias": True},
    "gmm_fcn_plain_sgd_packed": {"optimizer.momentum": 0.0},  # both runs train packed
}


@pytest.mark.parametrize("case", CASES)
def test_compacted_imp_equals_the_uncompacted_run(tmp_path, trained_sizes, case):
    kw = {"imp.levels": 4, "imp.fraction": 0.5, "model.widths": (6, 10), "train.epochs": 3,
          "optimizer.momentum": 0.9, "imp.branches": ("reinit", "finetune", "random_global"), **CASES[case]}
    full = run(tiny_config(**kw, **{"imp.compact": False}), str(tmp_path / "full"), **QUIET)
    assert not trained_sizes
    small = run(tiny_config(**kw, **{"imp.compact": True}), str(tmp_path / "small"), **QUIET)
    assert any(s < f for sizes, fulls in trained_sizes for s, f in zip(sizes, fulls)), trained_sizes
    keys = ["width", "seed", "noise_seed", "level", "branch", "split"]
    a, b = full.sort_values(keys).reset_index(drop=True), small.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(a[keys + ["weights_remaining"]], b[keys + ["weights_remaining"]])
    np.testing.assert_allclose(a.loss, b.loss, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(a.error, b.error, atol=1.5 / 32)  # at most one prediction in a split may flip


def test_weight_decay_turns_compaction_off(tmp_path, trained_sizes):
    run(tiny_config(**{"imp.levels": 2, "optimizer.weight_decay": 1e-3}), str(tmp_path), **QUIET)
    assert not trained_sizes
