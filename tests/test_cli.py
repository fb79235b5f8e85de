"""The command line and lottery.run end to end; bad input gives one line, exit 2, nothing written."""
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import lottery
from lottery.api import run
from lottery.core.errors import ConfigError
from helpers import tiny_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "lottery.main", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def test_quick_run_end_to_end_writes_table_and_figure(tmp_path):
    wd = tmp_path / "gmm"
    r = cli("--config=experiments/gmm_linear.py:quick", f"--workdir={wd}", "--config.train.epochs=4",
            "--config.model.widths=(1,5,40)", "--config.train.seeds=(0,1)", "--config.imp.levels=2")
    assert r.returncode == 0, r.stderr
    assert "test err" in r.stdout and "params" in r.stdout and "effective params" in r.stdout
    assert (wd / "double_descent.png").stat().st_size > 1000
    assert (wd / "sparse_double_descent.png").stat().st_size > 1000
    df = lottery.results.load(str(wd))
    assert len(df) == 3 * 2 * 3 * 4  # widths × seeds × levels × splits
    assert sorted(df.width.unique()) == [1, 5, 40]
    assert set(df.split) == {"train_noisy", "train_clean", "test", "test_noisy"}
    # D = 100 inputs, 2 outputs, no biases: weights = 102·P; OpenLTH rule: N ← N − ⌈0.2N⌉ − 1.
    assert (df.weights_total == 102 * df.width).all()
    for width, g in df[df.split == "test"].groupby("width"):
        n = 102 * width
        for level in range(3):
            assert (g[g.level == level].weights_remaining == n).all()
            n = n - int(np.ceil(round(0.2 * n, 6))) - 1
    assert df.run_id.nunique() == 1 and not df.diverged.any()
    assert np.isclose(df.noise_fraction, 0.2).all() and (df.noise_mode == "permute").all()


def test_run_is_reproducible_and_resumes_from_finished_buckets(tmp_path):
    c = tiny_config()
    a = run(c, str(tmp_path / "a"), log=lambda s: None)
    b = run(c, str(tmp_path / "b"), log=lambda s: None)
    pd.testing.assert_frame_equal(a, b)
    # A second call on a finished workdir trains nothing and returns the same table.
    logs = []
    again = run(c, str(tmp_path / "a"), log=logs.append)
    pd.testing.assert_frame_equal(a, again)
    assert any("restored" in line for line in logs) and not any("models," in line for line in logs)
    # Other settings in the same workdir are refused.
    with pytest.raises(ConfigError, match="workdir"):
        run(tiny_config(**{"train.epochs": 5}), str(tmp_path / "a"), log=lambda s: None)


def test_noise_draws_and_seeds_form_the_population(tmp_path):
    c = tiny_config(**{"data.noise.seeds": (0, 1), "model.widths": (3,)})
    df = run(c, str(tmp_path), log=lambda s: None)
    assert len(df) == 2 * 2 * 4
    assert sorted(df.noise_seed.unique()) == [0, 1]
    assert (df.flip_rate > 0).all()


BAD = [
    ({"data.name": "imagenet"}, "data.name"),
    ({"data.label_kind": "coarse"}, "data.label_kind"),
    ({"model.name": "resnet"}, "model.name"),
    ({"optimizer.name": "lion"}, "optimizer.name"),
    ({"model.widths": (3, 0)}, "model.widths"),
    ({"model.widths": (-2,)}, "model.widths"),
    ({"data.noise.fraction": 1.0}, "data.noise.fraction"),
    ({"data.noise.fraction": -0.1}, "data.noise.fraction"),
    ({"data.noise.mode": "flip"}, "data.noise.mode"),
    ({"data.nu": -1.0}, "data.nu"),
    ({"train.batch_size": 1000}, "train.batch_size"),
    ({"train.epochs": 0}, "train.epochs"),
    ({"optimizer.schedule": "poly"}, "optimizer.schedule"),
    ({"optimizer.lr": float("nan")}, "optimizer.lr"),
    ({"optimizer.lr": float("inf")}, "optimizer.lr"),
    ({"data.nu": float("inf")}, "data.nu"),
    ({"optimizer.gamma": 0.0}, "optimizer.gamma"),
    ({"optimizer.b1": 1.0}, "optimizer.b1"),
    ({"train.seeds": (0, 0)}, "train.seeds"),
    ({"data.noise.seeds": (1, 1)}, "data.noise.seeds"),
]


@pytest.mark.parametrize("override,field", BAD)
def test_bad_config_is_refused_before_anything_is_written(tmp_path, override, field):
    wd = tmp_path / "w"
    with pytest.raises(ConfigError) as e:
        run(tiny_config(**override), str(wd), log=lambda s: None)
    assert e.value.field == field
    assert not wd.exists()


def test_missing_data_is_refused(tmp_path):
    wd = tmp_path / "w"
    with pytest.raises(ConfigError) as e:
        run(tiny_config(**{"data.name": "mnist", "model.name": "mnist_fcn2"}), str(wd), log=lambda s: None)
    assert e.value.field == "data.data_dir" and "data.data_dir" in str(e.value)
    assert not wd.exists()


