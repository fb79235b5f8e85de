"""The launchers in launch/: they parse (bash -n, shellcheck where installed), print in dry-run mode the
commands launch/README.md documents, and local.sh really runs N processes (the sweep test runs a sweep
through it)."""
import os
import re
import shlex
import shutil
import subprocess

import pytest

from jobs import ROOT

SCRIPTS = ["launch/local.sh", "launch/slurm.sbatch", "launch/tpu_vm.sh", "launch/common.sh"]
SWEEP = ["python", "-m", "lottery.sweeps", "--config=experiments/gmm_linear.py:quick",
         "--grid=data.noise.fraction=0.0,0.2", "--workdir=runs/sweep"]


def bash(*args, **env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "DRY_RUN", "KILL_ON", "LOTTERY_"))}
    return subprocess.run(["bash", *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("script", SCRIPTS)
def test_scripts_parse(script):
    r = bash("-n", script)
    assert r.returncode == 0 and not r.stderr, r.stderr
    assert os.access(os.path.join(ROOT, script), os.X_OK) or script.endswith("common.sh")  # sourced, not run


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed (apt-get install shellcheck)")
@pytest.mark.parametrize("script", SCRIPTS)
def test_scripts_pass_shellcheck(script):
    r = subprocess.run(["shellcheck", "--external-sources", "--shell=bash", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout


def test_local_dry_run_prints_each_process_command():
    r = bash("launch/local.sh", "-n", "2", "--dry-run", "--", *SWEEP)
    assert r.returncode == 0, r.stderr
    command = " ".join(SWEEP)
    assert r.stdout.splitlines() == [
        "mkdir -p logs/local",
        f"env LOTTERY_JOB=0 {command} > logs/local/job-0.log 2>&1 &",
        f"env LOTTERY_JOB=1 {command} > logs/local/job-1.log 2>&1 &",
        "wait",
    ]
    assert bash("launch/local.sh", "-n", "2", "--", *SWEEP, DRY_RUN="1").stdout == r.stdout
    r = bash("launch/local.sh", "-n", "2", "--distributed", "--port=23456", "--dry-run", "--", "python", "-c", "print('a b')")
    line = r.stdout.splitlines()[2]
    assert line.startswith("env LOTTERY_JOB=1 JAX_COORDINATOR_ADDRESS=127.0.0.1:23456 JAX_NUM_PROCESSES=2 JAX_PROCESS_ID=1 ")
    assert shlex.split(line)[5:8] == ["python", "-c", "print('a b')"]  # quoted as a shell reads it back


def test_local_runs_n_processes_with_their_environment_and_returns_the_first_failure(tmp_path):
    report = 'echo "$LOTTERY_JOB $JAX_PROCESS_ID $JAX_NUM_PROCESSES $JAX_COORDINATOR_ADDRESS"; exit $((LOTTERY_JOB == 1 ? 7 : 0))'
    r = bash("launch/local.sh", "-n", "3", "--distributed", "--port=23457", f"--logs={tmp_path}", "--", "bash", "-c", report)
    assert r.returncode == 7, r.stdout + r.stderr
    for i in range(3):
        assert (tmp_path / f"job-{i}.log").read_text() == f"{i} {i} 3 127.0.0.1:23457\n"
    assert "process 1: exit status 7" in r.stdout and "process 0: done" in r.stdout


@pytest.mark.parametrize("args,needle", [(["-n", "0", "--", "true"], "-n must be"), (["-n", "2"], "no command"),
                                         (["--bogus", "--", "true"], "unknown option")])
def test_local_refuses_bad_options(args, needle):
    r = bash("launch/local.sh", *args)
    assert r.returncode == 2 and needle in r.stderr


def test_slurm_dry_run_prints_the_srun_line():
    sweep = ["python", "-m", "lottery.sweeps", "--config=experiments/gmm_linear.py",
             "--grid=data.noise.fraction=0.0,0.1,0.2", "--workdir=/shared/runs/noise"]  # launch/README.md's
    r = bash("launch/slurm.sbatch", *sweep, DRY_RUN="1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["srun --kill-on-bad-exit=1 --ntasks-per-node=1 " + " ".join(sweep)]
    # Inside `KILL_ON_BAD_EXIT=0 sbatch --nodes=4 --gpus-per-task=8 launch/slurm.sbatch …`: the layout it was given.
    r = bash("launch/slurm.sbatch", *sweep, DRY_RUN="1", KILL_ON_BAD_EXIT="0", SLURM_NTASKS_PER_NODE="1",
             SLURM_GPUS_PER_TASK="8", SLURM_CPUS_PER_TASK="8")
    assert r.stdout.splitlines() == [
        "srun --kill-on-bad-exit=0 --ntasks-per-node=1 --gpus-per-task=8 --cpus-per-task=8 " + " ".join(sweep)]
    r = bash("launch/slurm.sbatch", *sweep, DRY_RUN="1", LOTTERY_SETUP="/opt/venv/bin/activate")
    assert r.stdout.splitlines()[0] == "source /opt/venv/bin/activate"
    header = open(os.path.join(ROOT, "launch/slurm.sbatch")).read()
    for directive in ("--ntasks-per-node=1", "--gpus-per-task=1", "--nodes=2"):
        assert f"#SBATCH {directive}\n" in header
    assert bash("launch/slurm.sbatch").returncode == 2


def test_tpu_vm_dry_run_prints_the_gcloud_commands():
    sweep = ["python", "-m", "lottery.sweeps", "--config=experiments/gmm_linear.py",
             "--grid=data.noise.fraction=0.0,0.1,0.2", "--workdir=/mnt/shared/noise"]  # launch/README.md's
    r = bash("launch/tpu_vm.sh", "--name=lt", "--zone=us-central2-b", "--type=v4-8", "--setup", "--dry-run", "--", *sweep)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    where = "--zone=us-central2-b"
    assert lines[0] == (f"gcloud compute tpus tpu-vm describe lt {where} > /dev/null 2>&1 || "
                        f"gcloud compute tpus tpu-vm create lt {where} --accelerator-type=v4-8 --version=tpu-ubuntu2204-base")
    archive = re.fullmatch(r"git ls-files -z \| tar --null -czf (\S+) -T -", lines[1]).group(1)
    assert lines[2] == f"gcloud compute tpus tpu-vm scp {archive} lt:lottery-src.tgz {where} --worker=all"
    setup, run = (shlex.split(line) for line in lines[3:5])
    assert setup[:8] == ["gcloud", "compute", "tpus", "tpu-vm", "ssh", "lt", where, "--worker=all"]
    assert "pip install" in setup[8] and "-e ~/lottery" in setup[8] and "--python 3.11" in setup[8]
    assert run[:8] == setup[:8] and run[8].startswith("--command=") and run[8].endswith("; " + " ".join(sweep))
    assert "agent-worker-number" in run[8] and "export LOTTERY_WORKER=" in run[8]
    assert len(lines) == 5
    r = bash("launch/tpu_vm.sh", "--name=lt", "--zone=z", "--project=p", "--spot", "--dry-run", "--", "true")
    assert r.stdout.splitlines()[0].endswith("create lt --zone=z --project=p --accelerator-type=v4-8 "
                                             "--version=tpu-ubuntu2204-base --spot")
    # One command argument is sent as written, so it may use the worker's index; --detach keeps it after ssh.
    r = bash("launch/tpu_vm.sh", "--name=lt", "--zone=z", "--detach", "--", "python -m lottery.sweeps --shard=$LOTTERY_WORKER/$LOTTERY_WORKERS",
             DRY_RUN="1")
    remote = shlex.split(r.stdout.splitlines()[-1])[-1]
    assert remote.endswith("nohup bash -c 'python -m lottery.sweeps --shard=$LOTTERY_WORKER/$LOTTERY_WORKERS' "
                           "> ~/lottery.log 2>&1 < /dev/null &")
    r = bash("-n", "-c", r.stdout)  # what it prints is shell
    assert r.returncode == 0
    assert bash("launch/tpu_vm.sh", "--zone=z", "--dry-run", "--", "true").returncode == 2
