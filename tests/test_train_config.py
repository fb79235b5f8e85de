"""Schedules, bucketing and run ids against closed forms."""
import math

import numpy as np

from lottery import api, configs, studies
from lottery.train import buckets, optim


def sched(**kw):
    c = configs.base().optimizer
    for k, v in kw.items():
        setattr(c, k, v)
    return c


def test_step_schedule_drops_at_milestones():
    f = optim.schedule(sched(schedule="step", lr=0.1, milestones=(80, 120), gamma=0.1), steps_per_epoch=10, epochs=160)
    for epoch, lr in [(0, 0.1), (79, 0.1), (80, 0.01), (119, 0.01), (120, 0.001), (159, 0.001)]:
        np.testing.assert_allclose(float(f(epoch * 10)), lr, rtol=1e-6)


def test_cosine_and_warmup_closed_forms():
    f = optim.schedule(sched(schedule="cosine", lr=0.2, warmup_epochs=2), steps_per_epoch=5, epochs=12)
    warm, total = 10, 60
    for t in (0, 4, 9):
        np.testing.assert_allclose(float(f(t)), 0.2 * t / warm, rtol=1e-6, atol=1e-9)
    for t in (10, 25, 59):
        expected = 0.2 * 0.5 * (1 + math.cos(math.pi * (t - warm) / (total - warm)))
        np.testing.assert_allclose(float(f(t)), expected, rtol=1e-5, atol=1e-7)


def test_buckets_group_widths_within_ratio():
    plan = buckets.plan([1, 3, 5, 8, 10, 15, 20, 25, 50, 100, 200, 500, 1000, 10000], ratio=2.0, small=32)
    assert plan == [[1, 3, 5, 8, 10, 15, 20, 25], [50, 100], [200], [500, 1000], [10000]]
    for b in plan[1:]:
        assert max(b) <= 2 * min(b)


def test_run_id_ignores_settings_that_do_not_change_results():
    a = studies.defaults("imp")
    b = studies.defaults("imp")
    b.data.data_dir = "/elsewhere"
    b.data.tfds_data_dir = "/prepared"
    b.imp.levels = 40  # more levels extend a run
    assert api.run_id(a) == api.run_id(b)
    # The experiment name is in every row and the evaluation batch changes float summation order.
    for key, value in (("experiment", "renamed"), ("train.eval_batch_size", 7), ("train.epochs", 3)):
        c = studies.defaults("imp")
        section, _, name = key.rpartition(".")
        setattr(c[section] if section else c, name, value)
        assert api.run_id(a) != api.run_id(c), key
