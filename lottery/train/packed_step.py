"""Packed training of one-hidden-layer nets: every model that shares a data order, in one wide layer.

Models that see the same batches (every width and noise draw of one seed; with a shared order
every model, but groups stay one per seed) also share their first layer's input. Their hidden units are
concatenated into one layer of H = Σ widths units — no padding — so a step of the whole group is
one [B, D] × [D, H] product, and the output layer is block-diagonal: unit j of member g feeds only
member g's logits. The loss of a group is the sum of its members' losses, so every member receives
exactly its own gradient (written out by hand in :func:`group_gradients`); the update is elementwise.
A group is therefore the same computation as its members trained alone, up to float summation order.

The population (members padded to the bucket's width) stays the record: :meth:`PackedProgram.pack`
gathers it into the packed layout before a training range and :meth:`PackedProgram.unpack` writes it
back after; pruning, evaluation and checkpoints never see the packed layout. Used when the model has
one hidden layer and the optimizer keeps no per-weight state (plain SGD, with or without weight
decay): the studies' small-width grids.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lottery.train.curve_probe import scan_with_curves
from lottery.train.state import Population


@dataclasses.dataclass(frozen=True)
class PackPlan:
    """Where every member lives in the packed layout (host numpy, static).

    U groups (one per data order) of at most G members (slots), H packed hidden units per group.
    col_member, col_unit [U, H]: the member (K for padding) and its hidden unit behind each packed unit;
    col_slot [U, H]: the slot of that member in its group; slot_member [U, G] (K for an empty slot);
    member_group, member_slot [K].
    """

    col_member: np.ndarray
    col_unit: np.ndarray
    col_slot: np.ndarray
    slot_member: np.ndarray
    member_group: np.ndarray
    member_slot: np.ndarray

    @property
    def groups(self) -> int:
        return int(self.col_member.shape[0])

    @property
    def slots(self) -> int:
        return int(self.slot_member.shape[1])

    @staticmethod
    def build(widths, groups) -> "PackPlan | None":
        """widths [K]: each member's true hidden width; groups [K]: its data-order group (0 … U−1).

        None unless the groups are regular (the same widths in the same order in every group), as
        the grid of widths × seeds × noise draws always is.
        """
        widths, groups = np.asarray(widths, np.int64), np.asarray(groups, np.int64)
        k, u = len(widths), int(groups.max()) + 1
        members = [np.flatnonzero(groups == g) for g in range(u)]
        if any(not np.array_equal(widths[m], widths[members[0]]) for m in members):
            return None
        g_max = max(len(m) for m in members)
        h = max(int(widths[m].sum()) for m in members)
        col_member = np.full((u, h), k, np.int32)
        col_unit = np.zeros((u, h), np.int32)
        col_slot = np.zeros((u, h), np.int32)
        slot_member = np.full((u, g_max), k, np.int32)
        member_slot = np.zeros(k, np.int32)
        for g, ms in enumerate(members):
            start = 0
            for slot, m in enumerate(ms):
                w = int(widths[m])
                col_member[g, start:start + w] = m
                col_unit[g, start:start + w] = np.arange(w)
                col_slot[g, start:start + w] = slot
                slot_member[g, slot] = m
                member_slot[m] = slot
                start += w
        return PackPlan(col_member, col_unit, col_slot, slot_member, groups.astype(np.int32), member_slot)


def _gather(a, rows, cols=None):
    """a [K, …] indexed by member rows (K = out of range → 0 / False) and, if given, unit cols on axis ``cols[0]``."""
    idx = jnp.asarray(rows)
    if cols is None:
        return jnp.take(a, idx, axis=0, mode="fill", fill_value=0)
    axis, units = cols
    moved = jnp.moveaxis(a, axis, 1)  # [K, units, …]
    out = moved.at[idx, jnp.asarray(units)].get(mode="fill", fill_value=0)  # [U, H, …]
    return out


def _scatter(a, values, rows, cols=None):
    """Inverse of :func:`_gather`: writes ``values`` back into ``a`` (out-of-range rows are dropped)."""
    idx = jnp.asarray(rows)
    if cols is None:
        return a.at[idx].set(values, mode="drop")
    axis, units = cols
    moved = jnp.moveaxis(a, axis, 1).at[idx, jnp.asarray(units)].set(values, mode="drop")
    return jnp.moveaxis(moved, 1, axis)


def _finite(a):
    return jnp.where(jnp.isfinite(a), a, 0.0)


def _block(w2, seg):
    """The block-diagonal output kernel [H, G·C]: unit j feeds only its own slot's C logits."""
    return (w2[:, None, :] * seg[:, :, None]).reshape(w2.shape[0], -1)


