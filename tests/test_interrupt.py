"""Ctrl-C and SIGTERM end a run with one line and the shell's status (130 / 143); the same command resumes it
to the table of an uninterrupted run."""
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARGS = ["--config=experiments/gmm_linear.py:quick", "--config.model.widths=(2,4)", "--config.train.seeds=(0,)",
        "--config.imp.levels=3", "--config.eval.fresh_samples=0", "--config.report.figures=False"]


def start(workdir):
    return subprocess.Popen([sys.executable, "-m", "lottery.main", *ARGS, f"--workdir={workdir}"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_a_part(workdir, proc, timeout=300):
    parts = os.path.join(workdir, "parts")
    t0 = time.time()
    while time.time() - t0 < timeout and proc.poll() is None:
        if os.path.isdir(parts) and any(n.endswith(".parquet") for n in os.listdir(parts)):
            return True
        time.sleep(0.2)
    return False


@pytest.mark.parametrize("sig,status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_run_says_so_in_one_line_and_resumes(tmp_path, sig, status):
    wd = tmp_path / "w"
    proc = start(wd)
    if not wait_for_a_part(str(wd), proc):
        proc.kill()
        pytest.skip("the run finished before it could be interrupted")
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the run finished before the signal arrived")
    lines = [line for line in err.strip().splitlines() if line.strip() and not line.startswith("\r")]
    assert proc.returncode == status, err
    assert lines[-1] == "interrupted — run the same command to resume", err
    assert "Traceback" not in err
    resumed = subprocess.run([sys.executable, "-m", "lottery.main", *ARGS, f"--workdir={wd}"], cwd=ROOT,
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    whole = subprocess.run([sys.executable, "-m", "lottery.main", *ARGS, f"--workdir={tmp_path / 'whole'}"], cwd=ROOT,
                           capture_output=True, text=True, timeout=600)
    assert whole.returncode == 0, whole.stderr
    a, b = pd.read_parquet(wd / "results.parquet"), pd.read_parquet(tmp_path / "whole" / "results.parquet")
    pd.testing.assert_frame_equal(a, b)
