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


def test_pinsker_steps_against_a_pair_by_pair_computation():
    pairs = zoo.distribution_pairs(3, seed=2, vocab_sizes=(2, 7), alphas=(0.5,), kappas=(100.0,))
    table = zoo.pinsker_steps(pairs)
    assert list(table.columns) == ["source", "l1", "kl", "a", "b", "k_ab"] and len(table) == 12
    row = 0
    for source, p, q in pairs:
        for x, y in zip(p, q):
            a = sum(pw for pw, qw in zip(x, y) if pw > qw)
            b = sum(qw for pw, qw in zip(x, y) if pw > qw)
            kl = float(torch.nn.functional.kl_div(torch.tensor(y).log(), torch.tensor(x), reduction="sum"))
            expected = {"l1": sum(abs(x - y)), "kl": kl, "a": a, "b": b,
                        "k_ab": a * np.log(a / b) + (1 - a) * np.log((1 - a) / (1 - b))}
            assert table.source[row] == source
            for name, value in expected.items():
                assert table[name][row] == pytest.approx(value, rel=1e-9, abs=1e-12), name
            row += 1
    # the proof's three steps hold on every row
    assert np.allclose(table.l1, 2 * (table.a - table.b))
    assert (table.kl >= table.k_ab - 1e-12).all() and (table.k_ab >= 2 * (table.a - table.b) ** 2 - 1e-12).all()


def test_pinsker_steps_of_identical_distributions_are_zero():
    p = np.array([[0.2, 0.3, 0.5]])
    row = zoo.pinsker_steps([("same", p, p.copy())]).iloc[0]
    assert (row.l1, row.kl, row.a, row.b, row.k_ab) == (0, 0, 0, 0, 0)


def test_pinsker_steps_checks_its_inputs():
    p = np.array([[0.5, 0.5]])
    with pytest.raises(ValueError, match="one shape"):
        zoo.pinsker_steps([("x", p, np.array([[0.2, 0.3, 0.5]]))])
    with pytest.raises(ValueError, match="positive"):
        zoo.pinsker_steps([("x", p, np.array([[1.0, 0.0]]))])
    with pytest.raises(ValueError, match="empty"):
        zoo.pinsker_steps([])


def test_corpus_estimates_against_numpy(world):
    models = {"truth": world.p_star.log(), "uniform": torch.full((30, 20), -np.log(20), dtype=torch.float64)}
    table = zoo.corpus_estimates(world, models, [50, 400], seed=7)
    assert list(table.columns) == ["n", "model", "estimate", "se"]
    assert list(table.n) == [50, 50, 400, 400] and list(table.model) == ["truth", "uniform"] * 2
    for i, n in enumerate([50, 400]):
        contexts, words = world.sample(n, seed=7 + i)
        losses = -np.log(world.p_star.numpy()[contexts.numpy(), words.numpy()])
        truth = table[(table.n == n) & (table.model == "truth")].iloc[0]
        assert truth.estimate == pytest.approx(losses.mean(), rel=1e-12)
        assert truth.se == pytest.approx(losses.std(ddof=1) / np.sqrt(n), rel=1e-12)
    uniform = table[table.model == "uniform"]
    assert np.allclose(uniform.estimate, np.log(20)) and np.allclose(uniform.se, 0)


def test_corpus_estimates_checks_its_inputs(world):
    with pytest.raises(ValueError, match="shape"):
        zoo.corpus_estimates(world, {"m": world.p_star[:5].log()}, [10])
    with pytest.raises(ValueError, match="log-probabilities"):
        zoo.corpus_estimates(world, {"m": world.p_star}, [10])
    with pytest.raises(ValueError, match="n_grid"):
        zoo.corpus_estimates(world, {"m": world.p_star.log()}, [1])
    with pytest.raises(TypeError, match="world must be a synthetic.World"):
        zoo.corpus_estimates(world.p_star, {"m": world.p_star.log()}, [10])
