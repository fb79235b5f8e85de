"""The evaluation sets of a population: train and test inputs scored against the noisy and the clean labels, and
for synthetic data the distance to the Bayes posterior on the test set and on a fresh sample."""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from lottery.analysis import posterior_maps
from lottery.data import catalog as data_catalog
from lottery.store import workdir as wd
from lottery.train.eval_set import EvalSet


def for_members(run, members, fresh: dict | None = None) -> list[EvalSet]:
    """[train (noisy, clean), test (clean, noisy) (+ Bayes posterior), fresh (posterior only)] for K members.

    Every member is scored against its own noise draw (``member.label_set``); ``fresh``: :func:`fresh_sample`.
    """
    dataset, sets = run.dataset, run.sets
    ls = np.asarray([m.label_set for m in members])
    k = len(members)
    clean_train = jnp.broadcast_to(dataset.y_train, (k, dataset.train_size))
    clean_test = jnp.broadcast_to(dataset.y_test, (k, dataset.y_test.shape[0]))
    train = EvalSet("train", dataset.x_train, jnp.stack([run.train_labels[ls], clean_train], 1),
                    ("train_noisy", "train_clean"))
    test_labels = jnp.stack([clean_test, run.test_noisy[ls]], 1)
    if dataset.posterior is None:
        return [train, EvalSet("test", dataset.x_test, test_labels, ("test", "test_noisy"))]
    flip = np.asarray([sets[i]["train"].flip_rate for i in ls], np.float32)
    out = [train, EvalSet("test", dataset.x_test, test_labels, ("test", "test_noisy"),
                          target=dataset.posterior(dataset.x_test), flip=flip)]
    if fresh is not None:
        out.append(EvalSet("fresh", fresh["x"], target=dataset.posterior(fresh["x"]), flip=flip,
                           binning=posterior_maps.PosteriorBinning(fresh.get("axis"), fresh.get("cells"))))
    return out


def fresh_sample(run) -> dict | None:
    """The fresh sample of synthetic data ({"x" [F, D], "axis", "cells": (bin index [F], bins)}) with its binning
    along the class-mean axis and on the PCA map of the training inputs; the geometry is recorded in
    DIR/posterior_geometry.json for the report. None for data without a sampler."""
    config, dataset = run.config, run.dataset
    x = data_catalog.fresh_sample(config.data, config.eval.fresh_samples)
    if x is None:
        return None
    mixture = data_catalog.mixture_of(config.data)
    mu = posterior_maps.class_means(mixture.means, mixture.weights)
    xn = np.asarray(x)
    out, geometry = {"x": x}, {}
    t = posterior_maps.axis_position(xn, mu[0], mu[1]) if mixture.num_classes == 2 else None
    if t is not None:
        out["axis"] = (posterior_maps.axis_bins(t), posterior_maps.AXIS_BINS)
        geometry["axis"] = {"range": list(posterior_maps.AXIS_RANGE), "bins": posterior_maps.AXIS_BINS}
    mean, comps = posterior_maps.pca_basis(np.asarray(dataset.x_train))
    coords = (xn - mean) @ comps.T
    lo, hi = np.percentile(coords, 0.5, axis=0), np.percentile(coords, 99.5, axis=0)
    out["cells"] = (posterior_maps.grid_cells(coords, lo, hi), posterior_maps.MAP_GRID ** 2)
    geometry["pca"] = {"lo": lo.tolist(), "hi": hi.tolist(), "grid": posterior_maps.MAP_GRID}
    wd.write_json(run.workdir, "posterior_geometry.json", geometry)
    return out
