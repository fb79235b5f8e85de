"""The machine's FP32 matrix-multiply peak: the ceiling for any dense training loop."""
from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np


def _best_rate(fn, flop: float, repeats: int) -> float:
    fn()  # warm-up (and compile)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return flop / best / 1e9


def sgemm_gflops(n: int = 2048, repeats: int = 5) -> dict[str, float]:
    """Best-of-``repeats`` GFLOP/s of an [n, n] × [n, n] float32 product: {"numpy", "xla"}."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    flop = 2.0 * n ** 3
    ja, jb = jnp.asarray(a), jnp.asarray(b)
    matmul = jax.jit(jnp.matmul)
    return {"numpy": _best_rate(lambda: a @ b, flop, repeats),
            "xla": _best_rate(lambda: matmul(ja, jb).block_until_ready(), flop, repeats)}
