"""Optimizers and learning-rate schedules from the ``optimizer`` config section (optax).

The optimizer here is the *direction* only (weight decay, momentum, Adam scaling); the
step size −lr(t) is applied by the train step from the population's own step counter, so a
rewound run resumes its schedule at step k simply by setting that counter to k.
"""
from __future__ import annotations

import optax

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "step", "cosine")


def direction(cfg) -> optax.GradientTransformation:
    """Gradient → update direction (before −lr).

    sgd:   coupled weight decay g + λw (PyTorch SGD), then momentum (heavy-ball or Nesterov).
    adam:  coupled weight decay then Adam scaling.  adamw: Adam scaling then decoupled λw.
    """
    parts = []
    if cfg.name in ("sgd", "adam") and cfg.weight_decay:
        parts.append(optax.add_decayed_weights(cfg.weight_decay))
    if cfg.name == "sgd":
        if cfg.momentum:
            parts.append(optax.trace(decay=cfg.momentum, nesterov=cfg.nesterov))
    else:
        parts.append(optax.scale_by_adam(b1=cfg.b1, b2=cfg.b2, eps=cfg.eps))
        if cfg.name == "adamw" and cfg.weight_decay:
            parts.append(optax.add_decayed_weights(cfg.weight_decay))
    return optax.chain(*parts) if parts else optax.identity()


def schedule(cfg, steps_per_epoch: int, epochs: int) -> optax.Schedule:
    """Learning rate as a function of the global step.

    constant | step (×gamma at each epoch in ``milestones``) | cosine (to 0 at the end),
    each after ``warmup_epochs`` of linear warm-up from 0.
    """
    warm = int(round(cfg.warmup_epochs * steps_per_epoch))
    total = epochs * steps_per_epoch
    if cfg.schedule == "constant":
        main = optax.constant_schedule(cfg.lr)
    elif cfg.schedule == "step":
        main = optax.piecewise_constant_schedule(
            cfg.lr, {int(m * steps_per_epoch) - warm: cfg.gamma for m in cfg.milestones})
    elif cfg.schedule == "cosine":
        main = optax.cosine_decay_schedule(cfg.lr, max(total - warm, 1))
    else:
        raise ValueError(f"unknown schedule {cfg.schedule!r}")
    if not warm:
        return main
    return optax.join_schedules([optax.linear_schedule(0.0, cfg.lr, warm), main], [warm])
