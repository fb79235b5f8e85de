"""Job processes for the sweep and launcher tests: the tiny sweep's command line and their environment."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The README's quick Gaussian-mixture study cut down to seconds: one width, two seeds, one pruning level.
TINY = ["--config=experiments/gmm_linear.py:quick", "--config.train.epochs=2", "--config.model.widths=(2,)",
        "--config.train.seeds=(0,1)", "--config.imp.levels=1", "--config.eval.fresh_samples=0",
        "--config.data.train_size=200", "--config.data.test_size=200", "--config.report.figures=False"]
TINY_OVERRIDES = {"train.epochs": 2, "model.widths": (2,), "train.seeds": (0, 1), "imp.levels": 1,
                  "eval.fresh_samples": 0, "data.train_size": 200, "data.test_size": 200, "report.figures": False}
GRID = ["--grid=data.noise.fraction=0.0,0.2", "--seeds_per_unit=1"]


@pytest.fixture(scope="session")
def job_env(tmp_path_factory):
    """Environment of job subprocesses: this checkout first on the path, CPU, and one XLA compilation
    cache for the whole session (the units of every test share their programs)."""
    env = dict(os.environ)
    env.update(PYTHONPATH=os.pathsep.join([ROOT] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]),
               JAX_PLATFORMS="cpu", XLA_FLAGS="--xla_force_host_platform_device_count=1",
               JAX_COMPILATION_CACHE_DIR=str(tmp_path_factory.mktemp("xla_cache")),
               JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0")
    return env


def start(args, env, log, **extra_env):
    """Starts ``python ARGS`` in the checkout with stdout and stderr to the file ``log``."""
    with open(log, "w") as out:
        return subprocess.Popen([sys.executable, *args], cwd=ROOT, env={**env, **extra_env}, stdout=out,
                                stderr=subprocess.STDOUT)


def expected_rows(config: dict) -> int:
    """Rows of one run: widths × seeds × noise draws × (levels + 1) × 4 splits."""
    return (len(config["model"]["widths"]) * len(config["train"]["seeds"]) * len(config["data"]["noise"]["seeds"])
            * (config["imp"]["levels"] + 1) * 4)
