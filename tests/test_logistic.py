"""lmtheory.logistic: the bounded fits of chapter 2, the per-context loss of chapter 4 and the held-out
loss of chapter 5."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lmtheory import synthetic
from lmtheory.logistic import (binary_entropy, expected_logistic_loss, fit_bias, fit_bounded, fit_logistic,
                               held_out_logistic_loss, logistic_objective, per_context_logistic_loss)

DT = torch.float64


def test_per_context_loss_values():
    z = torch.tensor([0.0, 2.0, -1.0], dtype=DT)
    q = torch.tensor([0.5, 1.0, 0.0], dtype=DT)
    expected = torch.tensor([math.log(2), math.log1p(math.exp(-2)), math.log1p(math.exp(-1))], dtype=DT)
    assert torch.allclose(per_context_logistic_loss(z, q), expected, atol=1e-14)


def test_per_context_loss_is_least_at_the_log_odds_and_averages_to_the_expected_loss():
    q = torch.tensor([0.1, 0.5, 0.9], dtype=DT)
    log_odds = torch.log(q / (1 - q))
    assert torch.allclose(per_context_logistic_loss(log_odds, q), binary_entropy(q), atol=1e-14)
    for shift in (-0.5, 0.5):  # any other score costs more
        assert (per_context_logistic_loss(log_odds + shift, q) > binary_entropy(q)).all()
    z = torch.tensor([0.3, -2.0, 5.0], dtype=DT)
    w = torch.tensor([0.2, 0.3, 0.5], dtype=DT)
    expected = float(expected_logistic_loss(z, q, w))
    assert float(w @ per_context_logistic_loss(z, q)) == pytest.approx(expected, abs=1e-14)


def test_per_context_loss_is_1_lipschitz_in_the_score():
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(200, generator=g, dtype=DT) * 5, torch.randn(200, generator=g, dtype=DT) * 5
    q = torch.rand(200, generator=g, dtype=DT)
    gap = (per_context_logistic_loss(z1, q) - per_context_logistic_loss(z2, q)).abs()
    assert (gap <= (z1 - z2).abs() + 1e-12).all()


def test_per_context_loss_refuses_bad_input():
    z = torch.zeros(3, dtype=DT)
    with pytest.raises(ValueError, match=r"one entry is 1\.5; allowed: \[0, 1\]"):
        per_context_logistic_loss(z, torch.tensor([0.2, 1.5, 0.3], dtype=DT))
    with pytest.raises(ValueError, match="shape"):
        per_context_logistic_loss(z, torch.full((2,), 0.5, dtype=DT))
    with pytest.raises(ValueError, match="scores"):
        per_context_logistic_loss(torch.tensor([0.0, float("nan"), 1.0], dtype=DT), torch.full((3,), 0.5, dtype=DT))


@pytest.fixture(scope="module")
def world():
    return synthetic.make_world(n_contexts=60, vocab_size=40, dim=8, seed=0)


@pytest.fixture(scope="module")
def task(world):
    return synthetic.make_task(world, B=8.0, gamma=0.5)


def test_held_out_loss_is_reproducible_and_above_the_noise_floor(world, task):
    mean, std = held_out_logistic_loss(world.p_star @ world.Phi.T, task.q, task.p_T, n_splits=3)
    assert (mean, std) == held_out_logistic_loss(world.p_star @ world.Phi.T, task.q, task.p_T, n_splits=3)
    floor = float(-(task.q * task.q.log() + (1 - task.q) * (1 - task.q).log()).min())
    assert mean > floor - 1e-9 and std >= 0
    single = held_out_logistic_loss(world.p_star @ world.Phi.T, task.q, task.p_T, n_splits=1)
    assert single[1] == 0.0


def test_held_out_loss_rejects_bad_inputs(world, task):
    features = world.p_star @ world.Phi.T
    with pytest.raises(ValueError, match="n_splits = 0 is outside"):
        held_out_logistic_loss(features, task.q, task.p_T, n_splits=0)
    with pytest.raises(TypeError, match="n_splits must be an integer"):
        held_out_logistic_loss(features, task.q, task.p_T, n_splits="5")
    with pytest.raises(ValueError, match="weights must sum to 1"):
        held_out_logistic_loss(features, task.q, 2 * task.p_T)
    with pytest.raises(ValueError, match=r"features must be \(N, k\)"):
        held_out_logistic_loss(features[:, 0], task.q, task.p_T)
    with pytest.raises(ValueError, match="N >= 4"):
        held_out_logistic_loss(features[:3], task.q[:3], torch.full((3,), 1 / 3, dtype=features.dtype))


def _sample(seed: int, n: int = 300, k: int = 5):
    """Features, soft labels and weights of a random problem (labels from a noisy linear rule)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, k))
    q = (X @ rng.normal(size=k) + 0.3 * rng.normal(size=n) > 0).astype(float) * 0.8 + 0.1
    return X, q, rng.dirichlet(np.ones(n))


