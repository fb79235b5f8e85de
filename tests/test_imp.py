"""IMP: levels restart from the rewind point with pruned masks, programs compile once, branches,
checkpoints survive kills and corruption, runs extend."""
import os
import signal
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pandas as pd
import pytest

from lottery.studies.imp import bucket_levels as imp
from lottery.api import run
from lottery.core.errors import ConfigError
from lottery.store.checkpoints import BucketCheckpoints
from lottery.store.lock import WorkdirLock
from lottery.train.trainer import BucketTrainer
from helpers import instances_of, tiny_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUIET = dict(log=lambda s: None)


def imp_config(**kw):
    base = {"imp.levels": 3, "imp.fraction": 0.3, "model.widths": (3, 4), "train.epochs": 3,
            "optimizer.momentum": 0.9}
    base.update(kw)
    return tiny_config(**base)


def numpy_global_clean_prune(params, masks, fraction):
    """Reference: rank surviving kernel magnitudes of all layers (name order, row-major), remove ⌈f·R⌉."""
    names = sorted(masks)
    mags = np.concatenate([np.abs(params[n]["kernel"]).ravel() for n in names])
    alive = np.concatenate([masks[n]["kernel"].ravel() for n in names])
    k = int(np.ceil(round(fraction * alive.sum(), 6)))
    order = np.lexsort((np.arange(len(mags)), np.where(alive, mags, np.inf)))
    keep = alive.copy()
    keep[order[:k]] = False
    out, start = {}, 0
    for n in names:
        size = masks[n]["kernel"].size
        out[n] = keep[start:start + size].reshape(masks[n]["kernel"].shape)
        start += size
    return out


@pytest.fixture
def recorded(monkeypatch):
    """Records (start step, host copy of the population) at the start of every training range."""
    calls = []
    original = BucketTrainer.train

    def spy(self, pop, start, stop, progress=None):
        calls.append((start, stop, jax.tree.map(np.asarray, pop)))
        return original(self, pop, start, stop, progress)

    monkeypatch.setattr(BucketTrainer, "train", spy)
    return calls


@pytest.mark.parametrize("rewind", ["init", "1ep"])
def test_each_level_starts_from_rewind_weights_times_its_pruned_mask(tmp_path, recorded, rewind):
    # The starting states are read at the trainer: without compaction they have the full shapes.
    c = imp_config(**{"imp.rewind": rewind, "model.widths": (3,), "train.seeds": (0,), "imp.compact": False})
    df = run(c, str(tmp_path), **QUIET)
    steps = 4  # 64 examples, batch 16
    k = 0 if rewind == "init" else steps
    T = 3 * steps
    starts = [(s, e) for s, e, _ in recorded]
    assert starts == ([(0, T)] if k == 0 else [(0, k), (k, T)]) + [(k, T)] * 3
    states = [p for s, e, p in recorded if (s, e) == (k, T)]
    rewind_params = recorded[0][2].params if k == 0 else recorded[1][2].params
    # The trained weights of each level are the next level's pruning scores: read them back.
    ck = BucketCheckpoints(os.path.join(tmp_path, "checkpoints", "bucket00-w3-3"))
    for level in range(1, 4):
        prev = ck.load(imp.level_name(level - 1))
        start = states[level]
        one = lambda t: jax.tree.map(lambda a: a[0], t)  # noqa: E731
        expected_masks = numpy_global_clean_prune(one(prev["params"]), one(prev["masks"]), 0.3)
        for name, m in expected_masks.items():
            np.testing.assert_array_equal(start.masks[name]["kernel"][0], m)
            np.testing.assert_array_equal(start.params[name]["kernel"][0], rewind_params[name]["kernel"][0] * m)
        assert (start.step == k).all()
        for leaf in jax.tree.leaves(start.opt_state):  # a fresh optimizer state (momentum reset)
            assert not np.any(leaf)
        trained = ck.load(imp.level_name(level))
        for name, m in expected_masks.items():
            assert np.all(trained["params"][name]["kernel"][0][~m] == 0.0)
    main = df[(df.split == "test")].sort_values("level")
    counts = [int(v) for v in main.weights_remaining]
    assert len(counts) == 4
    n = 6 * 3 + 3 * 2  # D=6 → 3 → 2, no biases
    for level, got in enumerate(counts):
        assert got == n
        n -= int(np.ceil(round(0.3 * n, 6)))


