"""The baseline: an OpenLTH-style PyTorch eager loop, one model at a time.

Each model is built, seeded, and trained on its own: every epoch a fresh ``randperm`` of the
training set, batches gathered from tensors in memory (OpenLTH reads through a DataLoader,
which only adds overhead: this is the baseline's fast path), the masks applied to the weights
before every forward pass as OpenLTH's ``PrunedModel`` does, cross-entropy, ``SGD.step``.
PyTorch is optional (the ``bench`` extra); :func:`available` says whether it can be imported.
"""
from __future__ import annotations

import time

import numpy as np


def available() -> str | None:
    """None if torch imports, else the reason it does not."""
    try:
        import torch  # noqa: F401
    except ImportError as e:
        return f"torch is not installed ({e}); on Python 3.11: pip install torch==2.13.0"
    return None


def train_models(x, y, sizes_per_model, seeds, epochs: int, batch: int, lr: float = 0.1,
                 use_bias: bool = False) -> float:
    """Trains each model (layer sizes, seed) for ``epochs`` epochs; returns the total seconds.

    x [N, D] float32 and y [N] int (numpy); sizes (input, hidden…, classes).
    """
    import torch

    xt, yt = torch.from_numpy(np.array(x, np.float32)), torch.from_numpy(np.array(y, np.int64))
    n = xt.shape[0]
    total = 0.0
    for sizes, seed in zip(sizes_per_model, seeds):
        torch.manual_seed(seed)
        layers = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(torch.nn.Linear(a, b, bias=use_bias))
            if i < len(sizes) - 2:
                layers.append(torch.nn.ReLU())
        model = torch.nn.Sequential(*layers)
        weights = [m.weight for m in model if isinstance(m, torch.nn.Linear)]
        masks = [torch.ones_like(w) for w in weights]
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        loss_fn = torch.nn.CrossEntropyLoss()
        generator = torch.Generator().manual_seed(seed)
        t0 = time.perf_counter()
        for _ in range(epochs):
            perm = torch.randperm(n, generator=generator)
            for start in range(0, n, batch):
                idx = perm[start:start + batch]
                with torch.no_grad():
                    for w, m in zip(weights, masks):
                        w.mul_(m)
                opt.zero_grad()
                loss = loss_fn(model(xt[idx]), yt[idx])
                loss.backward()
                opt.step()
        total += time.perf_counter() - t0
    return total
