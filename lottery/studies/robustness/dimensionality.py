"""The curse-of-dimensionality check of a robustness run (docs/science.md §8): angles between random vectors against
their dimension, and of a LeNet-5's clean features to its class directions against the feature width (84·W),
untrained and trained."""
from __future__ import annotations

import jax
import ml_collections
import pandas as pd

from lottery.analysis import dimensionality, geometry
from lottery.models import registry as model_registry
from lottery.studies.robustness.eval_sets import RobustnessEvalSets
from lottery.train.state import Member
from lottery.train.trainer import BucketTrainer, build_bucket


def dimension_table(config, dataset, sets: RobustnessEvalSets, log) -> pd.DataFrame:
    """Rows kind ("random vectors", "lenet5 untrained", "lenet5 trained"), dim, mean, std (degrees): the random
    vectors of ``robustness.random_dims`` (1,000 pairs each, key ``robustness.seed``), then per width of
    ``robustness.dimension_widths`` a LeNet-5 untrained and trained (``train.epochs`` on the run's training set,
    the first seed) on the clean set."""
    r = config.robustness
    rnd = dimensionality.random_angles([int(d) for d in r.random_dims], 1000, jax.random.PRNGKey(int(r.seed)))
    rows = [{"kind": "random vectors", "dim": int(d), "mean": float(m), "std": float(s)}
            for d, m, s in zip(rnd["dim"], rnd["mean"], rnd["std"])]
    spec = model_registry.get("lenet5", (), True, "kaiming_normal")
    c = ml_collections.ConfigDict(config.train.to_dict())
    c.seeds = (int(config.train.seeds[0]),)
    c.shard = False
    for w in r.dimension_widths:
        member = Member(int(w), c.seeds[0], 0)
        trainer = BucketTrainer(build_bucket(spec, dataset.x_train, dataset.y_train[None], [member], c,
                                             config.optimizer, dataset.num_classes, pad_fill=dataset.black))
        pop = trainer.init()
        head = geometry.head_name(trainer.module, jax.tree.map(lambda a: a[0], pop.params), tuple(dataset.input_shape))
        for kind in ("untrained", "trained"):
            if kind == "trained":
                pop, _, _ = trainer.train(pop, 0, trainer.total_steps, lambda *a: None)
            p = jax.tree.map(lambda a: a[0], pop.params)
            s = jax.tree.map(lambda a: a[0], pop.stats)
            feats, _ = geometry.features(trainer.module, p, s, sets.x_clean)
            w_head, _ = geometry.head(p, head)
            mean, std = dimensionality.feature_angles(feats, w_head)
            rows.append({"kind": f"lenet5 {kind}", "dim": int(feats.shape[1]), "mean": float(mean), "std": float(std)})
        log(f"  dimensionality: LeNet-5 W={w} (feature width {rows[-1]['dim']}): untrained {rows[-2]['mean']:.1f}° ± "
            f"{rows[-2]['std']:.1f}°, trained {rows[-1]['mean']:.1f}° ± {rows[-1]['std']:.1f}°")
    return pd.DataFrame(rows, columns=["kind", "dim", "mean", "std"])
