"""Sweeps: the manifest and its refusal of another sweep, atomic claims with heartbeats, job processes
draining one manifest (every unit exactly once, a SIGKILLed job's unit taken over and resumed), and
the merged table."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pandas as pd
import pytest

import lottery
from lottery import api, sweeps as sw
from lottery.sweeps import jobs as sweep_jobs
from lottery.core.errors import ConfigError
from lottery.store import manifest, result_tables
from helpers import override, tiny_config
from jobs import GRID, ROOT, TINY, TINY_OVERRIDES, expected_rows, job_env, start  # noqa: F401 (fixture)

OWNER = {"host": socket.gethostname(), "pid": os.getpid(), "job": "test"}
DONE = re.compile(r"^unit (\S+): done, (\d+) rows", re.M)
SCIENCE_KEYS = ["data.noise.fraction"] + result_tables.KEYS


def tiny_grid(**axes):
    config = override(lottery.load_config(os.path.join(ROOT, "experiments", "gmm_linear.py:quick")), TINY_OVERRIDES)
    return sw.Grid(config, axes or {"data.noise.fraction": [0.0, 0.2]})


# ---- the manifest ----------------------------------------------------------------------------------

def test_units_are_grid_points_times_seed_blocks_with_their_own_run_ids(tmp_path):
    base = tiny_config(**{"train.seeds": (0, 1, 2)})
    kind, axes, units = sw.units(sw.Grid(base, {"data.noise.fraction": [0, 0.2], "train.epochs": [1, 2]}), 2)
    assert kind == "grid" and axes == {"data.noise.fraction": [0.0, 0.2], "train.epochs": [1, 2]}
    assert [u.id for u in units] == [f"p00{p}-s{b}" for p in range(4) for b in range(2)]
    for u in units:
        fraction, epochs = [(0.0, 1), (0.0, 2), (0.2, 1), (0.2, 2)][u.point]
        seeds = [(0, 1), (2,)][int(u.id[-1])]
        assert u.values == {"data.noise.fraction": fraction, "train.epochs": epochs} and u.seeds == seeds
        by_hand = tiny_config(**{"train.seeds": seeds, "data.noise.fraction": fraction, "train.epochs": epochs})
        assert u.run_id == api.run_id(by_hand)
    assert len({u.run_id for u in units}) == 8


def test_manifest_is_written_once_and_another_sweep_is_refused(tmp_path):
    d = str(tmp_path / "s")
    grid = sw.Grid(tiny_config(), {"data.noise.fraction": [0.0, 0.2]})
    units = sw.prepare(grid, d, seeds_per_unit=1)
    text = open(os.path.join(d, "manifest.json")).read()
    m = json.loads(text)
    assert [u["id"] for u in m["units"]] == [u.id for u in units] == ["p000-s0", "p000-s1", "p001-s0", "p001-s1"]
    assert all(u["run_id"] == api.run_id(u["config"]) for u in m["units"])
    assert sw.prepare(grid, d, seeds_per_unit=1) == units  # the same sweep: accepted as it is
    other_site = override(tiny_config(), {"data.data_dir": "/elsewhere"})  # where a host reads data may differ
    sw.prepare(sw.Grid(other_site, grid.axes), d, seeds_per_unit=1)
    refusals = [
        (sw.Grid(tiny_config(), {"data.noise.fraction": [0.0, 0.3]}), 1, "data.noise.fraction"),
        (sw.Grid(tiny_config(**{"train.epochs": 5}), grid.axes), 1, "train.epochs"),
        (sw.Grid(tiny_config(), {**grid.axes, "optimizer.lr": [0.1, 0.2]}), 1, "optimizer.lr"),
        (sw.Grid(tiny_config(**{"imp.levels": 3}), grid.axes), 1, "imp.levels"),
        (sw.Grid(tiny_config(**{"train.seeds": (0, 1, 2)}), grid.axes), 1, "train.seeds"),
        (grid, 2, "seeds_per_unit"),
        ([u.config for u in units], 1, "data.noise.fraction"),  # 4 points of one seed: p001 is another point
    ]
    for other, per_unit, field in refusals:
        with pytest.raises(ConfigError) as e:
            sw.prepare(other, d, seeds_per_unit=per_unit)
        assert e.value.field == field and "\n" not in str(e.value) and d in str(e.value), str(e.value)
    assert open(os.path.join(d, "manifest.json")).read() == text
    # A list of configs is a sweep too: its axes are the fields that differ.
    kind, axes, listed = sw.units([tiny_config(), tiny_config(**{"optimizer.lr": 0.05})])
    assert kind == "configs" and axes == {"optimizer.lr": [0.1, 0.05]} and [u.id for u in listed] == ["p000-s0", "p001-s0"]


@pytest.mark.parametrize("axes,per_unit,field", [
    ({"data.noise.fractio": [0.1]}, None, "data.noise.fractio"),
    ({"data.noise": [0.1]}, None, "data.noise"),
    ({"data.noise.fraction": [0.1, 1.5]}, None, "data.noise.fraction"),
    ({"data.noise.fraction": [0.1, 0.1]}, None, "data.noise.fraction"),
    ({"data.noise.fraction": []}, None, "data.noise.fraction"),
    ({"model.widths": [3]}, None, "model.widths"),
    ({"imp.levels": [1, 2]}, None, "imp.levels"),
    ({"report.figures": [True, False]}, None, "report.figures"),
    ({"data.noise.fraction": [0.1]}, -1, "seeds_per_unit"),
])
def test_bad_sweeps_are_refused_before_anything_is_written(tmp_path, axes, per_unit, field):
    d = tmp_path / "s"
    with pytest.raises(ConfigError) as e:
        sw.prepare(sw.Grid(tiny_config(), axes), str(d), per_unit)
    assert e.value.field == field and "\n" not in str(e.value)
    assert not d.exists()


@pytest.mark.parametrize("bad", [(tiny_config(), {"train.epochs": [1]}), {"train.epochs": [1]}, [], "x"])
def test_a_sweep_is_a_grid_or_a_list_of_configs(tmp_path, bad):
    with pytest.raises(ConfigError) as e:
        sw.prepare(bad, str(tmp_path / "s"))
    assert e.value.field == "configs" and not (tmp_path / "s").exists()


def test_runs_and_sweeps_do_not_share_a_workdir(tmp_path):
    sw.prepare(sw.Grid(tiny_config(), {"data.noise.fraction": [0.0]}), str(tmp_path / "s"))
    with pytest.raises(ConfigError, match="holds a sweep") as e:
        lottery.run(tiny_config(), str(tmp_path / "s"))
    assert e.value.field == "workdir"
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "config.json").write_text("{}")
    with pytest.raises(ConfigError, match="holds a run") as e:
        sw.prepare(sw.Grid(tiny_config(), {"data.noise.fraction": [0.0]}), str(tmp_path / "r"))


def test_cli_prepares_and_refuses_another_grid_with_one_line(tmp_path, job_env):
    d = str(tmp_path / "s")
    r = subprocess.run([sys.executable, "-m", "lottery.sweeps", *TINY, *GRID, f"--workdir={d}", "--prepare"],
                       cwd=ROOT, env=job_env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert re.findall(r"^(p\d+-s\d) ", r.stdout, re.M) == ["p000-s0", "p000-s1", "p001-s0", "p001-s1"]
    r = subprocess.run([sys.executable, "-m", "lottery.sweeps", *TINY, "--grid=data.noise.fraction=0.0,0.3",
                        "--seeds_per_unit=1", f"--workdir={d}"], cwd=ROOT, env=job_env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: data.noise.fraction: the sweep in"), r.stderr


# ---- claims ---------------------------------------------------------------------------------------

def test_claim_heartbeat_takeover_release_and_done(tmp_path):
    d = str(tmp_path)
    manifest.create(d, {"axes": {}, "units": []})
    first = manifest.claim(d, "u", 60, OWNER)
    assert first.generation == 0 and manifest.claim(d, "u", 60, OWNER) is None
    assert manifest.state(d, "u", 60)["state"] == "running"
    os.utime(first.path, (time.time() - 120,) * 2)  # its job stopped beating two minutes ago
    assert manifest.state(d, "u", 60)["state"] == "stale"
    second = manifest.claim(d, "u", 60, {**OWNER, "job": "second"})
    assert second.generation == 1 and second.replaced["job"] == "test" and second.replaced["age_s"] > 100
    assert not first.beat()  # the first owner learns it lost the unit
    assert manifest.claim(d, "u", 60, OWNER) is None
    second.release()  # released: claimable at once
    third = manifest.claim(d, "u", 60, OWNER)
    assert third.generation == 2
    with third.held(interval=0.05):  # the heartbeat keeps it claimed past the timeout
        time.sleep(0.8)
        assert manifest.claim(d, "u", 0.3, OWNER) is None
    time.sleep(0.5)  # heartbeat stopped (the job hung or died): stale after the timeout
    fourth = manifest.claim(d, "u", 0.3, OWNER)
    assert fourth.generation == 3
    with pytest.raises(RuntimeError):
        with fourth.held(interval=10):
            raise RuntimeError("the unit failed")
    fifth = manifest.claim(d, "u", 60, OWNER)  # a failed unit's claim is released on the way out
    assert fifth.generation == 4
    manifest.mark_done(d, "u", {"rows": 0})
    assert manifest.is_done(d, "u") and manifest.claim(d, "u", 0, OWNER) is None
    assert not [f for f in os.listdir(os.path.join(d, "claims")) if f.startswith("u.")]


def test_exactly_one_thread_wins_each_claim(tmp_path):
    d = str(tmp_path)
    manifest.create(d, {"axes": {}, "units": []})
    threads, rounds = 16, 20
    wins = {}

    def race(unit, barrier, out):
        barrier.wait()
        out.append(manifest.claim(d, unit, 60, OWNER))

    for r in range(rounds):
        unit = f"u{r}"
        if r % 2:  # every other round races to take over a stale claim instead of a free unit
            stale = manifest.claim(d, unit, 60, OWNER)
            os.utime(stale.path, (0, 0))
        barrier, out = threading.Barrier(threads), []
        pool = [threading.Thread(target=race, args=(unit, barrier, out)) for _ in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        wins[unit] = [c.generation for c in out if c is not None]
    assert wins == {f"u{r}": [r % 2] for r in range(rounds)}


RACER = textwrap.dedent("""
    import json, os, socket, sys, time
    from lottery.store import manifest
    d, go = sys.argv[1], sys.argv[2]
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.001)
    owner = {"host": socket.gethostname(), "pid": os.getpid(), "job": ""}
    print(json.dumps([manifest.claim(d, u, 60, owner) is not None for u in ("free", "stale")]), flush=True)
