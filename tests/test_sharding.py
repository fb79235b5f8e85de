"""The model axis sharded over 8 virtual CPU devices gives the results of one device; padding members never
reach the results; checkpoints written on 8 devices are refused, in one line, on another device count."""
import json
import os
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

import lottery
from lottery import api
from lottery.core.errors import ConfigError
from helpers import tiny_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The strategy a sharded bucket trains with on one device too (no packing, no compaction), and learning curves.
OVERRIDES = {"model.widths": (2, 3, 5), "train.seeds": (0, 1, 2), "imp.levels": 2, "train.pack": False,
             "imp.compact": False, "imp.branches": ("reinit", "finetune"), "eval.every": "2ep"}
# buckets of 6 and 3 members: padded to 8 each

SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    import jax
    from helpers import tiny_config
    from lottery import api
    from lottery.models import registry
    from lottery.train.state import Member
    from lottery.train.trainer import BucketTrainer, build_bucket
    from lottery.data import catalog as data_catalog
    c = tiny_config(**{overrides!r})
    api.run(c, sys.argv[1], log=lambda s: None)
    ds = data_catalog.load(c.data)
    t = BucketTrainer(build_bucket(registry.get("gmm_fcn"), ds.x_train, ds.y_train[None],
                                   [Member(2, s) for s in (0, 1, 2)], c.train, c.optimizer, 2))
    pop, _, _ = t.train(t.init(), 0, t.total_steps)
    leaf = pop.params["dense_0"]["kernel"]
    print("devices", jax.local_device_count(), "members", len(t.members), "shards", len(leaf.sharding.device_set),
          "shard rows", leaf.addressable_shards[0].data.shape[0])
""")


def test_eight_devices_give_one_devices_results(tmp_path):
    script = tmp_path / "sharded.py"
    script.write_text(SCRIPT.format(tests=os.path.join(ROOT, "tests"), overrides=OVERRIDES))
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8", "JAX_PLATFORMS": "cpu"}
    r = subprocess.run([sys.executable, str(script), str(tmp_path / "eight")], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "devices 8 members 8 shards 8 shard rows 1" in r.stdout  # 3 members padded to 8, one per device
    one = api.run(tiny_config(**OVERRIDES), str(tmp_path / "one"), log=lambda s: None)
    eight = pd.read_parquet(tmp_path / "eight" / "results.parquet")
    assert len(eight) == len(one) == 3 * 3 * 4 * (1 + 2 * 3)  # widths × seeds × splits × (level 0 + 2 × (main + 2 branches))
    keys = ["width", "seed", "level", "branch", "split"]
    a, b = one.sort_values(keys).reset_index(drop=True), eight.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(a[keys + ["weights_remaining"]], b[keys + ["weights_remaining"]])
    pd.testing.assert_frame_equal(a, b)  # bitwise, every column: the same strategy on 1 and 8 devices
    curves = [lottery.results.load_learning_curves(str(tmp_path / n)).sort_values(keys + ["step"]).reset_index(drop=True)
              for n in ("one", "eight")]
    assert len(curves[0]) and curves[0].step.nunique() > 1
    pd.testing.assert_frame_equal(*curves)
    # each run records what it trained on, and how
    for name, count in (("one", 1), ("eight", 8)):
        record = json.loads((tmp_path / name / "config.json").read_text())
        assert record["devices"]["count"] == count and record["devices"]["platform"] == "cpu"
        timing = json.loads((tmp_path / name / "timing.json").read_text())
        assert {b["strategy"] for b in timing.values()} == {"vmapped"}
        assert {b["devices"] for b in timing.values()} == {count} and not any(b["compaction"] for b in timing.values())
    # the 8-device checkpoints hold 8 models per bucket: refused on this single device, in one line
    with pytest.raises(ConfigError, match="another number of devices") as e:
        api.run(tiny_config(**{**OVERRIDES, "imp.levels": 3}), str(tmp_path / "eight"), log=lambda s: None)
    assert e.value.field == "workdir" and "\n" not in str(e.value)
