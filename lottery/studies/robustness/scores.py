"""The third stage of a robustness run: a population's per-sample scores and their correlation with the geometry,
from its evaluated sets (:func:`lottery.studies.robustness.analyser.evaluate_sets`):

* ``scores``: per model × sample the corruption robustness (B eq. 6: correct predictions over every configured
  corruption × severity), the count correct per corruption (0…#severities), the pruning vulnerability (B eq. 7:
  correct predictions over the method's prune ratios, the same for every ratio of a seed) and the PIE flag (the
  modal prediction over seeds at that ratio differs from the dense reference's);
* ``correlations``: Pearson r of angle to the own class / length / margin against robustness (each model, its own
  geometry) and against pruning vulnerability (the dense reference's geometry).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from lottery.analysis import robustness_measures as measures
from lottery.store import analysis as store
from lottery.store.result_tables import DENSE
from lottery.studies.robustness.analyser import METRICS


def scores_table(keys: pd.DataFrame, names: tuple, counts: np.ndarray, robust: np.ndarray, pv: np.ndarray,
                 pie: np.ndarray) -> pd.DataFrame:
    """Per model × sample: robustness (eq. 6), correct count per corruption, pruning vulnerability (eq. 7), PIE.

    counts uint8 [K, T, N]; robust, pv int [K, N]; pie bool [K, N]."""
    k, t, n = counts.shape
    frame = keys.loc[keys.index.repeat(n)].reset_index(drop=True)
    return frame.assign(sample=np.tile(np.arange(n), k), robustness=robust.ravel().astype(np.int16),
                        pruning_vulnerability=pv.ravel().astype(np.int16), pie=pie.ravel(),
                        **{f"correct_{c}": counts[:, i].ravel() for i, c in enumerate(names)})


def correlations(keys: pd.DataFrame, clean: dict, robust: np.ndarray, dense: dict, pv: np.ndarray) -> pd.DataFrame:
    """Pearson r of each metric against robustness (per model, its own clean geometry) and against pruning
    vulnerability (per dense model: its geometry against the PV of its ratio sweep).

    robust [K, N]; pv [M, N] (one per dense model); dense: {metric: [M, N]}."""
    frames = []
    for k, row in keys.iterrows():
        t = measures.correlation_table({m: clean[m][k] for m in METRICS}, {"robustness": robust[k]})
        frames.append(t.assign(**row.to_dict()))
    ratios = keys.ratio.nunique()
    if ratios < 2:  # the dense population: no ratio sweep, no pruning vulnerability
        return pd.concat(frames, ignore_index=True)
    for i in range(pv.shape[0]):
        t = measures.correlation_table({m: dense[m][i] for m in METRICS}, {"pruning_vulnerability": pv[i]})
        frames.append(t.assign(**keys.iloc[i * ratios].to_dict()).assign(ratio=np.nan))
    return pd.concat(frames, ignore_index=True)


def score_tables(workdir: str, tag: str, method: str, keys: pd.DataFrame, dense_models: int, out: dict,
                 names: tuple, num_classes: int) -> dict[str, pd.DataFrame]:
    """{"scores", "correlations"} of the population ``method`` of architecture ``tag``: keys [K] rows, K =
    dense_models × R (ratio fastest); ``out`` its evaluated sets. The dense reference's clean predictions and
    geometry (PIE, the PV correlations) are its own for DENSE, else read from the architecture's DENSE part."""
    clean = out["clean"]
    ratios = len(keys) // dense_models
    correct = clean["correct"].reshape(dense_models, ratios, -1)
    pv = measures.pruning_vulnerability_by_model(correct)  # [M, N]
    if method == DENSE:
        dense_preds, dense_geometry = clean["pred"], {m: clean[m] for m in METRICS}
    else:
        dense_preds = store.part_array(workdir, f"{tag}-{DENSE}", "pred")
        dense_geometry = {m: store.part_array(workdir, f"{tag}-{DENSE}", m) for m in METRICS}
    pie = measures.pie_by_ratio(clean["pred"].reshape(dense_models, ratios, -1), dense_preds, num_classes)
    robust = out["robustness"]
    return {"scores": scores_table(keys, names, out["counts"], robust, np.repeat(pv, ratios, axis=0),
                                   np.tile(pie, (dense_models, 1))),
            "correlations": correlations(keys, clean, robust, dense_geometry, pv)}