""")


def test_exactly_one_process_wins_each_claim(tmp_path, job_env):
    d, go = str(tmp_path / "s"), str(tmp_path / "go")
    manifest.create(d, {"axes": {}, "units": []})
    os.utime(manifest.claim(d, "stale", 60, OWNER).path, (0, 0))
    racers = [subprocess.Popen([sys.executable, "-c", RACER, d, go], cwd=ROOT, env=job_env, stdout=subprocess.PIPE,
                               text=True) for _ in range(8)]
    for p in racers:
        assert p.stdout.readline().strip() == "ready"
    open(go, "w").close()
    outcomes = [json.loads(p.communicate(timeout=60)[0]) for p in racers]
    assert sum(o[0] for o in outcomes) == 1 and sum(o[1] for o in outcomes) == 1, outcomes


def test_drain_takes_its_shard_skips_held_units_and_runs_each_once(tmp_path, monkeypatch):
    d = str(tmp_path)
    units = sw.prepare(sw.Grid(tiny_config(), {"optimizer.lr": [0.1, 0.2, 0.3, 0.4, 0.5]}), d)
    ran = []
    monkeypatch.setattr(sweep_jobs, "_run_unit", lambda workdir, unit, claim, *a: (
        ran.append(unit.id), manifest.mark_done(workdir, unit.id, {})))
    held = manifest.claim(d, "p001-s0", 60, {**OWNER, "job": "other"})
    assert sw.drain(d, units, shard=(1, 2), wait=False, log=lambda s: None) == ["p003-s0"]
    assert sw.drain(d, units, shard=(0, 2), wait=False, log=lambda s: None) == ["p000-s0", "p002-s0", "p004-s0"]
    assert sw.drain(d, units, wait=False, log=lambda s: None) == []  # p001 is held by a live job
    held.release()
    assert sw.drain(d, units, wait=True, log=lambda s: None) == ["p001-s0"]
    assert ran == ["p003-s0", "p000-s0", "p002-s0", "p004-s0", "p001-s0"]


# ---- job processes -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def drained(tmp_path_factory, job_env):
    """Two job processes started together by launch/local.sh on one sweep (2 noise fractions × 2 seed
    blocks = 4 units), as the launcher README runs it."""
    d = tmp_path_factory.mktemp("sweep") / "s"
    logs = d.parent / "logs"
    r = subprocess.run(["launch/local.sh", "-n", "2", f"--logs={logs}", "--", sys.executable, "-m", "lottery.sweeps",
                        *TINY, *GRID, f"--workdir={d}"], cwd=ROOT, env=job_env, capture_output=True, text=True,
                       timeout=600)
    job_logs = [(logs / f"job-{i}.log").read_text() for i in range(2)]
    assert r.returncode == 0, r.stdout + r.stderr + "".join(job_logs)
    pids = [int(p) for p in re.findall(r"^process \d: pid (\d+)", r.stdout, re.M)]
    assert len(pids) == 2 and r.stdout.count(": done") == 2, r.stdout
    return {"dir": str(d), "logs": job_logs, "pids": pids}


def check_table(d: str) -> pd.DataFrame:
    """The merged table against the manifest: each done unit's rows once, counted from its config."""
    m = manifest.read(d)
    df = lottery.results.load(d)
    assert list(df.columns[:3]) == ["unit", "point", "data.noise.fraction"]
    assert not df.duplicated(["unit"] + result_tables.KEYS).any() and not df.duplicated(SCIENCE_KEYS).any()
    for u in m["units"]:
        rows = df[df.unit == u["id"]]
        assert len(rows) == expected_rows(u["config"]) > 0
        assert (rows["data.noise.fraction"] == u["values"]["data.noise.fraction"]).all()
        assert np.allclose(rows.noise_fraction, u["values"]["data.noise.fraction"])  # written by the run itself
        assert sorted(rows.seed.unique()) == u["seeds"] and (rows.run_id == u["run_id"]).all()
        own = pd.read_parquet(os.path.join(manifest.unit_dir(d, u["id"]), "results.parquet"))
        pd.testing.assert_frame_equal(rows.drop(columns=["unit", "point", "data.noise.fraction"]).reset_index(drop=True), own)
    return df


