"""The results table: one row per model × level × evaluation split, stored as Parquet."""
from __future__ import annotations

import glob
import os

import pandas as pd

from lottery.store import files

COLUMNS = [
    "run_id", "experiment", "dataset", "model", "width", "seed", "noise_fraction", "noise_mode", "noise_seed",
    "flip_rate", "level", "branch", "weights_total", "weights_remaining", "density", "split", "error", "loss", "diverged",
]
SPLITS = ("train_noisy", "train_clean", "test", "test_noisy")
TABLE = "results.parquet"


def write(df: pd.DataFrame, path: str) -> None:
    """Writes ``df`` as Parquet atomically (a reader never sees half a file)."""
    with files.atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


def read_parts(workdir: str) -> pd.DataFrame:
    paths = sorted(glob.glob(os.path.join(workdir, "parts", "*.parquet")))
    if not paths:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)


def merge(workdir: str) -> pd.DataFrame:
    """Merges every finished part into ``DIR/results.parquet`` and returns the table."""
    df = read_parts(workdir).sort_values(["width", "seed", "noise_seed", "level", "branch", "split"], kind="stable")
    df = df.reset_index(drop=True)
    write(df, os.path.join(workdir, TABLE))
    return df


def load(workdir: str) -> pd.DataFrame:
    """The results table of a run (merged from its finished parts if the run did not finish)."""
    path = os.path.join(workdir, TABLE)
    if os.path.exists(path):
        return pd.read_parquet(path)
    if not os.path.isdir(workdir):
        raise FileNotFoundError(f"no results in {workdir}: the directory does not exist")
    return read_parts(workdir)
