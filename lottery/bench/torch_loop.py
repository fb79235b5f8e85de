"""The baseline: an OpenLTH-style PyTorch eager loop, one model at a time.

Each model is built, seeded, and trained on its own: every epoch a fresh ``randperm`` of the
training set, batches gathered from tensors in memory (OpenLTH reads through a DataLoader,
which only adds overhead: this is the baseline's fast path), the masks applied to the weights
before every forward pass as OpenLTH's ``PrunedModel`` does, cross-entropy, ``SGD.step``.
PyTorch is optional (the ``bench`` extra); :func:`available` says whether it can be imported.
"""
from __future__ import annotations

import importlib
import time

import numpy as np

from lottery.bench.padded import Timing


def available() -> str | None:
    """None if torch imports, else the reason it does not."""
    try:
        importlib.import_module("torch")
    except ImportError as e:
        return f"torch is not installed ({e}); on Python 3.11: pip install torch==2.13.0"
    return None


def tensors(x, y):
    """(x [N, D] float32, y [N] int64) torch tensors of numpy or JAX arrays x [N, *input], y [N]."""
    import torch

    x = np.asarray(x, np.float32)
    return torch.from_numpy(x.reshape(x.shape[0], -1).copy()), torch.from_numpy(np.array(y, np.int64))


def build_model(sizes, seed: int, use_bias: bool):
    """The dense net of layer sizes (input, hidden…, classes), ReLU between layers, with PyTorch's default
    initialisation drawn after ``torch.manual_seed(seed)``; layer i's ``weight`` is [sizes[i+1], sizes[i]]."""
    import torch

    torch.manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b, bias=use_bias))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def kernels(model) -> list:
    """The prunable weights of a :func:`build_model` net: every layer's ``weight``."""
    import torch

    return [m.weight for m in model if isinstance(m, torch.nn.Linear)]


def sgd_step(model, weights, masks, opt, x, y) -> None:
    """One OpenLTH-style step in place: weights · masks, then cross-entropy of ``model(x)``, backward, ``opt.step``.

    weights: :func:`kernels` of the model; masks: matching 0/1 tensors; x [B, D]; y [B] int64.
    """
    import torch

    with torch.no_grad():
        for w, m in zip(weights, masks):
            w.mul_(m)
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()


def train_models(x, y, sizes_per_model, seeds, epochs: int, batch: int, lr: float = 0.1,
                 use_bias: bool = False) -> Timing:
    """Trains each model (layer sizes, seed) for ``epochs`` epochs, one after the other.

    x [N, *input] and y [N] int (numpy or JAX); sizes (input, hidden…, classes). Returns the total training
    seconds (model construction excluded); eager PyTorch compiles nothing (compile_s None).
    """
    import torch

    xt, yt = tensors(x, y)
    n = xt.shape[0]
    total = 0.0
    for sizes, seed in zip(sizes_per_model, seeds):
        model = build_model(sizes, seed, use_bias)
        weights = kernels(model)
        masks = [torch.ones_like(w) for w in weights]
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        generator = torch.Generator().manual_seed(seed)
        t0 = time.perf_counter()
        for _ in range(epochs):
            perm = torch.randperm(n, generator=generator)
            for start in range(0, n, batch):
                idx = perm[start:start + batch]
                sgd_step(model, weights, masks, opt, xt[idx], yt[idx])
        total += time.perf_counter() - t0
    return Timing(total, None, len(sizes_per_model) * epochs)
