"""A training strategy defined here trains a bucket through ``BucketTrainer``: the worked example of
ARCHITECTURE.md's "Adding a training strategy" (one Strategy subclass + its class in STRATEGIES)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lottery import configs
from lottery.data import gmm
from lottery.models import registry as model_registry
from lottery.train import strategies
from lottery.train.state import Member
from lottery.train.strategies.vmapped import VmappedScan
from lottery.train.trainer import BucketTrainer


class Halves(VmappedScan):
    """The population as two vmapped halves, each scanned on its own (members are independent, so each half
    must train as it does in the whole population)."""

    name = "halves"
    used = 0

    @classmethod
    def applies(cls, bucket) -> bool:
        return len(bucket.members) % 2 == 0 and not bucket.shared_order

    def chunk(self, pop, idx):
        Halves.used += 1
        b = self.bucket
        k = len(b.members) // 2
        out = []
        for part in (slice(0, k), slice(k, None)):
            half = jax.tree.map(lambda a: a[part], pop)
            out.append(self._run(half, b.x_train, b.labels, b.label_set[part], idx[:, part], None))
        state = jax.tree.map(lambda a, c: jnp.concatenate([a, c]), out[0][0], out[1][0])
        return state, jnp.concatenate([out[0][1], out[1][1]], axis=1)


def bucket(widths=(3, 5), seeds=(0, 1)):
    c = configs.base()
    c.train.epochs, c.train.batch_size, c.train.pack = 3, 16, False
    x, y = gmm.sample(gmm.linear(6, 1.0), jax.random.PRNGKey(0), 64)
    members = [Member(w, s) for w in widths for s in seeds]
    return BucketTrainer(model_registry.get("gmm_fcn"), x, jnp.asarray(y, jnp.int32)[None], members, c.train, c.optimizer, 2)


def test_a_registered_strategy_is_chosen_and_trains_like_the_default(monkeypatch):
    default = bucket()
    assert isinstance(default.strategy, VmappedScan) and default.strategy.name == "vmapped"
    monkeypatch.setattr(strategies, "STRATEGIES", (Halves, *strategies.STRATEGIES))
    mine = bucket()
    assert isinstance(mine.strategy, Halves) and mine.chunk == default.chunk
    a, la, _ = default.train(default.init(), 0, default.total_steps)
    b, lb, _ = mine.train(mine.init(), 0, mine.total_steps)
    assert Halves.used == default.total_steps // default.chunk
    assert la.shape == lb.shape == (default.total_steps, 4)
    np.testing.assert_allclose(la, lb, rtol=1e-5, atol=1e-6)
    for x, y in zip(jax.tree.leaves(a.params), jax.tree.leaves(b.params)):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("pack,expected", [(True, "packed"), (False, "vmapped")])
def test_the_factory_takes_the_first_strategy_that_applies(pack, expected):
    c = configs.base()
    c.train.pack, c.optimizer.momentum = pack, 0.0  # plain SGD: a packable optimizer
    x, y = gmm.sample(gmm.linear(6, 1.0), jax.random.PRNGKey(0), 32)
    t = BucketTrainer(model_registry.get("gmm_fcn"), x, jnp.asarray(y, jnp.int32)[None], [Member(2, 0), Member(3, 0)], c.train, c.optimizer, 2)
    assert t.strategy.name == expected
