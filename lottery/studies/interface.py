"""The interface every study kind implements, and the run it is handed.

A study kind (``config.kind``) is one module of :mod:`lottery.studies` with a :class:`Study` subclass, listed in
``lottery.studies.STUDIES``. The study owns everything about its kind: its config sections and their defaults (which
are also the schema ``lottery.run`` checks a config against), what its run id leaves out or adds, the buckets it
will train (for ``lottery.plan``), how it runs, merges and reports. ``lottery.run`` checks the config, loads the
data, and hands the study a :class:`Run`; the study trains, writes its parts through ``lottery.store``, merges them
into the results table and reports.
"""
from __future__ import annotations

import abc
import dataclasses
from typing import Any, Callable, Iterator

import ml_collections

import jax
import jax.numpy as jnp
import pandas as pd

from lottery import configs, validate
from lottery.data import noise
from lottery.core.errors import ConfigError
from lottery.core.progress import Progress
from lottery.store import runid

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


@dataclasses.dataclass(frozen=True)
class PlannedBucket:
    """One bucket a run would train, as ``lottery.plan`` sees it: the trainer built for it (never run), the epochs each
    member trains over the whole run, what those epochs are, and whether levels ≥ 1 train compacted."""

    study: str
    bucket: str
    spec: Any
    trainer: Any
    epochs: float
    counted: str
    compacted: bool


class Study(abc.ABC):
    """One kind of study. ``kind`` is its ``config.kind``; ``lottery.run`` calls :meth:`check`, :meth:`models`,
    :meth:`prepare`, :meth:`check_data`, :meth:`run`, :meth:`merge` and :meth:`report` in this order."""

    kind: str
    # Run ids (lottery.store.runid): this kind's fields that do not change its results; fields that extend a finished
    # run without changing the rows it has (left out of the run id too, but every job of a sweep must agree on them);
    # fields added after runs of this kind existed, left out at the value those runs had; and the number of the
    # kind's procedure when it changed after runs existed (hashed in, so a workdir of the old procedure is refused).
    non_result_keys: tuple[str, ...] = ()
    extending_keys: tuple[str, ...] = ()
    later_defaults: tuple[tuple[str, Any], ...] = ()
    procedure: int | None = None

    @abc.abstractmethod
    def sections(self) -> dict[str, ml_collections.ConfigDict]:
        """This kind's own config sections at their defaults ({name: section})."""

    def defaults(self) -> ml_collections.ConfigDict:
        """The default config of this kind: the shared sections (``configs.base()``, which a kind may set to its own
        settings, as study B's do), ``kind`` and :meth:`sections`. Experiment files start from it, and ``lottery.run`` checks every config of the kind against it (its
        schema: every field present, nothing else, values of the same types)."""
        c = configs.base()
        c.kind = self.kind
        for name, section in self.sections().items():
            c[name] = section
        return c

    def run_id(self, config_dict: dict) -> str:
        """The run id of a config of this kind (``lottery.store.runid``, with this kind's keys and procedure)."""
        return runid.run_id(config_dict, study_keys=self.non_result_keys + self.extending_keys,
                            later_defaults=dict(self.later_defaults), procedure=self.procedure)

    def local_keys(self) -> tuple[str, ...]:
        """Fields the jobs of one sweep may set differently (where each reads its data, what does not touch results)."""
        return runid.NON_RESULT_KEYS + self.non_result_keys

    def plan(self, config, dataset, labels, backend: str) -> Iterator[PlannedBucket]:
        """Every bucket a run of ``config`` would train, its trainer built for ``backend`` on the stand-in ``dataset``
        and ``labels`` [L, N] (nothing is trained): what ``lottery.plan`` costs."""
        raise ConfigError("kind", f"{self.kind} runs cannot be planned: its study defines no plan")

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
