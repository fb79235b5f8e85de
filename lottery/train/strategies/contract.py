"""The contract every training strategy keeps, and what it is given of a bucket.

A strategy trains one bucket's population over a range of steps, in equal chunks:
``run(pop, start, stop, draw, progress) → (pop, losses [stop − start, K])``. It says which data orders it
reads (``orders``: one seed per row of the batch indices), may move the population into its own layout
for the range (``begin`` / ``end``), and runs one chunk of batch indices at a time (``chunk``, asynchronous).
The chunk loop itself — drawing the next chunk's indices on the host while the device runs this one — is
shared: :meth:`Strategy.run`. Everything the trainer asks of a strategy is here, with a default where one
exists: ``name``, ``orders``, ``curves_inside``, ``hidden_units``, ``lower`` / ``held`` (its memory),
``cache_size`` and ``run``. The :class:`Bucket` a strategy is given is built once, by the trainer.
"""
from __future__ import annotations

import abc
import dataclasses
from typing import Any, Callable, Optional

import jax
import numpy as np

from lottery.core import distributed
from lottery.models.registry import ModelSpec
from lottery.train.curve_probe import CurveProbe, measured_blocks
from lottery.train.sharding import Layout
from lottery.train.state import Member, Population


def one_by_one(spec: ModelSpec, train_cfg, backend: Optional[str] = None) -> bool:
    """Whether ``train.members`` asks for members trained (and evaluated) one by one — the member loop (``auto``:
    convolutional nets on a CPU; ``backend``: the one planned for, this machine's by default)."""
    if train_cfg.members == "auto":
        return not spec.fully_connected and (backend or jax.default_backend()) == "cpu"
    return train_cfg.members == "loop"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Bucket:
    """One bucket: what it trains on, how, and the pieces built for it — built once
    (:func:`lottery.train.trainer.build_bucket`), read by the trainer and handed to its strategy.

    spec, module: the model and its Flax module at ``padded_width`` (every member is padded to it); members: K
    members, padded with inert copies of the last one to the layout's device count (the first ``reported`` are
    real); x_train [N, *input] and labels [L, N] int32 label sets (replicated over the layout); label_set [K] int32
    (by model); tx, lr_schedule: the update direction and the learning rate of a step counter; member_loop: members
    train and are evaluated one by one (:func:`one_by_one`); augment: None or {"pad", "fill"}, augment_keys [K, 2]
    raw keys or None; backend: the backend the bucket is planned for (None: this machine's); boundaries: steps
    every range trained starts or stops at (besides 0 and the end); bins: calibration bins of the evaluation;
    curve_every: steps between two learning-curve measurements (0: none).
    """

    spec: ModelSpec
    module: Any
    padded_width: int
    members: list[Member]
    reported: int
    layout: Layout
    x_train: Any
    labels: Any
    label_set: Any
    num_classes: int
    train_cfg: Any
    opt_cfg: Any
    tx: Any
    lr_schedule: Callable
    member_loop: bool = False
    augment: Optional[dict] = None
    augment_keys: Any = None
    backend: Optional[str] = None
    boundaries: tuple = ()
    bins: int = 15
    curve_every: int = 0

    @property
    def shared_order(self) -> bool:
        """Every member reads one data order (``train.data_seed``)."""
        return bool(self.train_cfg.shared_data_order)