def _forward(params, x, seg, use_bias: bool):
    """One packed group's forward pass (see :func:`group_gradients` for the shapes): (pre-activations z [B, H],
    active [B, H], hidden h [B, H], block kernel [H, G·C], logits [G, C, B])."""
    b, g = x.shape[0], seg.shape[1]
    c = params["w2"].shape[1]
    z = x.reshape(b, -1) @ params["w1"]  # [B, H]
    if use_bias:
        z = z + params["b1"]
    active = z > 0
    h = jnp.where(active & (z < jnp.inf), z, 0.0)  # relu with NaN / inf entered as 0
    kernel = _block(_finite(params["w2"]), seg)  # [H, G·C]
    logits = jnp.moveaxis((h @ kernel).reshape(b, g, c), 0, -1)  # [G, C, B]
    if use_bias:
        logits = logits + params["b2"][:, :, None]
    return z, active, h, kernel, logits


def group_gradients(params, x, y, valid, seg, use_bias: bool):
    """Per-slot losses and the gradient of their sum for one packed group, derived by hand.

    params {w1 [D, H], w2 [H, C], b1 [H], b2 [G, C]} (already masked); x [B, D]; y [G, B] int32;
    valid [B] bool; seg [H, G] one-hot slot of every hidden unit. Returns (grads like params,
    losses [G]: each slot's mean cross-entropy over the valid examples).

    The output layer is one [B, H] × [H, G·C] product with the block-diagonal kernel; its backward
    pass is two more products. Written out instead of differentiated: the step is then exactly
    three small products and the two first-layer ones, with no transposes or masks that automatic
    differentiation of the masked loss adds (a small-width step took ~18 % longer with them on XLA:CPU).

    A diverged member must not reach the others through the zeros of the block kernel (0 · inf =
    NaN): non-finite activations and output weights enter the products as 0, the slot of a unit
    with a non-finite activation or output weight gets a NaN loss, and non-finite logit gradients
    are dropped.
    Finite inputs give the plain gradient.
    """
    b, g = x.shape[0], seg.shape[1]
    c = params["w2"].shape[1]
    z, active, h, kernel, logits = _forward(params, x, seg, use_bias)
    bad_unit = ~(jnp.all(jnp.isfinite(jnp.maximum(z, 0.0)), axis=0) & jnp.all(jnp.isfinite(params["w2"]), axis=1))
    top = jnp.max(logits, axis=1, keepdims=True)
    e = jnp.exp(logits - top)
    total = jnp.sum(e, axis=1, keepdims=True)
    onehot = y[:, None, :] == jnp.arange(c)[None, :, None]  # [G, C, B]
    ce = (jnp.log(total) + top)[:, 0] - jnp.sum(jnp.where(onehot, logits, 0.0), axis=1)  # [G, B]
    w = valid.astype(h.dtype) / jnp.maximum(jnp.sum(valid), 1).astype(h.dtype)
    bad = (bad_unit.astype(h.dtype) @ seg) > 0  # [G]
    losses = jnp.where(bad, jnp.nan, jnp.sum(ce * w, axis=1))
    d = _finite((e / total - onehot) * w)  # [G, C, B]: d loss_sum / d logits
    d2 = jnp.moveaxis(d, -1, 0).reshape(b, g * c)  # [B, G·C]
    dz = jnp.where(active, d2 @ kernel.T, 0.0)  # [B, H]
    # [G·C, B] × [B, H] kept in this orientation (the barrier): XLA:CPU runs the transposed
    # product, [H, B] × [B, G·C], several times slower when G·C is small (P = 500 + 1000: 1.3×
    # the whole step).
    dw2 = jax.lax.optimization_barrier(d.reshape(g * c, b) @ h).reshape(g, c, -1)  # [G, C, H]
    grads = {"w1": x.reshape(b, -1).T @ dz, "w2": jnp.sum(dw2 * seg.T[:, None, :], axis=0).T}
    if use_bias:
        grads["b1"] = jnp.sum(dz, axis=0)
        grads["b2"] = jnp.sum(d, axis=2)
    return grads, losses


