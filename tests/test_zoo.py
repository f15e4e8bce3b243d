"""lmtheory.zoo: the test cases of chapter 3, reproducible and of the documented kinds and shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lmtheory import synthetic, zoo


@pytest.fixture(scope="module")
def world():
    return synthetic.make_world(n_contexts=30, vocab_size=20, dim=4, seed=0)


def test_model_zoo_kinds_and_shapes(world):
    models = zoo.model_zoo(world, n_random=6)
    kinds = [kind for kind, _ in models]
    assert kinds == (["random softmax"] * 6 + ["eps-optimal softmax"] * 20 + ["Dirichlet table"] * 20
                     + ["mixture with uniform"] * 5)
    for kind, log_p in models:
        assert log_p.shape == (30, 20) and log_p.dtype == torch.float64
        assert torch.isfinite(log_p).all(), kind
        assert torch.allclose(log_p.exp().sum(-1), torch.ones(30, dtype=torch.float64))
    assert len(zoo.model_zoo(world, n_random=0)) == 45


def test_model_zoo_models_are_what_they_say(world):
    models = zoo.model_zoo(world, n_random=1)
    eps_models = [log_p for kind, log_p in models if kind == "eps-optimal softmax"]
    assert world.excess_loss_any(eps_models[0]) == pytest.approx(1e-4, rel=1e-2)
    assert world.excess_loss_any(eps_models[-1]) == pytest.approx(1.0, rel=1e-2)
    mixture = dict((kind, log_p) for kind, log_p in models)["mixture with uniform"]  # the last: a = 0.9
    assert torch.allclose(mixture.exp(), 0.1 * world.p_star + 0.9 / 20)


def test_model_zoo_is_reproducible(world):
    first, again, other = (zoo.model_zoo(world, 2, seed=s) for s in (3, 3, 4))
    assert all(torch.equal(a, b) for (_, a), (_, b) in zip(first, again))
    assert not torch.equal(first[0][1], other[0][1])


def test_model_zoo_checks_its_inputs(world):
    with pytest.raises(TypeError, match="world must be a synthetic.World"):
        zoo.model_zoo(world.p_star, n_random=2)
    with pytest.raises(ValueError, match="n_random"):
        zoo.model_zoo(world, n_random=-1)
    with pytest.raises((TypeError, ValueError), match="n_random"):
        zoo.model_zoo(world, n_random=2.5)


def test_distribution_pairs_kinds_and_shapes():
    pairs = zoo.distribution_pairs(7, vocab_sizes=(2, 9), alphas=(0.1, 1.0), kappas=(10.0,))
    assert [source for source, _, _ in pairs] == [zoo.INDEPENDENT, zoo.INDEPENDENT, zoo.CLOSE] * 2
    for source, p, q in pairs:
        assert p.shape == q.shape and p.shape[0] == 7 and p.shape[1] in (2, 9)
        for x in (p, q):
            assert (x > 0).all() and np.allclose(x.sum(-1), 1.0)
    assert len(zoo.distribution_pairs(3)) == 4 * (5 + 4)


def test_close_pairs_are_closer():
    def mean_l1(pairs, source):
        return np.mean([np.abs(p - q).sum(-1).mean() for s, p, q in pairs if s == source])

    pairs = zoo.distribution_pairs(50, vocab_sizes=(20,), alphas=(1.0,), kappas=(1000.0,))
    assert mean_l1(pairs, zoo.CLOSE) < 0.2 * mean_l1(pairs, zoo.INDEPENDENT)


def test_distribution_pairs_is_reproducible():
    first, again = zoo.distribution_pairs(4, seed=1), zoo.distribution_pairs(4, seed=1)
    assert all(np.array_equal(a[1], b[1]) and np.array_equal(a[2], b[2]) for a, b in zip(first, again))


def test_distribution_pairs_checks_its_inputs():
    with pytest.raises(ValueError, match="per_cell"):
        zoo.distribution_pairs(0)
    with pytest.raises(ValueError, match="vocab_sizes"):
        zoo.distribution_pairs(3, vocab_sizes=(1, 5))
    with pytest.raises(ValueError, match="alphas"):
        zoo.distribution_pairs(3, alphas=(1.0, 0.0))
    with pytest.raises((TypeError, ValueError), match="kappas"):
        zoo.distribution_pairs(3, kappas=("many",))
