"""One run over two processes (``jax.distributed`` on 127.0.0.1, gloo CPU collectives, 4 virtual devices each),
started as README / launch/README.md say (``launch/local.sh --distributed``): its table equals the
single-process run's; padding members (6 models over 8 devices) never reach it; a host that died mid-save
(a checkpoint without its digest, the level's part never written) resumes with no row lost or doubled;
its checkpoints are refused, in one line, on another device count; bad JAX_* variables are one-line errors."""
import os
import socket
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from lottery import api, configs
from lottery.core.errors import ConfigError
from helpers import override

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = "experiments/gmm_linear.py:quick"
OVERRIDES = {"data.train_size": 64, "data.test_size": 32, "eval.fresh_samples": 500, "model.widths": (2, 3),
             "train.seeds": (0, 1, 2), "train.epochs": 4, "train.batch_size": 16, "train.pack": False,
             "imp.levels": 1, "imp.branches": ("reinit",), "report.figures": False}  # one bucket of 6 models: 8 devices
KEYS = ["width", "seed", "level", "branch", "split"]


def flag(value) -> str:
    return "(" + ",".join(f"'{v}'" if isinstance(v, str) else str(v) for v in value) + ",)" if isinstance(value, tuple) \
        else str(value)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env(**extra):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("JAX_", "SLURM_", "TPU_", "LOTTERY_"))}
    return {**clean, "PYTHONPATH": ROOT, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
            **extra}


def distributed_run(workdir, logs, overrides=OVERRIDES):
    command = [sys.executable, "-m", "lottery.main", f"--config={CONFIG}", f"--workdir={workdir}",
               *[f"--config.{k}={flag(v)}" for k, v in overrides.items()]]
    r = subprocess.run(["bash", "launch/local.sh", "-n", "2", "--distributed", f"--port={free_port()}", f"--logs={logs}",
                        "--", *command], cwd=ROOT, env=env(), capture_output=True, text=True, timeout=300)
    out = "".join((logs / f"job-{i}.log").read_text()[-3000:] for i in range(2) if (logs / f"job-{i}.log").exists())
    assert r.returncode == 0, r.stdout + out
    return (logs / "job-0.log").read_text(), (logs / "job-1.log").read_text()


def config(**extra):
    return override(configs.load(os.path.join(ROOT, CONFIG)), {**OVERRIDES, **extra})


@pytest.mark.slow  # 150 s measured on 2 busy cores (two 2-process runs and one single-process run, each compiling)
def test_two_processes_give_the_single_process_table(tmp_path):
    work = tmp_path / "two"
    log0, log1 = distributed_run(work, tmp_path / "logs")
    assert "results:" in log0 and "results:" not in log1  # process 0 logs and writes
    one = api.run(config(), str(tmp_path / "one"), log=lambda s: None)
    two = pd.read_parquet(work / "results.parquet")
    assert len(two) == len(one) == 2 * 3 * 4 * (1 + 2)  # widths × seeds × splits × (level 0 + level 1 main + reinit)
    assert not two.duplicated(KEYS).any()

    def same(a, b):
        a, b = a.sort_values(KEYS).reset_index(drop=True), b.sort_values(KEYS).reset_index(drop=True)
        pd.testing.assert_frame_equal(a[KEYS + ["weights_remaining", "diverged"]], b[KEYS + ["weights_remaining", "diverged"]])
        np.testing.assert_array_equal(a.error, b.error)
        for column in ("loss", "ece", "posterior_gap_mean", "fresh_posterior_gap_mean"):
            np.testing.assert_allclose(a[column], b[column], rtol=1e-5, atol=1e-7)

    same(one, two)
    # A host died mid-save of level 1: Orbax had committed, the digest and the level's parts were never
    # written. The same command resumes: level 1 is recomputed, its reinit branch restored with its part
    # rewritten, nothing lost or doubled.
    bucket = next((work / "checkpoints").iterdir())
    (bucket / "level_001.sha256").unlink()
    for part in (work / "parts").glob(f"{bucket.name}-level_001*"):
        part.unlink()
    (work / "results.parquet").unlink()
    log0, _ = distributed_run(work, tmp_path / "logs2")
    assert f"{bucket.name} level_001: 6 models" in log0
    assert f"{bucket.name} level_000: restored" in log0 and f"{bucket.name} level_001_reinit: restored" in log0
    resumed = pd.read_parquet(work / "results.parquet")
    assert len(resumed) == len(one) and not resumed.duplicated(KEYS).any()
    same(one, resumed)
    # written on 8 devices (6 models padded to 8): refused on this process's one device, in one line
    with pytest.raises(ConfigError, match="holds 8 models, this run 6: it was written on another number of devices") as e:
        api.run(config(**{"imp.levels": 2}), str(work), log=lambda s: None)
    assert e.value.field == "workdir" and "\n" not in str(e.value)


@pytest.mark.parametrize("variables,needle", [
    ({"JAX_NUM_PROCESSES": "2", "JAX_PROCESS_ID": "0"}, "JAX_COORDINATOR_ADDRESS not set"),
    ({"JAX_COORDINATOR_ADDRESS": "127.0.0.1", "JAX_NUM_PROCESSES": "2", "JAX_PROCESS_ID": "0"}, "must be HOST:PORT"),
    ({"JAX_COORDINATOR_ADDRESS": "127.0.0.1:1234", "JAX_NUM_PROCESSES": "2", "JAX_PROCESS_ID": "2"}, "in [0, 2)"),
    ({"JAX_COORDINATOR_ADDRESS": "127.0.0.1:1234", "JAX_NUM_PROCESSES": "two", "JAX_PROCESS_ID": "0"}, "positive integer"),
])
def test_bad_distributed_variables_are_one_line_errors(tmp_path, variables, needle):
    r = subprocess.run([sys.executable, "-m", "lottery.main", f"--config={CONFIG}", f"--workdir={tmp_path}"], cwd=ROOT,
                       env=env(**variables), capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.startswith("error: distributed: ") and needle in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not os.listdir(tmp_path)


def test_an_absent_coordinator_is_a_one_line_error(tmp_path):
    """Process 1 of 2 waits for a coordinator that never comes (LOTTERY_INIT_TIMEOUT bounds the wait)."""
    variables = {"JAX_COORDINATOR_ADDRESS": f"127.0.0.1:{free_port()}", "JAX_NUM_PROCESSES": "2", "JAX_PROCESS_ID": "1",
                 "LOTTERY_INIT_TIMEOUT": "3"}
    r = subprocess.run([sys.executable, "-m", "lottery.main", f"--config={CONFIG}", f"--workdir={tmp_path}"], cwd=ROOT,
                       env=env(**variables), capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.startswith("error: distributed: no coordinator at 127.0.0.1:"), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not os.listdir(tmp_path)
    with socket.socket() as taken:  # process 0 cannot serve on a port something else listens on
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        variables.update(JAX_COORDINATOR_ADDRESS=f"127.0.0.1:{taken.getsockname()[1]}", JAX_PROCESS_ID="0")
        r = subprocess.run([sys.executable, "-m", "lottery.main", f"--config={CONFIG}", f"--workdir={tmp_path}"], cwd=ROOT,
                           env=env(**variables), capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "process 0 cannot serve the coordinator on port" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not os.listdir(tmp_path)
