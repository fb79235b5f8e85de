"""The benchmark: its FLOP formula by hand, and a --quick smoke run that writes every measurement."""
import json
import os
import subprocess
import sys

import numpy as np

from lottery.bench import flops

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_flop_formula_counts_kernels_six_times_per_example():
    # D=100 → P=10 → 2: 1,000 + 20 kernel weights; 2 FLOP forward and 4 backward per weight and example.
    assert flops.fcn_weights((100, 10, 2)) == 1020
    assert flops.train_epoch_flops((100, 10, 2), 10_000) == 6 * 1020 * 10_000
    assert flops.fcn_weights((784, 300, 100, 10)) == 784 * 300 + 300 * 100 + 100 * 10  # LeNet-300-100: 266,200


def test_quick_bench_writes_every_measurement(tmp_path):
    out = tmp_path / "bench.json"
    # the convolutional workload (e) compiles three ResNet programs: left to the full bench and test_conv_population
    proc = subprocess.run([sys.executable, "-m", "lottery.bench", "--quick", f"--out={out}", "--workloads=gmm,mnist,imp"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "speedup" in proc.stdout and "IMP level time against density" in proc.stdout
    r = json.loads(out.read_text())
    assert r["sgemm_gflops"]["numpy"] > 0 and r["sgemm_gflops"]["xla"] > 0
    assert [w["workload"][:3] for w in r["workloads"]] == ["(a)", "(a'", "(b)", "(c)"]
    # packed GMM buckets also time their first layer's products alone (what bounds them); (c) is unpacked
    assert [("first_layer_model_epochs_per_s" in w) for w in r["workloads"]] == [True, True, True, False]
    assert all(w.get("first_layer_model_epochs_per_s", 1) > 0 for w in r["workloads"])
    for w in r["workloads"]:
        assert w["lottery_model_epochs_per_s"] > 0 and all(b["compile_s"] >= 0 for b in w["buckets"])
        assert ("speedup" in w) == ("torch_missing" not in r)
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
