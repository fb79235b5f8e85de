"""The benchmark: its FLOP formula by hand, a --quick smoke run that writes every measurement, and the padded
baselines' steps against independent single-model steps (eager PyTorch, the engine's member step)."""
import importlib.util
import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lottery import configs
from lottery.bench import flops, jax_padded, padded
from lottery.models import registry
from lottery.train import optim
from lottery.train.step import member_step

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_flop_formula_counts_kernels_six_times_per_example():
    # D=100 → P=10 → 2: 1,000 + 20 kernel weights; 2 FLOP forward and 4 backward per weight and example.
    assert flops.fcn_weights((100, 10, 2)) == 1020
    assert flops.train_epoch_flops((100, 10, 2), 10_000) == 6 * 1020 * 10_000
    assert flops.fcn_weights((784, 300, 100, 10)) == 784 * 300 + 300 * 100 + 100 * 10  # LeNet-300-100: 266,200


def test_quick_bench_writes_every_measurement(tmp_path):
    out = tmp_path / "bench.json"
    # the convolutional workload (e) compiles three ResNet programs: left to the full bench and test_conv_population
    # one PyTorch thread: on a busy shared machine two spin against each other (the rates are not checked here)
    proc = subprocess.run([sys.executable, "-m", "lottery.bench", "--quick", f"--out={out}", "--workloads=gmm,mnist,imp",
                           "--torch_threads=1"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "the strongest baseline" in proc.stdout and "IMP level time against density" in proc.stdout
    r = json.loads(out.read_text())
    assert r["sgemm_gflops"]["numpy"] > 0 and r["sgemm_gflops"]["xla"] > 0
    assert [w["workload"][:3] for w in r["workloads"]] == ["(a)", "(a'", "(b)", "(c)"]
    # packed GMM buckets also time their first layer's products alone (what bounds them); (c) is unpacked
    assert [("first_layer_model_epochs_per_s" in w) for w in r["workloads"]] == [True, True, True, False]
    assert all(w.get("first_layer_model_epochs_per_s", 1) > 0 for w in r["workloads"])
    torch = "torch_missing" not in r
    assert torch == (importlib.util.find_spec("torch") is not None)
    for w in r["workloads"]:
        assert w["lottery"]["model_epochs_per_s"] > 0 and all(b["compile_s"] >= 0 for b in w["buckets"])
        sides = w["baselines"]
        assert list(sides) == ["eager", "func_own", "func_shared", "compile_own", "jax_padded"]
        measured = [k for k, side in sides.items() if "absent" not in side]
        # torch.compile is left to the full bench; without torch every PyTorch row says why it is absent
        assert measured == (["eager", "func_own", "func_shared", "jax_padded"] if torch else ["jax_padded"])
        assert sides["compile_own"]["absent"].startswith("skipped" if torch else "torch is not installed")
        assert all(sides[k]["model_epochs_per_s"] > 0 and sides[k]["gflops"] > 0 for k in measured)
        # the speed-up is against the strongest baseline
        assert w["strongest"] == max(measured, key=lambda k: sides[k]["model_epochs_per_s"])
        assert w["speedup"] == pytest.approx(w["lottery"]["model_epochs_per_s"] / sides[w["strongest"]]["model_epochs_per_s"])
    masked, packed = r["imp_levels"]["masked"], r["imp_levels"]["compacted"]
    assert [x["level"] for x in masked] == [x["level"] for x in packed] == list(range(4))
    for a, b in zip(masked, packed):  # the same pruning either way; compaction only trains fewer units
        assert a["density"] == b["density"] and b["trained_width"] <= a["trained_width"] == 200
    np.testing.assert_allclose([x["density"] for x in masked], 0.8 ** np.arange(4), rtol=0.01)
    assert all(v == 1 for c in r["imp_compiles"].values() for v in c.values())  # compiled once, reused
    assert [t["target"][:3] for t in r["targets"]][-2:] == ["(c)", "(d)"] and r["targets"][-1]["met"]


def test_unknown_workload_is_a_one_line_error():
    proc = subprocess.run([sys.executable, "-m", "lottery.bench", "--quick", "--workloads=gmm,cnn"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1].startswith("error: --workloads: unknown cnn")


def _bucket():
    """Two widths × two seeds of a two-hidden-layer net with biases, padded into one bucket: D=7 → W → 6 → 3,
    W ∈ {3, 5} padded to 5, and per model its own batch of 8 (model 1's last two examples are padding, −1)."""
    spec = registry.get("fcn", hidden=("W", 6), use_bias=True)
    (bucket,) = padded.padded_buckets(spec, (3, 5), (0, 1), 7, 3)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20, 7), dtype=np.float32)
    y = rng.integers(0, 3, 20)
    idx = np.stack([rng.permutation(20)[:8] for _ in bucket.members])  # [K, B]
    idx[1, -2:] = -1
    return spec, bucket, x, y, idx


def test_torch_func_population_step_equals_each_eager_model_step():
    torch = pytest.importorskip("torch")
    from lottery.bench import torch_func, torch_loop

    spec, bucket, x, y, idx = _bucket()
    assert bucket.padded == (7, 5, 6, 3) and [s[1] for s in bucket.sizes] == [3, 3, 5, 5]
    idx = np.maximum(idx, 0)  # PyTorch batches are exact: no padding
    xt, yt = torch_loop.tensors(x, y)

    def eager(k, rows):
        """Model k trained alone for one OpenLTH-style step on ``rows``: {parameter name: tensor}."""
        model = torch_loop.build_model(bucket.sizes[k], bucket.seeds[k], True)
        weights = torch_loop.kernels(model)
        torch_loop.sgd_step(model, weights, [torch.ones_like(w) for w in weights],
                            torch.optim.SGD(model.parameters(), lr=0.1), xt[rows], yt[rows])
        return dict(model.named_parameters())

    models = [torch_loop.build_model(s, seed, True) for s, seed in zip(bucket.sizes, bucket.seeds)]
    stacked = torch_func.stack(models, bucket.padded, True)
    for shared in (False, True):
        rows = torch.from_numpy(idx[0] if shared else idx)
        after = torch_func.population_step(stacked, shared, 0.1)(stacked.params, stacked.masks, xt[rows], yt[rows])
        for k in range(len(models)):
            alone = eager(k, rows if shared else rows[k])
            for name, p, m in zip(stacked.names, after, stacked.masks):
                true = alone[name].detach()
                corner = (k, *(slice(0, s) for s in true.shape))
                np.testing.assert_allclose(p[corner].numpy(), true.numpy(), rtol=1e-5, atol=1e-6)
                assert not (p[k] * (1 - m[k])).any()  # the padding stays 0


def test_jax_padded_population_step_equals_the_engines_member_step():
    spec, bucket, x, y, idx = _bucket()
    layers, masks = jax_padded.population(bucket, use_bias=True)
    before = jax.tree.map(np.asarray, layers)
    after = jax_padded.train_epoch(layers, masks, jnp.asarray(x), jnp.asarray(y, jnp.int32),
                                   jnp.asarray(idx[None], jnp.int32), np.float32(0.1))  # one step: idx [1, K, B]
    cfg = configs.base()
    cfg.optimizer.lr = 0.1
    tx = optim.direction(cfg.optimizer)  # plain SGD
    step = member_step(spec.module(bucket.padded_width, 3), tx, optim.schedule(cfg.optimizer, 1, 1), None)
    names = [f"dense_{i}" for i in range(len(before))]
    for k in range(len(bucket.members)):
        params = {n: {leaf: jnp.asarray(a[k]) for leaf, a in layer.items()} for n, layer in zip(names, before)}
        mask = {n: {leaf: a[k] > 0 for leaf, a in layer.items()} for n, layer in zip(names, masks)}
        rows = idx[k]
        params, *_ = jax.jit(step)(params, mask, tx.init(params), jnp.int32(0), jnp.bool_(True), {},
                          jnp.zeros(2, jnp.uint32), jnp.asarray(x[np.maximum(rows, 0)]),
                          jnp.asarray(y[np.maximum(rows, 0)], jnp.int32), jnp.asarray(rows >= 0))
        for n, layer in zip(names, after):
            for leaf, a in layer.items():
                np.testing.assert_allclose(np.asarray(a[k]), np.asarray(params[n][leaf]), rtol=1e-5, atol=1e-6)


def test_baselines_say_why_a_row_is_absent(monkeypatch):
    from lottery.bench import __main__ as bench
    from lottery.bench import torch_loop

    spec = registry.get("gmm_fcn")
    rng = np.random.default_rng(0)
    x, y = jnp.asarray(rng.standard_normal((64, 4), dtype=np.float32)), jnp.asarray(rng.integers(0, 2, 64), jnp.int32)

    def baselines():
        return bench._baselines(spec, x, y, (2,), (0,), 32, 2, 1, 1, False, None)

    monkeypatch.setattr(torch_loop, "available", lambda: "torch is not installed (test)")
    out = baselines()
    assert [k for k, v in out.items() if isinstance(v, str)] == ["eager", "func_own", "func_shared", "compile_own"]
    assert out["jax_padded"].model_epochs_per_s > 0
    torch = pytest.importorskip("torch")
    monkeypatch.undo()

    def broken(fn, **kwargs):
        def run(*args):
            raise RuntimeError("no compiler here\nsecond line")
        return run

    monkeypatch.setattr(torch, "compile", broken)
    out = baselines()
    assert out["compile_own"] == "did not compile: RuntimeError: no compiler here"
    assert all(out[k].model_epochs_per_s > 0 for k in ("eager", "func_own", "func_shared", "jax_padded"))