def test_compiled_functions_are_reused_across_levels(tmp_path, monkeypatch):
    made = instances_of(monkeypatch, imp.BucketIMP)
    run(imp_config(**{"imp.levels": 4, "model.widths": (3,)}), str(tmp_path), **QUIET)
    runner = made[0]
    assert runner.trainer.strategy.cache_size() == 1
    assert runner.prune._cache_size() == 1
    assert all(t.strategy.cache_size() == 1 for t in runner.compacted.trainers.values())  # one per rung
    assert runner.trainer.evaluator.cache_size() == 3  # train; test (+ Bayes posterior); fresh sample (posterior only)


def test_branches(tmp_path, recorded):
    c = imp_config(**{"imp.levels": 1, "model.widths": (4,), "train.seeds": (0, 1),
                      "imp.branches": ("reinit", "random_global", "random_layerwise", "finetune"),
                      "imp.compact": False})
    df = run(c, str(tmp_path), **QUIET)
    level1, reinit, rglobal, rlayer, finetune = [p for _, _, p in recorded[1:]]
    masks = level1.masks
    k0 = lambda t, n: t[n]["kernel"]  # noqa: E731
    for n in masks:
        np.testing.assert_array_equal(k0(reinit.masks, n), k0(masks, n))  # same mask …
        assert not np.allclose(k0(reinit.params, n), k0(level1.params, n))  # … other weights
        assert np.array_equal(k0(rlayer.masks, n).sum(axis=(1, 2)), k0(masks, n).sum(axis=(1, 2)))
        assert not np.array_equal(k0(rglobal.masks, n), k0(masks, n))
    total = lambda m: sum(m[n]["kernel"].sum(axis=(1, 2)) for n in m)  # noqa: E731
    np.testing.assert_array_equal(total(rglobal.masks), total(masks))
    assert reinit.step.tolist() == [0, 0]
    ck = BucketCheckpoints(os.path.join(tmp_path, "checkpoints", "bucket00-w4-4"))
    trained0 = ck.load("level_000")["params"]
    for n in masks:
        np.testing.assert_array_equal(k0(finetune.params, n), k0(trained0, n) * k0(masks, n))
    assert set(df.branch) == {"main", "reinit", "random_global", "random_layerwise", "finetune"}
    counts = df[df.split == "test"].groupby("branch").weights_remaining.unique()
    assert all(len(v) == 1 and v[0] == counts["main"].min() for b, v in counts.items() if b != "main")


def test_a_diverged_model_stays_flagged_along_imp(tmp_path):
    df = run(imp_config(**{"optimizer.lr": 1e38, "imp.levels": 2, "model.widths": (3,)}), str(tmp_path), **QUIET)
    assert df.diverged.all()  # level 0 diverges; its pruned descendants inherit the flag
    from lottery.report import sparse_double_descent
    assert len(sparse_double_descent.best_pruned(df[df.branch == "main"])) == 0


def test_fewer_levels_than_an_earlier_run_leave_deeper_rows_out(tmp_path):
    run(imp_config(**{"imp.levels": 3}), str(tmp_path), **QUIET)
    df = run(imp_config(**{"imp.levels": 1}), str(tmp_path), **QUIET)
    assert sorted(df.level.unique()) == [0, 1]


def test_more_levels_extend_a_finished_run(tmp_path):
    direct = run(imp_config(**{"imp.levels": 3}), str(tmp_path / "direct"), **QUIET)
    run(imp_config(**{"imp.levels": 1}), str(tmp_path / "ext"), **QUIET)
    extended = run(imp_config(**{"imp.levels": 3}), str(tmp_path / "ext"), **QUIET)
    pd.testing.assert_frame_equal(direct, extended, check_exact=True)