def test_two_jobs_drain_the_manifest_each_unit_exactly_once(drained):
    d = drained["dir"]
    ids = [u["id"] for u in manifest.read(d)["units"]]
    per_job = [dict(DONE.findall(log)) for log in drained["logs"]]
    assert sorted([*per_job[0], *per_job[1]]) == ids  # every unit done, none twice
    for pid, done in zip(drained["pids"], per_job):
        for uid in done:
            assert json.loads(open(os.path.join(d, "done", uid)).read())["pid"] == pid
    assert not [f for f in os.listdir(os.path.join(d, "claims")) if not f.startswith(".")]
    df = check_table(d)
    assert len(df) == 4 * 2 * 4  # units × levels × splits, one width and seed per unit
    pd.testing.assert_frame_equal(df, pd.read_parquet(os.path.join(d, "results.parquet")))
    # lottery.sweep from Python with the same grid is the same sweep: it returns the table, running nothing.
    again = lottery.sweep(tiny_grid(), d, seeds_per_unit=1, wait=False, log=lambda s: pytest.fail(s))
    pd.testing.assert_frame_equal(again, df)
    assert len(lottery.results.load_curves(d)) > 0


KILLER = textwrap.dedent("""
    import os, runpy, signal, sys
    from lottery.store import checkpoints
    save = checkpoints.BucketCheckpoints.save
    def save_then_die(self, name, tree):
        save(self, name, tree)
        if name == "level_000":
            os.kill(os.getpid(), signal.SIGKILL)
    checkpoints.BucketCheckpoints.save = save_then_die
    sys.argv = ["lottery.sweeps", *sys.argv[1:]]
    runpy.run_module("lottery.sweeps", run_name="__main__", alter_sys=True)
""")


