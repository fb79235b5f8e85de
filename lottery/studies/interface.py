"""The interface every study kind implements, and the run it is handed.

A study kind (``config.kind``) is one module of :mod:`lottery.studies` with a :class:`Study` subclass, listed in
``lottery.studies.STUDIES``. ``lottery.run`` checks the shared config sections, asks the study to check its own,
loads the data, and hands the study a :class:`Run`; the study trains, writes its parts through ``lottery.store``,
merges them into the results table and reports.
"""
from __future__ import annotations

import abc
import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp
import pandas as pd

from lottery import validate
from lottery.data import noise
from lottery.progress import Progress

NOISE_STREAM = 0x0E


def label_sets(dataset, cfg) -> list[dict]:
    """One noise draw per noise seed (``data.noise``): {"seed", "train": noisy train labels [N], "test": noisy
    test labels [M]} (each a ``noise.noisy_labels`` result with ``labels`` and ``flip_rate``)."""
    out = []
    for s in cfg.seeds:
        ktrain, ktest = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(s), NOISE_STREAM))
        tr = noise.noisy_labels(ktrain, dataset.y_train, cfg.fraction, cfg.mode, dataset.num_classes)
        te = noise.noisy_labels(ktest, dataset.y_test, cfg.fraction, cfg.mode, dataset.num_classes)
        out.append({"seed": int(s), "train": tr, "test": te})
    return out


@dataclasses.dataclass
class Run:
    """One run of a study: its config, workdir (absolute), data, run id, log and noise draws.

    sets: :func:`label_sets`; train_labels [L, N] and test_noisy [L, M]: the noisy labels of every draw.
    """

    config: Any
    workdir: str
    dataset: Any
    run_id: str
    log: Callable[[str], None]
    sets: list = dataclasses.field(init=False)
    train_labels: Any = dataclasses.field(init=False)
    test_noisy: Any = dataclasses.field(init=False)

    def __post_init__(self):
        self.sets = label_sets(self.dataset, self.config.data.noise)
        self.train_labels = jnp.stack([s["train"].labels for s in self.sets])
        self.test_noisy = jnp.stack([s["test"].labels for s in self.sets])

    @property
    def noise_seeds(self) -> list[int]:
        return [s["seed"] for s in self.sets]

    @staticmethod
    def progress(label: str) -> Callable[[int, int], None]:
        """A (done, total) progress callback printing ``label`` with an ETA on stderr."""
        return Progress(f"  {label}", "steps").update


class Study(abc.ABC):
    """One kind of study. ``kind`` is its ``config.kind``; the methods are called in this order by ``lottery.run``."""

    kind: str

    @abc.abstractmethod
    def check(self, config) -> None:
        """ConfigError naming the field for anything wrong in the config that does not need the data
        (the shared sections too: call ``lottery.validate.common`` where they apply)."""

    def models(self, config) -> list:
        """The model specs the run trains (recorded in DIR/config.json); the configured model by default."""
        return [validate.model_spec(config)]

    def prepare(self, config, dataset):
        """The dataset the study runs on (e.g. a subset); the loaded one by default."""
        return dataset

    @abc.abstractmethod
    def check_data(self, config, dataset) -> None:
        """ConfigError for what needs the loaded data (sizes, shapes, layer names)."""

    @abc.abstractmethod
    def run(self, run: Run) -> None:
        """Trains (or resumes) everything and writes its parts; returns when every part is written."""

    @abc.abstractmethod
    def merge(self, run: Run) -> pd.DataFrame:
        """The merged results table of the parts (written to DIR/results.parquet)."""

    def report(self, run: Run, df: pd.DataFrame) -> None:
        """What is printed and drawn at the end of a run (by process 0 only); nothing by default."""

    def report_section(self, workdir: str, info: dict, config: dict, df: pd.DataFrame, save) -> list[str]:
        """Markdown lines of this run in ``python -m lottery.report`` (``save(name, draw)`` writes a figure)."""
        return []