def test_corrupted_checkpoint_is_never_loaded(tmp_path):
    ck = BucketCheckpoints(str(tmp_path))
    tree = {"a": np.arange(12, dtype=np.float32).reshape(3, 4), "m": {"k": np.ones(5, bool)}}
    ck.save("level_000", tree)
    got = ck.load("level_000")
    np.testing.assert_array_equal(got["a"], tree["a"])
    # Flip bytes in every data file of the checkpoint.
    for dirpath, _, names in os.walk(tmp_path / "level_000"):
        for name in names:
            p = os.path.join(dirpath, name)
            if os.path.getsize(p) > 0 and "METADATA" not in name:
                data = bytearray(open(p, "rb").read())
                data[len(data) // 2] ^= 0xFF
                open(p, "wb").write(bytes(data))
    assert ck.load("level_000") is None
    ck.save("level_001", tree)
    os.remove(tmp_path / "level_001.sha256")  # killed before the digest: incomplete
    assert ck.load("level_001") is None


def test_a_corrupted_level_is_recomputed_with_the_same_results(tmp_path):
    c = imp_config()
    first = run(c, str(tmp_path), **QUIET)
    ckdir = tmp_path / "checkpoints" / "bucket00-w3-4"
    with open(ckdir / "level_002.sha256", "w") as f:
        f.write('{"sha256": "0"}')
    os.remove(tmp_path / "results.parquet")
    for p in (tmp_path / "parts").glob("*level_00[23]*"):
        p.unlink()
    again = run(c, str(tmp_path), **QUIET)
    pd.testing.assert_frame_equal(first, again, check_exact=True)


def test_second_process_on_a_workdir_is_refused(tmp_path):
    os.makedirs(tmp_path, exist_ok=True)
    with WorkdirLock(str(tmp_path)):
        with pytest.raises(ConfigError, match="in use"):
            run(imp_config(), str(tmp_path), **QUIET)


@pytest.mark.parametrize("override,field", [
    ({"imp.fraction": 0.0}, "imp.fraction"),
    ({"imp.fraction": 1.0}, "imp.fraction"),
    ({"imp.levels": 40, "model.widths": (1,)}, "imp.levels"),
    ({"imp.ignore": ("dense_0", "dense_1")}, "imp.ignore"),
    ({"imp.ignore": ("dense_7",)}, "imp.ignore"),
    ({"imp.rewind": "5ep"}, "imp.rewind"),
    ({"imp.rewind": "soon"}, "imp.rewind"),
    ({"imp.branches": ("lottery",)}, "imp.branches"),
])
def test_bad_imp_settings_are_refused(tmp_path, override, field):
    with pytest.raises(ConfigError) as e:
        run(imp_config(**override), str(tmp_path / "w"), **QUIET)
    assert e.value.field == field
    assert not (tmp_path / "w").exists()


def test_other_settings_in_a_finished_workdir_are_refused_and_nothing_is_overwritten(tmp_path):
    run(imp_config(), str(tmp_path), **QUIET)
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(ConfigError, match="workdir"):
        run(imp_config(**{"imp.fraction": 0.5}), str(tmp_path), **QUIET)
    after = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    assert before == after


KILLER = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {tests!r})
    from helpers import tiny_config
    from lottery.api import run
    from lottery.store import checkpoints
    from lottery.train import trainer
    where, item = sys.argv[2], sys.argv[3]
    if where == "save":  # killed after Orbax wrote the checkpoint, before its digest
        original = checkpoints.BucketCheckpoints.save
        def save(self, name, tree):
            if name == item:
                import orbax.checkpoint as ocp
                c = ocp.StandardCheckpointer(); c.save(os.path.join(self.root, name), tree, force=True)
                c.wait_until_finished()
                os.kill(os.getpid(), signal.SIGKILL)
            original(self, name, tree)
        checkpoints.BucketCheckpoints.save = save
    else:  # killed in the middle of training a level, after its first chunk
        original = trainer.BucketTrainer.train
        state = {{"levels": 0}}
        def train(self, pop, start, stop, progress=None, *observing):
            state["levels"] += 1
            if state["levels"] == int(item):
                self.chunk = max(1, self.chunk // 2) if (stop - start) % max(1, self.chunk // 2) == 0 else self.chunk
                out = original(self, pop, start, start + self.chunk, progress, *observing)
                os.kill(os.getpid(), signal.SIGKILL)
            return original(self, pop, start, stop, progress, *observing)
        trainer.BucketTrainer.train = train
    c = tiny_config(**{{"imp.levels": 3, "imp.fraction": 0.3, "model.widths": (3, 4), "train.epochs": 3,
                        "optimizer.momentum": 0.9}})
    run(c, sys.argv[1], log=lambda s: None)
""")


@pytest.mark.parametrize("where,item", [("save", "level_001"), ("train", "3"), ("save", "rewind")])
def test_killed_run_resumes_to_the_same_table(tmp_path, where, item):
    reference = run(imp_config(), str(tmp_path / "ref"), **QUIET)
    script = tmp_path / "killer.py"
    script.write_text(KILLER.format(tests=os.path.join(ROOT, "tests")))
    wd = tmp_path / "killed"
    r = subprocess.run([sys.executable, str(script), str(wd), where, item], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == -signal.SIGKILL, r.stderr
    assert not (wd / "results.parquet").exists()
    resumed = run(imp_config(), str(wd), **QUIET)
    pd.testing.assert_frame_equal(reference, resumed, check_exact=True)
