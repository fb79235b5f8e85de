"""The first stage of a robustness run: one architecture's populations, those of a pruning-method run
(:mod:`lottery.studies.prune_methods.populations`) — ``dense`` (the reference: the M dense models, fine-tuned exactly as the
pruned models are, matched budgets) and one per method (its M·R models, ratio fastest) — trained, their result rows
written, and the key columns of their models. The dense models are checkpointed under
``checkpoints/robustness-<tag>``."""
from __future__ import annotations

import time

import jax
import pandas as pd

from lottery.analysis import geometry
from lottery.models import registry as model_registry
from lottery.store import result_tables, workdir as wd
from lottery.store.checkpoints import BucketCheckpoints
from lottery.store.result_tables import DENSE
from lottery.studies import rows
from lottery.studies.prune_methods.populations import MethodPopulations
from lottery.studies.robustness.configs import arch_config, arch_tag
from lottery.train.state import Member, Population

KEYS = ["architecture", "method", "ratio", "seed", "noise_seed"]  # the model key columns of every analysis table


def model_keys(arch: str, method: str, members: list[Member], ratios, noise_seeds) -> pd.DataFrame:
    """One row per model of a population (members × ratios, ratio fastest), columns KEYS."""
    rows = [{"architecture": arch, "method": method, "ratio": float(r), "seed": m.seed,
             "noise_seed": int(noise_seeds[m.label_set])} for m in members for r in ratios]
    return pd.DataFrame(rows, columns=KEYS)


class Architecture:
    """One architecture of the study: its config, model spec and pruning-method populations; the model's module,
    the name of its head layer and whether its members go one after the other (``loop``)."""

    def __init__(self, config, run, name: str, width: int):
        self.run = run
        self.tag = arch_tag(name, width)
        self.config = arch_config(config, name, width)
        self.spec = model_registry.get(name, config.model.hidden, config.model.use_bias, config.model.init)
        self.populations = MethodPopulations(self.config, self.spec, run,
                                             BucketCheckpoints(wd.checkpoint_dir(run.workdir, f"robustness-{self.tag}")))
        self.noise_seeds = run.noise_seeds
        self.module = self.populations.trainer.module
        self.head = geometry.head_name(self.module, _one_params(self.populations), tuple(run.dataset.input_shape))
        self.loop = self.populations.dense.member_loop
        self._dense = None

    def keys(self, method: str) -> pd.DataFrame:
        """The key columns of the population's models: [K] rows, K = M (dense) or M·R (a method)."""
        ratios = [0.0] if method == DENSE else self.populations.ratios
        return model_keys(self.tag, method, self.populations.members, ratios, self.noise_seeds)

    def train(self, method: str, retrained: bool, t0: float) -> Population:
        """The population of ``method`` (DENSE: the reference) started from the dense weights (trained, or
        restored from their checkpoint, the first time a population needs them), fine-tuned when ``retrained``;
        its result rows written to ``parts/robustness-<tag>-<method>.parquet`` (seconds counted from t0)."""
        pops = self.populations
        if self._dense is None:
            self._dense = pops.dense_weights()
        pop = pops.start(method, self._dense)
        if retrained:
            pop = pops.finetune(method, pop)
        result = pops.result(method, pop, time.perf_counter() - t0)
        members, extras = pops.stage(method).members, pops.row_extras(method, retrained)
        result_tables.write_part(rows.result_rows(self.run, self.spec, members, result, extras),
                                 rows_path(self.run.workdir, f"{self.tag}-{method}"))
        return pop


def rows_path(workdir: str, part: str) -> str:
    """The result rows of the population ``part`` ("<tag>-<method>")."""
    return wd.part_path(workdir, f"robustness-{part}")


def _one_params(populations) -> dict:
    """One model's params (for the head's name: the layer names are the same at every width and seed)."""
    pop = populations.dense.init()
    return jax.tree.map(lambda a: a[0], pop.params)