class PackedProgram:
    """The jitted chunk function of a packed bucket (see the module docstring).

    ``run(packed, x_train, labels, slot_labels, idx)``: packed state from :meth:`pack`;
    x_train [N, D]; labels [L, N] int32; slot_labels [U, G] int32 (each slot's label set);
    idx [S, U, B] int32, or [S, B] with a shared order (−1 = padding). Returns (packed state, losses [S, U, G]).
    """

    def __init__(self, plan: PackPlan, tx: optax.GradientTransformation, lr_schedule, use_bias: bool,
                 shared_order: bool = False):
        self.plan, self.tx, self.lr_schedule, self.use_bias = plan, tx, lr_schedule, use_bias
        self.shared_order = shared_order
        self.run = jax.jit(self._run, donate_argnums=0)
        self.run_with_curves = jax.jit(self._run_with_curves, donate_argnums=0, static_argnums=5)
        self.pack = jax.jit(self._pack)
        self.unpack = jax.jit(self._unpack)

    # -- layout ---------------------------------------------------------------------------
    def _tree(self, tree):
        """Packs a params- or masks-shaped tree: {w1 [U, D, H], w2 [U, H, C], b1 [U, H], b2 [U, G, C]}."""
        p = self.plan
        out = {"w1": jnp.swapaxes(_gather(tree["dense_0"]["kernel"], p.col_member, (2, p.col_unit)), 1, 2),
               "w2": _gather(tree["dense_1"]["kernel"], p.col_member, (1, p.col_unit))}
        if self.use_bias:
            out["b1"] = _gather(tree["dense_0"]["bias"], p.col_member, (1, p.col_unit))
            out["b2"] = _gather(tree["dense_1"]["bias"], p.slot_member)
        return out

    def _untree(self, tree, packed):
        p = self.plan
        out = {"dense_0": {"kernel": _scatter(tree["dense_0"]["kernel"], jnp.swapaxes(packed["w1"], 1, 2),
                                              p.col_member, (2, p.col_unit))},
               "dense_1": {"kernel": _scatter(tree["dense_1"]["kernel"], packed["w2"], p.col_member, (1, p.col_unit))}}
        if self.use_bias:
            out["dense_0"]["bias"] = _scatter(tree["dense_0"]["bias"], packed["b1"], p.col_member, (1, p.col_unit))
            out["dense_1"]["bias"] = _scatter(tree["dense_1"]["bias"], packed["b2"], p.slot_member)
        return out

    def _pack(self, pop: Population) -> dict:
        first = jnp.asarray(self.plan.slot_member[:, 0])  # every member of a group is at the same step
        masked = jax.tree.map(lambda a, m: a * m.astype(a.dtype), pop.params, pop.masks)  # pruned weights stay 0 after
        return {"params": self._tree(masked), "masks": self._tree(pop.masks),
                "step": pop.step[first], "finite": _gather(pop.finite, self.plan.slot_member).astype(bool)}

    def _unpack(self, packed: dict, pop: Population) -> Population:
        p = self.plan
        finite = packed["finite"][p.member_group, p.member_slot] & pop.finite
        return pop.replace(params=self._untree(pop.params, packed["params"]),
                           step=packed["step"][p.member_group], finite=finite)

    # -- training -------------------------------------------------------------------------
    def _group_step(self, params, masks, step, finite, x, y, valid):
        seg = jax.nn.one_hot(jnp.asarray(self.plan.col_slot[0]), self.plan.slots, dtype=x.dtype)  # [H, G]
        grads, losses = group_gradients(params, x, y, valid, seg, self.use_bias)
        direction, _ = self.tx.update(grads, self.tx.init(params), params)
        lr = self.lr_schedule(step)
        params = jax.tree.map(lambda p, u, m: p - lr * (u * m.astype(p.dtype)), params, direction, masks)
        return params, step + 1, finite & jnp.isfinite(losses), losses

    def _run(self, packed: dict, x_train, labels, slot_labels, idx):
        if self.shared_order:  # every group reads the same batch (measured: faster gathered per group
            idx = jnp.broadcast_to(idx[:, None], (idx.shape[0], self.plan.groups, idx.shape[1]))  # than broadcast)

        def body(state, idx_s):  # idx_s [U, B]
            valid = idx_s >= 0
            safe = jnp.maximum(idx_s, 0)
            xb = x_train[safe]  # [U, B, D]: one gather per group
            yb = jax.vmap(lambda ls, s: labels[ls[:, None], s[None, :]])(slot_labels, safe)  # [U, G, B]
            step = jax.vmap(self._group_step)
            params, stepc, finite, losses = step(state["params"], state["masks"], state["step"], state["finite"],
                                                 xb, yb, valid)
            return {**state, "params": params, "step": stepc, "finite": finite}, losses

        return jax.lax.scan(body, packed, idx)

    def logits_of(self, packed: dict):
        """x [B, D] → logits [K, B, C] of every member from the packed state (members whose training diverged:
        NaN, as their own forward pass gives)."""
        p = self.plan
        seg = jax.nn.one_hot(jnp.asarray(p.col_slot[0]), p.slots, dtype=jnp.float32)  # [H, G]
        finite = packed["finite"][p.member_group, p.member_slot]  # [K]

        def logits(x):
            out = jax.vmap(lambda params: _forward(params, x, seg, self.use_bias)[-1])(packed["params"])  # [U, G, C, B]
            mine = jnp.moveaxis(out[p.member_group, p.member_slot], -1, 1)  # [K, B, C]
            return jnp.where(finite[:, None, None], mine, jnp.nan)

        return logits

    def _run_with_curves(self, packed: dict, x_train, labels, slot_labels, idx, every, start, batches):
        """:meth:`run` measuring learning curves inside the program (see ``scan_with_curves``)."""
        steps = lambda st, ix: self._run(st, x_train, labels, slot_labels, ix)  # noqa: E731
        return scan_with_curves(steps, self.logits_of, packed, idx, start, every, batches)
