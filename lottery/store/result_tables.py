"""The results table: one row per model × level × evaluation split, stored as Parquet."""
from __future__ import annotations

import glob
import os

import pandas as pd

from lottery.store import files

DIGEST = ".sha256"  # beside every part: the SHA-256 of its bytes

COLUMNS = [
    "run_id", "experiment", "dataset", "model", "width", "seed", "noise_fraction", "noise_mode", "noise_seed",
    "flip_rate", "level", "branch", "weights_total", "weights_remaining", "density", "split", "error", "loss", "diverged",
    # calibration (test and test_noisy rows): against that row's labels
    "ece", "classwise_ece",
    # synthetic data, test rows: total-variation distance to the Bayes posterior (and to the
    # noise-adjusted posterior) on the test set and on a fresh sample
    "posterior_gap_mean", "posterior_gap_max", "posterior_gap_adj_mean",
    "fresh_posterior_gap_mean", "fresh_posterior_gap_max", "fresh_posterior_gap_adj_mean",
]
# Rows of a pruning-method or robustness run add which method pruned the model (DENSE: the reference), the ratio of
# its weights removed, whether the survivors were fine-tuned, and the training behind the model in epochs of
# the training set and optimizer steps (lottery.studies.prune_methods.populations.budget).
BUDGET_COLUMNS = ["train_epochs", "score_epochs", "retrain_epochs", "total_epochs", "total_steps"]
PRUNE_COLUMNS = COLUMNS + ["method", "ratio", "retrained", "scope"] + BUDGET_COLUMNS
DENSE = "dense"  # the ``method`` of the reference rows: the dense models, fine-tuned like the pruned ones
CURVES = "calibration.parquet"
LEARNING_CURVES = "learning_curves.parquet"
KEYS = ["width", "seed", "noise_seed", "level", "branch", "split"]
SPLITS = ("train_noisy", "train_clean", "test", "test_noisy")
TABLE = "results.parquet"


def write(df: pd.DataFrame, path: str) -> None:
    """Writes ``df`` as Parquet atomically (a reader never sees half a file)."""
    with files.atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


def write_part(df: pd.DataFrame, path: str) -> None:
    """Writes one part atomically, then ``<path>.sha256`` with the digest of its bytes (see :func:`intact`)."""
    write(df, path)
    files.write_text(path + DIGEST, files.sha256_of(path))


def intact(path: str) -> bool:
    """Whether a part exists and is whole: its bytes match the digest written with it (a part written before
    digests existed: it reads). A damaged part (a bad copy, a disk error) is not: its rows are made again."""
    if not os.path.exists(path):
        return False
    if os.path.exists(path + DIGEST):
        with open(path + DIGEST) as f:
            return f.read().strip() == files.sha256_of(path)
    try:
        pd.read_parquet(path)
        return True
    except Exception:  # noqa: BLE001 — any failure to read is a damaged file
        return False


def read_parts(workdir: str, folder: str = "parts") -> pd.DataFrame:
    """The finished parts in ``DIR/FOLDER/*.parquet`` as one table (empty, with COLUMNS for result parts, if none)."""
    paths = sorted(glob.glob(os.path.join(workdir, folder, "*.parquet")))
    if not paths:
        return pd.DataFrame(columns=COLUMNS if folder == "parts" else None)
    return pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)


def merge(workdir: str, run_id: str, levels: int, keys: list[str] = KEYS) -> pd.DataFrame:
    """Merges the finished parts of run ``run_id`` up to ``levels`` into ``DIR/results.parquet``
    (and ``DIR/calibration.parquet``), sorted by ``keys``; rows of deeper levels asked for earlier
    are left out."""
    df = read_parts(workdir)
    df = df[(df.run_id == run_id) & (df.level <= levels)].sort_values(keys, kind="stable").reset_index(drop=True)
    curves = read_parts(workdir, "curves")
    if len(curves):
        curves = curves[(curves.run_id == run_id) & (curves.level <= levels)]
        curves = curves.sort_values(KEYS + ["curve", "bin"], kind="stable").reset_index(drop=True)
        write(curves, os.path.join(workdir, CURVES))
    learning = read_parts(workdir, "learning_curves")
    if len(learning):
        learning = learning[(learning.run_id == run_id) & (learning.level <= levels)]
        learning = learning.sort_values(KEYS + ["step"], kind="stable").reset_index(drop=True)
        write(learning, os.path.join(workdir, LEARNING_CURVES))
    write(df, os.path.join(workdir, TABLE))
    return df


def load_learning_curves(workdir: str) -> pd.DataFrame:
    """The learning curves of the run in ``workdir`` (``DIR/learning_curves.parquet``, with ``eval.every``):
    model × level × branch × step × split with epoch, error and loss."""
    return pd.read_parquet(os.path.join(workdir, LEARNING_CURVES))


def load_curves(workdir: str) -> pd.DataFrame:
    """The reliability-diagram statistics of the run in ``workdir`` (``DIR/calibration.parquet``):
    run × model × level × branch × split × curve × bin with count, prob_sum (Σ predicted probability)
    and outcome_sum (Σ outcome). Of a sweep too: :func:`lottery.results.load_curves`."""
    return pd.read_parquet(os.path.join(workdir, CURVES))


def load(workdir: str) -> pd.DataFrame:
    """The results table of the run in ``workdir``, merged from its finished parts if the run did not
    finish (FileNotFoundError if the directory does not exist). Of a sweep too: :func:`lottery.results.load`."""
    path = os.path.join(workdir, TABLE)
    if os.path.exists(path):
        return pd.read_parquet(path)
    if not os.path.isdir(workdir):
        raise FileNotFoundError(f"no results in {workdir}: the directory does not exist")
    return read_parts(workdir)
