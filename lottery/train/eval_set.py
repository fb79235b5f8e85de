"""A typed evaluation set: what a population is evaluated on, and against what."""
from __future__ import annotations

import dataclasses
from typing import Any, Optional

from lottery.analysis.posterior_maps import PosteriorBinning


@dataclasses.dataclass(frozen=True)
class EvalSet:
    """One set of inputs scored against any number of label variants.

    name: the set's name (``train``, ``test``, ``fresh``; metrics of the posterior are ``posterior_<name>``);
    x [N, *input]; labels [K, M, N] int32 — M label variants per model (e.g. noisy and clean) — or None;
    label_names: the M names the metrics are reported under (``train_noisy``, ``train_clean``, …);
    target [N, C]: a posterior to compare with (the Bayes posterior of synthetic data) or None;
    flip [K]: each model's label flip rate (for the noise-adjusted target) or None;
    binning: an optional :class:`PosteriorBinning` accumulated beside the evaluation (needs a target).
    """

    name: str
    x: Any
    labels: Any = None
    label_names: tuple[str, ...] = ()
    target: Any = None
    flip: Any = None
    binning: Optional[PosteriorBinning] = None
