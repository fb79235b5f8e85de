"""Latent geometry of a classifier (docs/science.md §8; study B, section 5): split a model into an encoder and its
last linear layer, then describe every sample by angles to the class directions, feature length and
margin. Pure functions of arrays; jittable and vmappable over a model axis.

The split is generic over the registered families: :func:`features` runs the model once (eval mode)
with a Flax method interceptor that records every ``nn.Dense`` call; the *last* one is the head, its
input the feature vector X [B, d], and its output must be the very array the model returns (so the
head's output is the logits). A model whose output is not the output of a final linear layer raises
``ValueError("model: <name> has no final linear layer")``.

Conventions of :func:`measures`:
* angles are in degrees; cos θ is clipped to [−1, 1], and a zero feature vector or a zero class row
  (pruned away) has cos θ := 0, i.e. θ = 90° (no direction: neither towards nor away);
* margin (B, eq. 5, affine form): with i the predicted class, min over j ≠ i of
  |(W_i − W_j)·X + (b_i − b_j)| / ‖W_i − W_j‖, negated when the prediction is wrong. When
  W_i = W_j the pair has no boundary in feature space: if b_i = b_j the two classes tie everywhere
  (distance 0); otherwise the order of i and j never changes and the pair is left out of the min
  (distance +inf). A model with one class, or with every other row equal to W_i, has margin ±inf.
"""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from lottery.models import forward


def _capture(module, call):
    """Runs ``call()`` recording every nn.Dense call; returns (output, (path, input, output) of the last Dense or None)."""
    seen = []

    def interceptor(next_fun, args, kwargs, context):
        out = next_fun(*args, **kwargs)
        if isinstance(context.module, nn.Dense) and context.method_name == "__call__":
            seen.append(("/".join(context.module.path), args[0], out))
        return out

    with nn.intercept_methods(interceptor):
        out = call()
    last = seen[-1] if seen else None
    if last is None or last[2] is not out or last[1].ndim != 2:
        raise ValueError(f"model: {type(module).__name__} has no final linear layer")
    return out, last


def features(module, params, stats, x):
    """(feats [B, d], logits [B, C]) of ONE model in eval mode: feats is the input of the final linear layer.

    params, stats: flat variables of one model (stats {} without batch-norm); x [B, *input].
    ValueError (one line) if the model's output does not come from a final nn.Dense.
    """
    out, (_, feats, _) = _capture(module, lambda: forward.logits(module, params, stats, x, train=False)[0])
    return feats, out


def head_name(module, params, input_shape) -> str:
    """Flat name (``"head"``, ``"dense_2"`` …) of the final linear layer, found by tracing the module
    abstractly on one example of ``input_shape`` (nothing is computed). ValueError as :func:`features`."""
    x = jax.ShapeDtypeStruct((1, *tuple(input_shape)), jnp.float32)
    names = []

    def trace(x):
        out, (name, _, _) = _capture(module, lambda: module.init_with_output(jax.random.PRNGKey(0), x)[0])
        names.append(name)
        return out

    jax.eval_shape(trace, x)
    name = names[0]
    if name not in params or "kernel" not in params[name]:
        raise ValueError(f"model: {type(module).__name__}: final linear layer {name!r} is not in the params")
    return name


def head(params, name):
    """(W [C, d], b [C] or None) of the linear layer ``name`` (its kernel is [d, C])."""
    layer = params[name]
    return layer["kernel"].T, layer.get("bias")


def _safe_cos(a, b, dots):
    """dots / (‖a‖ ‖b‖) clipped to [−1, 1], 0 where either norm is 0; a [..., d] rows, b [C, d]."""
    na = jnp.linalg.norm(a, axis=-1)[:, None]
    nb = jnp.linalg.norm(b, axis=-1)[None, :]
    denom = na * nb
    return jnp.clip(jnp.where(denom > 0, dots / jnp.where(denom > 0, denom, 1.0), 0.0), -1.0, 1.0)


def angles_deg(feats, W):
    """Angles [B, C] in degrees between every feature vector feats [B, d] and every class row W [C, d]."""
    return jnp.degrees(jnp.arccos(_safe_cos(feats, W, feats @ W.T)))