def test_a_killed_jobs_unit_is_taken_over_after_the_timeout_and_resumed(tmp_path, job_env, drained):
    d = str(tmp_path / "s")
    killer = tmp_path / "killer.py"
    killer.write_text(KILLER)
    job = start([str(killer), *TINY, *GRID, f"--workdir={d}"], job_env, tmp_path / "killed.log")
    assert job.wait(timeout=300) == -signal.SIGKILL, (tmp_path / "killed.log").read_text()
    # Killed inside its first unit, just after checkpointing level 0: the claim stays, fresh for now.
    assert not manifest.is_done(d, "p000-s0")
    assert os.path.exists(os.path.join(manifest.unit_dir(d, "p000-s0"), "checkpoints"))
    state = manifest.state(d, "p000-s0", 60)
    assert state["state"] == "running" and state["pid"] == job.pid
    assert manifest.claim(d, "p000-s0", 60, OWNER) is None
    lines = []
    sw.status(d, 60, lines.append)
    assert lines[-1] == "3 free, 1 running of 4 units"
    # A job with a 2-second timeout runs the other units, then takes the dead job's unit over.
    r = subprocess.run([sys.executable, "-m", "lottery.sweeps", *TINY, *GRID, f"--workdir={d}", "--claim_timeout=2"],
                       cwd=ROOT, env=job_env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(rf"unit p000-s0 .*: claimed; took over from {re.escape(socket.gethostname())}:{job.pid} ", r.stdout)
    assert re.search(r"\[p000-s0\] .*level_000: restored from its checkpoint", r.stdout), r.stdout
    assert sorted(dict(DONE.findall(r.stdout))) == ["p000-s0", "p000-s1", "p001-s0", "p001-s1"]
    # Complete, no row twice, and equal to the uninterrupted sweep of the same grid.
    pd.testing.assert_frame_equal(check_table(d), lottery.results.load(drained["dir"]), check_exact=True)


def test_sigterm_releases_the_claim_for_the_next_job_at_once(tmp_path, job_env):
    d = tmp_path / "s"
    job = start(["-m", "lottery.sweeps", *TINY, *GRID, f"--workdir={d}"], job_env, tmp_path / "job.log")
    claim = d / "claims" / "p000-s0.0"
    deadline = time.time() + 120
    while not claim.exists() and job.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    job.send_signal(signal.SIGTERM)
    assert job.wait(timeout=120) == 143, (tmp_path / "job.log").read_text()
    state = manifest.state(str(d), "p000-s0", 300)
    assert state["state"] == "stale" and state["released"] and state["pid"] == job.pid
    lines = []
    sw.status(str(d), 300, lines.append)
    assert "released by its job" in lines[0]
    assert manifest.claim(str(d), "p000-s0", 300, OWNER).generation == 1  # no timeout to wait for


def test_seed_blocks_train_the_models_of_the_whole_population(tmp_path, job_env, drained):
    """One grid point run whole (both seeds in one population) by lottery.main gives its seed-block units' rows."""
    r = subprocess.run([sys.executable, "-m", "lottery.main", *TINY, "--config.data.noise.fraction=0.2",
                        f"--workdir={tmp_path / 'whole'}"], cwd=ROOT, env=job_env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    whole = lottery.results.load(str(tmp_path / "whole")).sort_values(result_tables.KEYS).reset_index(drop=True)
    swept = lottery.results.load(drained["dir"])
    blocks = swept[swept["data.noise.fraction"] == 0.2].sort_values(result_tables.KEYS).reset_index(drop=True)
    assert len(whole) == len(blocks) == 2 * 2 * 4
    for column in whole.columns:
        if column == "run_id":
            continue
        a, b = whole[column], blocks[column]
        if a.dtype.kind == "f":
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=column)
        else:
            assert (a == b).all(), column
