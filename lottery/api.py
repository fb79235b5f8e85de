"""``lottery.run(config, workdir)``: check the config, load the data, run the study of ``config.kind``, merge its
results, report — the one place that glues the layers together."""
from __future__ import annotations

import contextlib
import errno
import os
from typing import Callable

import ml_collections
import pandas as pd

from lottery import studies, validate
from lottery.core import distributed
from lottery.data import catalog as data_catalog
from lottery.core.errors import ConfigError
from lottery.models import registry as model_registry
from lottery.store import workdir as wd
from lottery.store.lock import WorkdirLock
from lottery.studies import STUDIES, Run, Study


def study_of(config) -> Study:
    """The study of ``config.kind`` (ConfigError naming ``kind`` otherwise)."""
    if "kind" not in config:
        raise ConfigError("kind", f"is missing; allowed: {', '.join(STUDIES)}")
    return studies.get(config["kind"])


def run_id(config) -> str:
    """The run id of ``config`` (a ConfigDict or a plain dict), by its study's rules (``lottery.store.runid``)."""
    cdict = config.to_dict() if isinstance(config, ml_collections.ConfigDict) else config
    return study_of(cdict).run_id(cdict)


def as_config(config) -> ml_collections.ConfigDict:
    """A copy of ``config`` (a ConfigDict or a plain dict of sections) as a ConfigDict."""
    if isinstance(config, ml_collections.ConfigDict):
        config = config.to_dict()
    if not isinstance(config, dict):
        raise ConfigError("config", f"must be a ConfigDict or a dict, got {type(config).__name__}")
    return ml_collections.ConfigDict(config)


def check(config) -> Study:
    """Everything that does not need the data: every section and field against the kind's schema (unknown,
    missing and mistyped fields), the shared sections and the study's own checks (ConfigError)."""
    study = study_of(config)
    validate.against_schema(config, study.defaults())
    study.check(config)
    return study


def check_data(config, dataset) -> None:
    """What needs the loaded data (``dataset.train_size``, ``input_shape``, ``num_classes``)."""
    study_of(config).check_data(config, dataset)


NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
NO_SPACE_TEXT = ("No space left on device", "Disk quota exceeded")


def out_of_space(e: BaseException) -> tuple[bool, str | None]:
    """Whether ``e`` (or an exception it was raised from, e.g. inside Orbax, tensorstore or pyarrow) is a full
    disk or quota, and the path being written when it names one."""
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if (isinstance(e, OSError) and e.errno in NO_SPACE) or any(t in str(e) for t in NO_SPACE_TEXT):
            return True, getattr(e, "filename", None)
        e = e.__cause__ or e.__context__
    return False, None


def run(config: ml_collections.ConfigDict, workdir: str, log: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Runs the experiment ``config`` in ``workdir``; returns the results table.

    Everything the user gave is checked before anything is written (ConfigError otherwise).
    Every finished level is checkpointed: a killed run resumes where it stopped, and asking
    for more ``imp.levels`` extends a finished run. A full disk is a ConfigError naming the path (every file is
    written atomically, so nothing is left half-written; the same call resumes once there is space).
    """
    log = log or (lambda s: print(s, flush=True))
    if not distributed.primary():  # a multi-process run: process 0 logs and writes (lottery.core.distributed)
        log = lambda s: None  # noqa: E731
    config = as_config(config)
    study = check(config)
    wd.check_writable(workdir)
    workdir = os.path.abspath(workdir)  # Orbax wants absolute paths; the user may give a relative one
    dataset = study.prepare(config, data_catalog.load(config.data))
    study.check_data(config, dataset)
    cdict = config.to_dict()
    rid = study.run_id(cdict)
    wd.check_run(workdir, rid)
    try:
        return _run(study, config, workdir, dataset, cdict, rid, log)
    except Exception as e:
        full, path = out_of_space(e)
        if not full:
            raise
        raise ConfigError("workdir", f"no space left writing {path or workdir}: free space on its filesystem (or use "
                                     f"another workdir) and run the same command to resume") from None


def _run(study, config, workdir, dataset, cdict, rid, log) -> pd.DataFrame:
    with contextlib.ExitStack() as held:  # process 0 creates, locks and records the workdir
        models = {spec.name: model_registry.record(spec) for spec in study.models(config)}
        distributed.on_primary(lambda: (wd.create(workdir), held.enter_context(WorkdirLock(workdir)),
                                        wd.prepare(workdir, cdict, rid, models, distributed.devices())))
        this = Run(config, workdir, dataset, rid, log)
        study.run(this)
        distributed.barrier("parts written")
        df = study.merge(this)
        if distributed.primary():
            study.report(this, df)
    return df
