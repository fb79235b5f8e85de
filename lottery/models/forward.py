"""One model's forward pass on flat variables (see :mod:`lottery.models.layers`), with or without batch-norm."""
from __future__ import annotations

from lottery.models import layers


def logits(module, params, stats, x, *, train: bool = False, valid=None):
    """(logits [B, C], batch-norm statistics after the pass) of one model.

    params: flat params (already masked); stats: flat running statistics ({layer: {mean, var}}; empty
    for a net without batch-norm); x [B, *input]; valid [B] bool or None (all valid).
    train: normalise with the statistics of the valid examples of the batch and update the running
    statistics (PyTorch's ``model.train()``); else normalise with the running statistics, unchanged.
    """
    variables = {"params": layers.nested(params)}
    if not stats:
        return module.apply(variables, x), stats
    variables["batch_stats"] = layers.nested(stats)
    if not train:
        return module.apply(variables, x, train=False), stats
    mask = None if valid is None else valid.reshape(-1, *([1] * (x.ndim - 1)))
    out, updated = module.apply(variables, x, train=True, mask=mask, mutable=["batch_stats"])
    return out, layers.flat(updated["batch_stats"])