class Strategy(abc.ABC):
    """How a bucket's population trains; subclasses say when they apply and how one chunk runs."""

    name: str = "strategy"

    def __init__(self, bucket: Bucket):
        self.bucket = bucket

    @classmethod
    @abc.abstractmethod
    def applies(cls, bucket: Bucket) -> bool:
        """Whether this strategy can train ``bucket``."""

    def orders(self) -> list[int]:
        """The seeds of the data orders a step reads, one per row of the batch indices: every member's own
        seed, or ``train.data_seed`` alone with a shared order."""
        b = self.bucket
        return [int(b.train_cfg.data_seed)] if b.shared_order else [m.seed for m in b.members]

    def begin(self, pop: Population):
        """The population in this strategy's layout for a range of steps."""
        return pop

    @abc.abstractmethod
    def chunk(self, state, idx):
        """One chunk of steps: idx [S, rows, B] (or [S, B] with a shared order; −1 = padding) → (state, losses)."""

    @abc.abstractmethod
    def cache_size(self) -> int:
        """How many times the training program was compiled so far (for tests and the bench: 1 when reused)."""

    def lower(self, pop, idx) -> jax.stages.Lowered:
        """The program of one chunk lowered for ``pop`` (in the population layout) and batch indices ``idx``, both
        abstract (``jax.ShapeDtypeStruct`` leaves): what the planner compiles for XLA's memory analysis, never run.
        A strategy without it cannot be planned for memory."""
        raise NotImplementedError(f"the {self.name} strategy cannot lower its chunk program for planning")

    def held(self, pop) -> int:
        """Bytes of device memory the strategy keeps besides the chunk program's buffers while a range trains
        (``pop`` abstract): 0 when the population is the program's argument."""
        return 0

    def member_losses(self, loss) -> np.ndarray:
        """A chunk's losses as [S, K] (one column per member)."""
        return loss

    def end(self, state, pop: Population) -> Population:
        """The population after a range, back in the population layout."""
        return state

    curves_inside = False  # whether chunk_with_curves measures learning curves inside the chunk program

    @property
    def hidden_units(self) -> int:
        """Hidden units computed per step over the population (the cost compaction compares against): K × the
        hidden sizes at the padded width."""
        b = self.bucket
        sizes = b.spec.layer_sizes(b.padded_width, 0, b.num_classes)[1:-1]
        return len(b.members) * int(sum(sizes))

    def chunk_with_curves(self, state, idx, start: int, probe: CurveProbe):
        """One chunk starting at step ``start`` that also measures ``probe`` after every step that is a multiple of
        ``probe.every``, inside the program: (state, losses, measurements stacked over the chunk's blocks
        of :func:`scan_with_curves`). Only for strategies with ``curves_inside``."""
        raise NotImplementedError(f"the {self.name} strategy measures learning curves between chunks")

    def run(self, pop: Population, start: int, stop: int, chunk: int, draw: Callable[[int], Any],
            progress: Optional[Callable[[int, int], None]] = None, probe: Optional[CurveProbe] = None,
            observe: Optional[Callable[[int, list], None]] = None) -> tuple[Population, np.ndarray]:
        """Trains steps [start, stop) in chunks of ``chunk`` steps; ``draw(s)`` gives the batch indices of the
        chunk starting at step s (drawn on the host while the previous chunk runs). With a ``probe``,
        ``observe(step, measurement)`` receives every measurement (a list of {"loss", "error": [K, M]} per set, on
        the device) at the steps that are multiples of ``probe.every``: measured inside the chunk program when the
        strategy can (``curves_inside``), else after each chunk ending on such a step (``chunk`` must then divide
        ``probe.every``). Returns (population, training losses [stop − start, K])."""
        state = self.begin(pop)
        inside = probe is not None and self.curves_inside
        losses = []
        idx = draw(start) if stop > start else None
        for s in range(start, stop, chunk):
            if inside:
                state, loss, seen = self.chunk_with_curves(state, idx, s, probe)  # asynchronous
            else:
                state, loss = self.chunk(state, idx)  # asynchronous
            if s + chunk < stop:
                idx = draw(s + chunk)  # drawn on the host while the chunk runs
            losses.append(self.member_losses(jax.tree.map(distributed.host, loss)))  # waits for the chunk
            if inside:
                for at, j in measured_blocks(s, chunk, probe.every):
                    observe(at, jax.tree.map(lambda a, j=j: a[j], seen))
            elif probe is not None and (s + chunk) % probe.every == 0:
                p = self.end(state, pop)
                observe(s + chunk, probe.measure(p.params, p.masks, p.stats))
            if progress:
                progress(s + chunk - start, stop - start)
        pop = self.end(state, pop)
        out = np.concatenate(losses) if losses else np.zeros((0, len(self.bucket.members)), np.float32)
        return pop, out


def abstract(tree):
    """``tree`` with every array leaf as a ``jax.ShapeDtypeStruct`` (None stays None)."""
    return jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), tree)


def nbytes(tree) -> int:
    """Bytes of the array (or ShapeDtypeStruct) leaves of ``tree``."""
    return int(sum(np.prod(a.shape) * np.dtype(a.dtype).itemsize for a in jax.tree.leaves(tree)))
