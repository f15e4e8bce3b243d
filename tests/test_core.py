"""The formulas of lmtheory.core, and the inequalities of NOTES.md that need no synthetic world."""

import math

import pytest
import torch

from lmtheory import core
from lmtheory.bounds import pinsker

DT = torch.float64


def random_distributions(n, V, seed, concentration=1.0):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, V, generator=gen, dtype=DT) * concentration
    return torch.softmax(logits, -1)


@pytest.mark.parametrize("concentration", [0.1, 1.0, 3.0, 10.0])
def test_pinsker_holds_on_random_pairs(concentration):
    p = random_distributions(2000, 7, seed=1, concentration=concentration)
    q = random_distributions(2000, 7, seed=2, concentration=concentration)
    l1 = (p - q).abs().sum(-1)
    kl = core.kl_divergence(p, q.log())
    assert (kl >= 0).all()
    assert (l1 <= torch.from_numpy(pinsker(kl.numpy())) + 1e-12).all()


def test_pinsker_is_tight_near_equal_coins():
    p = torch.tensor([0.5, 0.5], dtype=DT)
    q = torch.tensor([0.5 + 1e-3, 0.5 - 1e-3], dtype=DT)
    ratio = float((p - q).abs().sum()) / pinsker(float(core.kl_divergence(p, q.log())))
    assert 0.999 < ratio <= 1


def test_excess_cross_entropy_equals_expected_kl():
    gen = torch.Generator().manual_seed(0)
    for seed in range(20):
        p_star = random_distributions(50, 30, seed, concentration=2.0)
        log_p = torch.log_softmax(torch.randn(50, 30, generator=gen, dtype=DT), -1)
        p_L = torch.softmax(torch.randn(50, generator=gen, dtype=DT), -1)
        excess = core.excess_loss(p_L, p_star, log_p)
        expected_kl = core.expected(p_L, core.kl_divergence(p_star, log_p))
        assert abs(float(excess - expected_kl)) < 1e-12
        assert float(excess) > 0


def test_entropy_between_zero_and_log_v_and_zero_probabilities_are_fine():
    p = random_distributions(100, 12, seed=3)
    h = core.entropy(p)
    assert ((h >= 0) & (h <= math.log(12) + 1e-12)).all()
    one_hot = torch.tensor([0.0, 1.0, 0.0], dtype=DT)
    assert float(core.entropy(one_hot)) == 0
    log_q = torch.tensor([-math.inf, 0.0, -math.inf], dtype=DT)
    assert float(core.cross_entropy(one_hot, log_q)) == 0


def test_grad_log_partition_is_conditional_mean():
    gen = torch.Generator().manual_seed(4)
    Phi = torch.randn(5, 40, generator=gen, dtype=DT)
    theta = torch.randn(8, 5, generator=gen, dtype=DT, requires_grad=True)
    core.log_partition(theta, Phi).sum().backward()
    mean = core.conditional_mean(core.softmax_lm(theta.detach(), Phi), Phi)
    assert torch.allclose(theta.grad, mean, atol=1e-12)


def test_softmax_context_loss_gradient_vanishes_where_means_match():
    gen = torch.Generator().manual_seed(5)
    Phi = torch.randn(4, 30, generator=gen, dtype=DT)
    theta = torch.randn(6, 4, generator=gen, dtype=DT)
    p_star = core.softmax_lm(theta, Phi)
    t = theta.clone().requires_grad_(True)
    core.softmax_context_loss(t, Phi, p_star).sum().backward()
    assert t.grad.abs().max() < 1e-12


def test_log_partition_is_stable_for_huge_logits():
    Phi = torch.eye(3, dtype=DT)
    theta = torch.tensor([1000.0, 0.0, 0.0], dtype=DT)
    assert abs(float(core.log_partition(theta, Phi)) - 1000.0) < 1e-9
    assert torch.isfinite(core.log_softmax_lm(theta, Phi)).all()


def test_quad_minimiser_gradient_vanishes_and_excess_identity():
    gen = torch.Generator().manual_seed(6)
    Phi = torch.randn(6, 50, generator=gen, dtype=DT)
    p_star = random_distributions(20, 50, seed=7)
    f_star = core.quad_minimiser(Phi, p_star).requires_grad_(True)
    core.quad_context_loss(f_star, Phi, p_star).sum().backward()
    assert f_star.grad.abs().max() < 1e-10
    theta = torch.randn(20, 6, generator=gen, dtype=DT)
    excess = core.quad_context_loss(theta, Phi, p_star) - core.quad_context_loss(f_star.detach(), Phi, p_star)
    assert torch.allclose(excess, core.quad_excess_loss(theta, Phi, p_star), atol=1e-10)
    assert (excess >= 0).all()


def test_quad_loss_matches_hand_computation():
    Phi = torch.tensor([[1.0, 0.0, -1.0], [0.0, 2.0, 1.0]], dtype=DT)
    p_star = torch.tensor([0.5, 0.25, 0.25], dtype=DT)
    theta = torch.tensor([1.0, -1.0], dtype=DT)
    # Phi p* = (0.25, 0.75); Phi^T theta = (1, -2, -2): loss = -(0.25 - 0.75) + 9/2
    assert abs(float(core.quad_context_loss(theta, Phi, p_star)) - 5.0) < 1e-12


def test_quad_minimiser_needs_full_rank_phi():
    Phi = torch.ones(2, 4, dtype=DT)
    with pytest.raises(ValueError, match="rank 1 < d = 2"):
        core.quad_minimiser(Phi, torch.full((4,), 0.25, dtype=DT))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: core.entropy(torch.tensor([0.5, 0.6], dtype=DT)), "sum to 1"),
        (lambda: core.entropy(torch.tensor([1.5, -0.5], dtype=DT)), "non-negative"),
        (lambda: core.entropy([0.5, 0.5]), "torch.Tensor, got list"),
        (lambda: core.entropy(torch.tensor([1, 0])), "floating-point"),
        (lambda: core.log_partition(torch.zeros(3, dtype=DT), torch.zeros(4, 5, dtype=DT)), "shapes do not match"),
        (lambda: core.log_partition(torch.zeros(3, dtype=DT), torch.zeros(3, dtype=DT)), "matrix"),
        (lambda: core.kl_divergence(torch.full((3,), 1 / 3, dtype=DT), torch.zeros(4, dtype=DT)), "shapes do not match"),
        (lambda: core.expected(torch.full((3,), 1 / 3, dtype=DT), torch.zeros(4, dtype=DT)), "must match"),
        (lambda: core.entropy(torch.tensor([math.nan, 1.0], dtype=DT)), "finite"),
    ],
)
def test_bad_input_gets_a_clear_error(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()
