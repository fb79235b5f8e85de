"""The second stage of a robustness run: every model of a population evaluated on every evaluation set (clean,
each corruption at each severity) through the geometry of its last feature layer (:mod:`lottery.analysis.geometry`):
one compiled kernel gives every model's features and, per sample, the angle to every class direction, the length,
the margin, the prediction and its probability."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from lottery.analysis import geometry
from lottery.analysis import robustness_measures as measures
from lottery.studies.robustness.eval_sets import RobustnessEvalSets

METRICS = ("angle_own", "length", "margin")  # the geometry of a sample the tables correlate and embed


class Analyser:
    """One compiled kernel: every model's geometry on a batch of examples.

    __call__(params [K, ...], stats [K, ...], x [N, *input], labels [N]) → {"feats" [K, N, d], "angles"
    [K, N, C], "angle_own", "length", "margin", "prob_own" [K, N] float32, "pred" [K, N] int, "correct" [K, N]
    bool} as numpy, computed ``batch`` examples at a time (models vmapped, or mapped one after the other
    where XLA runs vmapped convolutions slowly: see ``lottery.train.strategies.member_loop``).
    """

    FIELDS = ("feats", "angles", "angle_own", "length", "margin", "prob_own", "pred", "correct")

    def __init__(self, module, head: str, loop: bool, batch: int):
        self.batch = batch

        def one(p, s, x, y):
            feats, _ = geometry.features(module, p, s, x)
            w, b = geometry.head(p, head)
            m = geometry.measures(feats, w, b, y)
            return {"feats": feats, **{k: m[k] for k in self.FIELDS[1:]}}

        def many(params, stats, x, y):
            f = lambda ps: one(ps[0], ps[1], x, y)
            return jax.lax.map(f, (params, stats)) if loop else jax.vmap(f)((params, stats))

        self._run = jax.jit(many)

    def __call__(self, params, stats, x, labels) -> dict:
        n = int(x.shape[0])
        chunks = []
        for start in range(0, n, self.batch):
            xb, yb = x[start:start + self.batch], labels[start:start + self.batch]
            pad = self.batch - xb.shape[0]
            if pad:
                xb = jnp.concatenate([xb, jnp.zeros((pad, *xb.shape[1:]), xb.dtype)])
                yb = jnp.concatenate([yb, jnp.zeros((pad,), yb.dtype)])
            out = self._run(params, stats, xb, yb)
            chunks.append({k: np.asarray(v)[:, :self.batch - pad] for k, v in out.items()})
        return {k: np.concatenate([c[k] for c in chunks], axis=1) for k in chunks[0]}


def analyser_of(arch, eval_batch: int, test_examples: int) -> Analyser:
    """The analyser of an architecture (:class:`~lottery.studies.robustness.populations.Architecture`), in batches
    of ``train.eval_batch_size`` examples but no larger than the analysed test set (a 500-example set padded to
    2,048 costs 4× the work)."""
    return Analyser(arch.module, arch.head, arch.loop, min(int(eval_batch), int(test_examples)))


def _sample_rows(keys: pd.DataFrame, out: dict, labels: np.ndarray, eval_set: str, corruption: str,
                 severity: int) -> pd.DataFrame:
    """Per model × sample geometry of one evaluation set (angles to every class as angle_0 … angle_{C−1})."""
    k, n = out["pred"].shape
    frame = keys.loc[keys.index.repeat(n)].reset_index(drop=True)
    frame = frame.assign(eval_set=eval_set, corruption=corruption, severity=severity,
                         sample=np.tile(np.arange(n), k), label=np.tile(labels, k),
                         pred=out["pred"].ravel().astype(np.int16), correct=out["correct"].ravel(),
                         **{m: out[m].ravel().astype(np.float32) for m in (*METRICS, "prob_own")})
    angles = out["angles"].reshape(k * n, -1).astype(np.float32)
    columns = pd.DataFrame(angles, columns=[f"angle_{c}" for c in range(angles.shape[1])])
    return pd.concat([frame, columns], axis=1)  # one block: 100 classes' columns one by one would fragment it


def evaluate_sets(analyser: Analyser, params, stats, sets: RobustnessEvalSets, keys: pd.DataFrame,
                  geometry_severity: int) -> dict:
    """Every model of a population (K = len(keys)) on every evaluation set → {"evaluation": accuracy per model ×
    set; "samples": per model × sample geometry on the clean set and each corruption at ``geometry_severity``;
    "clean": the analyser's clean-set outputs; "counts" uint8 [K, T, N]: correct predictions per corruption over
    its severities; "robustness" int [K, N]: B eq. 6 over every corrupted set}."""
    labels = np.asarray(sets.labels)
    clean = analyser(params, stats, sets.x_clean, sets.labels)
    evaluation = [keys.assign(eval_set="clean", corruption="clean", severity=0, accuracy=clean["correct"].mean(1))]
    samples = [_sample_rows(keys, clean, labels, "clean", "clean", 0)]
    correct = []
    for name, severity in sets.sets():
        out = analyser(params, stats, sets.x(name, severity), sets.labels)
        correct.append(out["correct"])
        evaluation.append(keys.assign(eval_set=f"{name}-{severity}", corruption=name, severity=severity,
                                      accuracy=out["correct"].mean(1)))
        if severity == geometry_severity:
            samples.append(_sample_rows(keys, out, labels, f"{name}-{severity}", name, severity))
    correct = np.stack(correct)  # [S, K, N], corruption-major
    counts = correct.reshape(len(sets.names), -1, *correct.shape[1:]).sum(1, dtype=np.uint8).transpose(1, 0, 2)
    robust = np.asarray(measures.corruption_robustness(correct.reshape(len(correct), -1)))
    return {"evaluation": pd.concat(evaluation, ignore_index=True), "samples": pd.concat(samples, ignore_index=True),
            "clean": clean, "counts": counts, "robustness": robust.reshape(len(keys), len(labels))}