@pytest.mark.parametrize("seed", range(5))
def test_fit_bounded_is_the_least_loss_in_the_box(seed):
    """No feasible point near the answer, or in the box at random, has a lower loss (convexity)."""
    X, q, w = _sample(seed)
    B = 0.3
    v, b, loss = fit_bounded(X, q, B, w)
    objective = logistic_objective(X, q, w)
    assert np.abs(v).max() <= B + 1e-12 and abs(objective(np.append(v, b))[0] - loss) < 1e-12
    assert np.isclose(np.abs(v), B).any(), "B = 0.3 is tight on these problems: some weight sits on the edge"
    rng = np.random.default_rng(100 + seed)
    for _ in range(200):
        step = rng.normal(size=len(v)) * 10 ** rng.uniform(-4, -1)
        other = np.clip(v + step, -B, B)
        assert objective(np.append(other, b + rng.normal() * 1e-2))[0] >= loss - 1e-10
        random_point = rng.uniform(-B, B, size=len(v))
        assert objective(np.append(random_point, rng.normal()))[0] >= loss - 1e-10


def test_fit_bounded_with_a_loose_box_is_the_unconstrained_fit():
    X, q, w = _sample(7)
    coef, bias, best = fit_logistic(torch.from_numpy(X), torch.from_numpy(q), torch.from_numpy(w))
    v, b, loss = fit_bounded(X, q, B=float(coef.abs().max()) * 10, weights=w)
    assert abs(loss - best) < 1e-8 and np.abs(v - coef.numpy()).max() < 1e-3


def test_fit_bounded_with_huge_B_on_tiny_features():
    """Chapter 2's case: features ~1e-5 and B up to 1e7 (the fit runs on v / B, so it still converges)."""
    X, q, _ = _sample(3, k=2)
    small = X * 1e-5
    losses = [fit_bounded(small, q, B)[2] for B in (1.0, 1e3, 1e5, 1e7)]
    assert abs(losses[0] - fit_bias(np.zeros(len(q)), q)[1]) < 1e-6  # B = 1: no better than a bias alone
    assert all(later <= earlier + 1e-8 for earlier, later in zip(losses, losses[1:])), losses
    assert abs(losses[-1] - fit_bounded(X, q, 100.0)[2]) < 1e-6  # the same problem at another scale


def test_fit_bias_is_the_best_bias():
    X, q, w = _sample(4, k=1)
    scores = 3 * X[:, 0]
    b, loss = fit_bias(scores, q, w)
    objective = logistic_objective(scores[:, None], q, w)
    assert abs(objective(np.array([1.0, b]))[0] - loss) < 1e-12
    for shift in (-0.1, -1e-3, 1e-3, 0.1):
        assert objective(np.array([1.0, b + shift]))[0] >= loss - 1e-12
    assert abs(fit_bias(np.full(4, 5.0), np.array([1.0, 1.0, 0.0, 0.0]))[1] - math.log(2)) < 1e-9


def test_bounded_fits_refuse_bad_input():
    X, q, w = _sample(0)
    with pytest.raises(ValueError, match="B"):
        fit_bounded(X, q, 0.0)
    with pytest.raises(ValueError, match=r"X must be \(n, k\)"):
        fit_bounded(X[:, 0], q, 1.0)
    with pytest.raises(ValueError, match=r"q and weights \(n,\)"):
        fit_bounded(X, q[:-1], 1.0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fit_bounded(X, 2 * q, 1.0)
    with pytest.raises(ValueError, match=r"q and weights \(n,\)"):
        fit_bias(X[:, 0], q, w[:-1])