def measures(feats, W, b, labels) -> dict:
    """Per-sample geometry: feats [B, d], W [C, d], b [C] or None, labels [B] int → dict of

    angles [B, C] (degrees), angle_own [B] (to the true class), length [B] (‖X‖), pred [B] int32,
    correct [B] bool, prob [B, C] (softmax of X·Wᵀ + b), prob_own [B], margin [B] (signed; see the
    module docstring for the affine form and the W_i = W_j convention).
    """
    labels = jnp.asarray(labels).astype(jnp.int32)
    bias = jnp.zeros(W.shape[0], feats.dtype) if b is None else b
    logits = feats @ W.T + bias
    angles = angles_deg(feats, W)
    pred = jnp.argmax(logits, axis=-1).astype(jnp.int32)
    correct = pred == labels
    prob = jax.nn.softmax(logits, axis=-1)
    rows = jnp.arange(feats.shape[0])

    # Distance to the boundary between the predicted class i and every j: |gap_ij| / ‖W_i − W_j‖.
    gap = logits[rows, pred][:, None] - logits  # [B, C], (W_i − W_j)·X + (b_i − b_j)
    dW = jnp.linalg.norm(W[pred][:, None, :] - W[None, :, :], axis=-1)  # [B, C]
    dist = jnp.where(dW > 0, jnp.abs(gap) / jnp.where(dW > 0, dW, 1.0), jnp.where(gap == 0, 0.0, jnp.inf))
    dist = jnp.where(jnp.arange(W.shape[0])[None, :] == pred[:, None], jnp.inf, dist)
    margin = jnp.min(dist, axis=-1)
    return {
        "angles": angles,
        "angle_own": angles[rows, labels],
        "length": jnp.linalg.norm(feats, axis=-1),
        "pred": pred,
        "correct": correct,
        "prob": prob,
        "prob_own": prob[rows, labels],
        "margin": jnp.where(correct, margin, -margin),
    }


SUMMARISED = ("angle_own", "length", "margin")


def class_summary(m: dict, labels, num_classes: int, fill: float = 0.0) -> dict:
    """Per-class statistics [C] of the measures ``m`` (from :func:`measures`) for samples of true class c:

    count, correct_count, incorrect_count (int32), accuracy, and for each of angle_own, length,
    margin: ``{name}_mean_correct``, ``{name}_std_correct``, ``{name}_mean_incorrect``,
    ``{name}_std_incorrect`` (population std, ddof 0). A statistic over no samples (an empty class,
    or a class with no correct / no incorrect sample) is ``fill`` (0.0) — never NaN; the counts tell
    which entries are real.
    """
    labels = jnp.asarray(labels).astype(jnp.int32)
    correct = jnp.asarray(m["correct"])
    onehot = jax.nn.one_hot(labels, num_classes, dtype=jnp.float32)  # [B, C]
    out = {"count": onehot.sum(0).astype(jnp.int32)}
    for tag, sel in (("correct", correct), ("incorrect", ~correct)):
        w = onehot * sel[:, None]  # [B, C]
        n = w.sum(0)
        out[f"{tag}_count"] = n.astype(jnp.int32)
        safe_n = jnp.where(n > 0, n, 1.0)
        for name in SUMMARISED:
            v = jnp.asarray(m[name], jnp.float32)
            v = jnp.where(sel, v, 0.0)  # keeps an inf of the other group out of the sums
            mean = (w * v[:, None]).sum(0) / safe_n
            var = (w * (v[:, None] - mean[None, :]) ** 2).sum(0) / safe_n
            out[f"{name}_mean_{tag}"] = jnp.where(n > 0, mean, fill)
            out[f"{name}_std_{tag}"] = jnp.where(n > 0, jnp.sqrt(var), fill)
    count = out["count"]
    out["accuracy"] = jnp.where(count > 0, out["correct_count"] / jnp.where(count > 0, count, 1), fill)
    return out


# Delta categories of a sample between model a and model b.
CORRECT_CORRECT, CORRECT_WRONG, WRONG_CORRECT, WRONG_WRONG = 0, 1, 2, 3
CATEGORY_NAMES = ("correct→correct", "correct→wrong", "wrong→correct", "wrong→wrong")


def delta_categories(correct_a, correct_b):
    """int8 [N]: 0 correct→correct, 1 correct→wrong, 2 wrong→correct, 3 wrong→wrong (from a to b)."""
    a = jnp.asarray(correct_a, bool)
    b = jnp.asarray(correct_b, bool)
    return (2 * (~a).astype(jnp.int8) + (~b).astype(jnp.int8)).astype(jnp.int8)


def deltas(m_a: dict, m_b: dict) -> dict:
    """Changes from model a to model b on the same samples: ``angle_own``, ``length``, ``margin`` [N]
    as b − a, and ``category`` [N] int8 (:func:`delta_categories`)."""
    out = {name: jnp.asarray(m_b[name]) - jnp.asarray(m_a[name]) for name in SUMMARISED}
    out["category"] = delta_categories(m_a["correct"], m_b["correct"])
    return out