def test_relative_workdir(tmp_path, monkeypatch):
    """The README's commands use a relative workdir (Orbax itself only takes absolute paths)."""
    monkeypatch.chdir(tmp_path)
    df = run(tiny_config(**{"imp.levels": 1, "model.widths": (3,)}), "runs/rel", log=lambda s: None)
    assert (tmp_path / "runs" / "rel" / "results.parquet").exists() and len(df) == 2 * 2 * 4


def test_workdir_the_system_refuses_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="workdir"):
        run(tiny_config(), "/proc/lottery-test-workdir", log=lambda s: None)


@pytest.mark.slow
def test_readme_first_command_in_a_fresh_directory(tmp_path):
    """The README's main job as written (relative workdir), then killed and resumed to the same table."""
    import shutil
    import signal
    import time

    config = os.path.join(ROOT, "experiments", "gmm_linear.py:quick")
    args = [sys.executable, "-m", "lottery.main", f"--config={config}", "--workdir=runs/gmm"]
    p = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(40)
    p.send_signal(signal.SIGKILL)
    p.wait()
    r = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    assert "effective params" in r.stdout
    resumed = lottery.results.load(str(tmp_path / "runs" / "gmm"))
    shutil.rmtree(tmp_path / "runs")
    r = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    pd.testing.assert_frame_equal(resumed, lottery.results.load(str(tmp_path / "runs" / "gmm")), check_exact=True)
    for name in ("results.parquet", "calibration.parquet", "double_descent.png", "sparse_double_descent.png"):
        assert (tmp_path / "runs" / "gmm" / name).exists()


def test_unwritable_workdir_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="workdir"):
        run(tiny_config(), str(tmp_path / "file" / "sub"), log=lambda s: None)


@pytest.mark.parametrize("args,needle", [
    (["--config=experiments/gmm_linear.py:quick", "--config.data.noise.fraction=1.5"], "data.noise.fraction"),
    (["--config=experiments/gmm_linear.py:quick", "--config.model.name=nope"], "model.name"),
    (["--config=experiments/gmm_linear.py:nope"], "config"),
    (["--config=experiments/missing.py"], "config"),
    (["--config=experiments/gmm_linear.py:quick"], "workdir"),
    # a field overridden twice is refused: ml_collections would run widths (2, 8, 35) / seeds (0, 1)
    (["--config=experiments/gmm_linear.py:quick", "--config.model.widths=(2,8)", "--config.model.widths=(35,)"],
     "--config.model.widths given more than once"),
    (["--config=experiments/gmm_linear.py:quick", "--config.train.seeds=(0,)", "--config.train.seeds", "(1,)"],
     "--config.train.seeds given more than once"),
    (["--config=experiments/gmm_linear.py:quick", "--config.train.epochs=2", "--config.train.epochs=3"],
     "--config.train.epochs given more than once"),
    # absl reads one dash as two: the same repetition, and refused the same way
    (["--config=experiments/gmm_linear.py:quick", "--config.model.widths=(2,8)", "-config.model.widths=(35,)"],
     "--config.model.widths given more than once"),
    (["--config=experiments/gmm_linear.py:quick", "--config.train.epochs=2", "-config.train.epochs=5"],
     "--config.train.epochs given more than once"),
    (["--config=experiments/gmm_linear.py:quick", "--config.train.epoch=5"], 'Did you mean "epochs"'),
    (["--config=experiments/gmm_linear.py:quick", "--config.trian.epochs=5"], 'Did you mean "train"'),
    (["--config=experiments/gmm_linear.py:quick", "--config.train.epochs=five"], "--config.train.epochs=five"),
    (["--config=experiments/gmm_linear.py:quick", "--config.model.widths=(0,3)"], "model.widths"),
    (["--config=experiments/gmm_linear.py:quick", "--config.train.batch_size=100000"], "train.batch_size"),
    (["--config=experiments/gmm_linear.py:quick", "--config.data.name=mnist", "--config.model.name=mnist_fcn2",
      "--config.data.data_dir=/nonexistent/mnist"], "data.data_dir"),
])
def test_cli_bad_input_exits_2_with_one_line(tmp_path, args, needle):
    wd = tmp_path / "w"
    extra = [] if needle == "workdir" else [f"--workdir={wd}"]
    r = cli(*args, *extra)
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = [line for line in r.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], r.stderr
    assert not wd.exists()


def test_cli_config_file_missing_a_section_exits_2_with_one_line(tmp_path):
    path = tmp_path / "no_optimizer.py"
    path.write_text("from lottery import studies\n\n\ndef get_config():\n"
                    "    c = studies.defaults('imp')\n"
                    "    del c.optimizer\n    return c\n")
    wd = tmp_path / "w"
    r = cli(f"--config={path}", f"--workdir={wd}")
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = [line for line in r.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: optimizer") and "missing" in lines[0], r.stderr
    assert not wd.exists()


def test_cli_unwritable_workdir_exits_2_with_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    r = cli("--config=experiments/gmm_linear.py:quick", f"--workdir={tmp_path / 'file' / 'sub'}")
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = [line for line in r.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: workdir"), r.stderr
    assert os.listdir(tmp_path) == ["file"]
