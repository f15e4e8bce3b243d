"""lmtheory.logistic: the per-context loss of chapter 4 and the held-out loss of chapter 5."""

from __future__ import annotations

import math

import pytest
import torch

from lmtheory import synthetic
from lmtheory.logistic import binary_entropy, expected_logistic_loss, held_out_logistic_loss, per_context_logistic_loss

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
