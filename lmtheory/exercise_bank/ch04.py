"""Self-checks of chapter 4 (the sqrt(eps) theorem, coverage)."""

from __future__ import annotations

import math

import torch
from scipy import optimize

from lmtheory import core
from lmtheory.exercise_bank import small_world
from lmtheory.exercises import ExerciseError, check, register
from lmtheory.plotting import fit_loglog_slope


@register("ch4-ex-useless-eps", example=lambda: {"tau": 0.31, "B": 8.0, "gamma": 0.5},
          wrong={"without the 2": lambda tau, B, gamma: gamma * (math.log(2) - tau) ** 2 / B**2,
                 "forgot tau": lambda tau, B, gamma: gamma * math.log(2) ** 2 / (2 * B**2),
                 "B not squared": lambda tau, B, gamma: gamma * (math.log(2) - tau) ** 2 / (2 * B),
                 "divided by gamma": lambda tau, B, gamma: (math.log(2) - tau) ** 2 / (2 * B**2 * gamma)})
def solve_useless_eps(tau, B, gamma):
    """The eps at which tau + sqrt(2 B^2 eps / gamma) reaches log 2."""
    return gamma * (math.log(2) - tau) ** 2 / (2 * B**2)


def _mix_at(world, s0: int, target_kl: float) -> torch.Tensor:
    """p* with p*(s0) mixed towards uniform until KL(p*(s0) || p(s0)) = target_kl."""
    uniform = torch.full_like(world.p_star[s0], 1.0 / world.vocab_size)

    def kl_at(a):
        return float(core.kl_divergence(world.p_star[s0], torch.log((1 - a) * world.p_star[s0] + a * uniform)))

    a = optimize.brentq(lambda a: kl_at(a) - target_kl, 0.0, 1.0, xtol=1e-15)
    p_one = world.p_star.clone()
    p_one[s0] = (1 - a) * world.p_star[s0] + a * uniform
    return p_one


def _expectations(world, s0, p_one):
    kl = core.kl_divergence(world.p_star, p_one.log())
    return float(world.p_L @ kl), float(kl[s0])  # E_{p_L} KL and E_{p_T} KL for p_T = delta_{s0}


def _grade_one_context(label, yours, *, world, s0, eps):
    if not (isinstance(yours, tuple) and len(yours) == 3):
        raise ExerciseError(f"{label}: expected (p_one, E_L_KL, E_T_KL), got {type(yours).__name__}")
    p_one, E_L_KL, E_T_KL = yours
    check(f"{label}: p_one sums to 1 in every context", torch.as_tensor(p_one).sum(-1), torch.ones(world.n_contexts))
    p_one = torch.as_tensor(p_one, dtype=world.p_star.dtype)
    others = torch.arange(world.n_contexts) != s0
    check(f"{label}: p_one equals p* away from s0", p_one[others], world.p_star[others], rtol=1e-10, atol=1e-12)
    check(f"{label}: the excess loss of p_one", world.excess_loss_any(p_one.log()), eps, rtol=1e-6)
    check(f"{label}: E_L KL", E_L_KL, eps, rtol=1e-6)
    check(f"{label}: E_T KL", E_T_KL, eps / float(world.p_L[s0]), rtol=1e-6)


def _every_context(world, s0, eps):
    """Mixing every context with one weight until the excess loss is eps (the task sees only eps)."""
    uniform = torch.full_like(world.p_star, 1.0 / world.vocab_size)

    def mixed(a):
        return (1 - a) * world.p_star + a * uniform

    a = optimize.brentq(lambda a: world.excess_loss_any(mixed(a).log()) - eps, 0.0, 1.0, xtol=1e-15)
    return (mixed(a),) + _expectations(world, s0, mixed(a))


def _one_context_example():
    world = small_world(seed=4)
    return {"world": world, "s0": int(torch.argmax(world.p_L)), "eps": 1e-3}


@register("ch4-ex-one-context", grader=_grade_one_context, example=_one_context_example,
          wrong={"KL eps at s0 (not eps / p_L(s0))": lambda world, s0, eps: (
                     _mix_at(world, s0, eps),) + _expectations(world, s0, _mix_at(world, s0, eps)),
                 "E_T KL = eps (no 1/gamma)": lambda world, s0, eps: solve_one_context(world, s0, eps)[:2] + (eps,),
                 "every context moved": _every_context})
def solve_one_context(world, s0, eps):
    """``(p_one, E_L KL, E_T KL)``: p* changed only at s0, with excess loss eps, and the two expected KLs."""
    p_one = _mix_at(world, s0, eps / float(world.p_L[s0]))
    return (p_one,) + _expectations(world, s0, p_one)


def _swapped(gap):
    small, large = solve_mixed_slope(gap)
    return large, small


@register("ch4-ex-mixed-slope", example=lambda: {"gap": lambda eps: 0.02 * math.sqrt(eps) + eps},
          rtol=1e-4,
          wrong={"the two ranges swapped": _swapped,
                 "one fit over [1e-7, 1e-1]": lambda gap: (
                     fit_loglog_slope([1e-7, 1e-1], [gap(1e-7), gap(1e-1)]),) * 2,
                 "slopes of log10 gap against ln eps": lambda gap: tuple(
                     s / math.log(10) for s in solve_mixed_slope(gap))})
def solve_mixed_slope(gap):
    """Log-log slopes of ``gap(eps)`` over eps in [1e-7, 1e-6] and in [1e-2, 1e-1]."""
    return tuple(fit_loglog_slope([lo, hi], [gap(lo), gap(hi)]) for lo, hi in ((1e-7, 1e-6), (1e-2, 1e-1)))


def _coverage_example():
    world = small_world(seed=9)
    p_T = world.p_L ** 2 * (torch.arange(world.n_contexts) % 3 != 0)  # favours likely contexts, skips a third
    return {"p_L": world.p_L, "p_T": p_T / p_T.sum()}


@register("ch4-ex-coverage", example=_coverage_example,
          wrong={"max instead of min": lambda p_L, p_T: float((p_L[p_T > 0] / p_T[p_T > 0]).max()),
                 "the ratio upside down, min p_T / p_L": lambda p_L, p_T: float((p_T / p_L).min()),
                 "the mean ratio": lambda p_L, p_T: float((p_L[p_T > 0] / p_T[p_T > 0]).mean())})
def solve_coverage(p_L, p_T):
    """gamma(p_T) = min over the contexts with p_T(s) > 0 of p_L(s) / p_T(s)."""
    used = p_T > 0
    return float((p_L[used] / p_T[used]).min())
