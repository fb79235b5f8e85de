"""Independent float64 numpy references for the pruning-method tests: a 2-layer ReLU net
with masks, its cross-entropy and a hand-written backward pass, and top-k selection."""
import math

import numpy as np

SHAPES = {"dense_0": (4, 3), "dense_1": (3, 2)}  # kernels [in, out] of the tiny net 4 → 3 → 2


def tiny(seed=0, nb=3, batch=5, masked=True):
    """Params, masks (a few kernel entries off), batches x [nb, B, 4], y [nb, B], valid [nb, B]."""
    rng = np.random.default_rng(seed)
    params = {n: {"kernel": rng.normal(size=s).astype(np.float32), "bias": rng.normal(size=s[1]).astype(np.float32) * 0.1}
              for n, s in SHAPES.items()}
    masks = {n: {"kernel": np.ones(s, bool), "bias": np.ones(s[1], bool)} for n, s in SHAPES.items()}
    if masked:
        masks["dense_0"]["kernel"][0, 1] = masks["dense_0"]["kernel"][3, 2] = False
        masks["dense_1"]["kernel"][1, 0] = False
    x = rng.normal(size=(nb, batch, 4)).astype(np.float32)
    y = rng.integers(0, 2, size=(nb, batch)).astype(np.int32)
    valid = np.ones((nb, batch), bool)
    valid[-1, -2:] = False  # a partial last batch
    return params, masks, x, y, valid


def loss_and_grads(params, masks, x, y, valid):
    """Mean masked cross-entropy of one batch and its gradients with respect to the effective
    kernels w̃ = W·M: (loss, {layer: ∂L/∂w̃}). ∂L/∂W is ∂L/∂w̃ · M."""
    a = {n: np.asarray(params[n]["kernel"], np.float64) * masks[n]["kernel"] for n in SHAPES}
    b = {n: np.asarray(params[n]["bias"], np.float64) for n in SHAPES}
    x = np.asarray(x, np.float64)
    z = x @ a["dense_0"] + b["dense_0"]
    h = np.maximum(z, 0)
    logits = h @ a["dense_1"] + b["dense_1"]
    logits = logits - logits.max(-1, keepdims=True)
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    w = valid.astype(np.float64)
    n = w.sum()
    loss = float(np.sum(-np.log(p[np.arange(len(y)), y]) * w) / n)
    dlogits = (p - np.eye(2)[y]) * w[:, None] / n
    d1 = h.T @ dlogits
    dz = (dlogits @ a["dense_1"].T) * (z > 0)
    d0 = x.T @ dz
    return loss, {"dense_0": d0, "dense_1": d1}


def keep_top(scores: dict, alive: dict, ratio: float, layerwise: bool = False) -> dict:
    """Keep-masks: remove the ⌈ratio·R⌉ lowest-scored alive weights (globally or per layer)."""
    groups = [[n] for n in sorted(scores)] if layerwise else [sorted(scores)]
    out = {n: np.asarray(alive[n], bool).copy() for n in scores}
    for group in groups:
        flat = np.concatenate([np.asarray(scores[n], np.float64).ravel() for n in group])
        ok = np.concatenate([np.asarray(alive[n], bool).ravel() for n in group])
        idx = np.flatnonzero(ok)
        k = math.ceil(round(ratio * idx.size, 6))
        drop = idx[np.argsort(flat[idx], kind="stable")[:k]]
        keep = ok.copy()
        keep[drop] = False
        start = 0
        for n in group:
            out[n] = keep[start:start + out[n].size].reshape(out[n].shape)
            start += out[n].size
    return out
