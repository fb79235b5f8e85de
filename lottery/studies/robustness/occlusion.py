"""The occlusion table of a population (docs/science.md §8, study B section 6.4): change maps of the first
``robustness.occlusion_samples`` clean test examples for every model, through
:func:`lottery.analysis.occlusion.occlusion_batch`."""
from __future__ import annotations

import numpy as np
import pandas as pd

from lottery.analysis import occlusion
from lottery.studies.robustness.eval_sets import RobustnessEvalSets


def occlusion_count(r, n: int) -> int:
    """How many of the n analysed test examples get occlusion maps: ``robustness.occlusion_samples`` (−1: all)."""
    k = int(r.occlusion_samples)
    return n if k < 0 else min(k, n)


def occlusion_batch_size(r, input_shape, eval_batch: int) -> int:
    """Images per occlusion batch: each brings 1 + #windows forward passes, so about ``eval_batch`` in all."""
    windows = len(occlusion.window_masks(int(input_shape[0]), int(input_shape[1]), int(r.occlusion_patch),
                                         int(r.occlusion_stride)))
    return max(1, int(eval_batch) // (1 + windows))


def occlusion_table(module, head: str, params, stats, sets: RobustnessEvalSets, keys: pd.DataFrame, r, fill,
                    loop: bool, batch: int) -> pd.DataFrame:
    """Change maps of the first :func:`occlusion_count` clean samples for every model (params, stats [K, ...];
    keys [K] rows): rows sample × measure × model (sorted by sample, so the dashboard reads one sample's rows
    alone) with the map [H·W] (row-major) as a float16 list (changes beyond ±65,504 clipped there). The samples
    go ``batch`` images at a time through :func:`occlusion.occlusion_batch` (the last batch padded, so one
    compiled kernel)."""
    n = occlusion_count(r, int(sets.labels.shape[0]))
    frames = []
    limit = float(np.finfo(np.float16).max)
    for start in range(0, n, batch):
        idx = np.arange(start, min(start + batch, n))
        pad = np.concatenate([idx, np.full(batch - len(idx), idx[0])])  # padded with a repeat of the first
        maps = occlusion.occlusion_batch(module, params, stats, head, sets.x_clean[pad], np.asarray(sets.labels)[pad],
                                         int(r.occlusion_patch), int(r.occlusion_stride), fill, loop=loop)
        maps = {k: np.clip(np.asarray(v[:, :len(idx)]), -limit, limit).astype(np.float16) for k, v in maps.items()}
        for j, i in enumerate(idx):
            for measure, m in maps.items():  # m [K, B, H, W]
                frames.append(keys.assign(sample=int(i), measure=measure, height=m.shape[2], width=m.shape[3],
                                          map=list(m[:, j].reshape(m.shape[0], -1))))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
