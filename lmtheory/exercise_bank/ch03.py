"""Self-checks of chapter 3 (cross-entropy, excess loss and KL, Pinsker)."""

from __future__ import annotations

import math

import numpy as np
import torch

from lmtheory import core
from lmtheory.exercise_bank import small_world
from lmtheory.exercises import ExerciseError, check, check_function, register


def _world_example():
    return {"world": small_world(seed=3)}


def _L_star(world) -> float:
    return float(core.expected(world.p_L, core.entropy(world.p_star)))


@register("ch3-ex-uniform", example=_world_example,
          wrong={"log base 2": lambda world: math.log2(world.vocab_size) - _L_star(world) / math.log(2),
                 "forgot L*": lambda world: math.log(world.vocab_size),
                 "L* - log V (sign)": lambda world: _L_star(world) - math.log(world.vocab_size),
                 "the perplexity ratio, not nats": lambda world: world.vocab_size / math.exp(_L_star(world))})
def solve_uniform(world):
    """Excess cross-entropy (nats) of the uniform model: log V - L*."""
    return math.log(world.vocab_size) - _L_star(world)


def _eps_mix_reference(world):
    V = world.vocab_size
    return lambda a: float(core.excess_loss(world.p_L, world.p_star, torch.log((1 - a) * world.p_star + a / V)))


def _bisect(fn, target: float) -> float:
    """The root of the increasing ``fn(a) = target`` on [0, 1]."""
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if fn(mid) < target else (lo, mid)
    return (lo + hi) / 2


def _grade_mixture(label, yours, *, world):
    if not (isinstance(yours, tuple) and len(yours) == 2):
        raise ExerciseError(f"{label}: expected the pair (eps_mix, a_01), got {type(yours).__name__}")
    eps_mix, a_01 = yours
    reference = _eps_mix_reference(world)
    check_function(f"{label}: eps_mix(a)", eps_mix, reference, [(a,) for a in (0.0, 0.01, 0.2, 0.7, 1.0)],
                   rtol=1e-8, atol=1e-10)
    check(f"{label}: eps_mix(a_01) for your a_01 = {float(a_01):.6g}", reference(float(a_01)), 0.01,
          rtol=0, atol=1e-6)


def _kl_other_way(world):
    V = world.vocab_size

    def eps_mix(a):
        p_a = (1 - a) * world.p_star + a / V
        return float(world.p_L @ core.kl_divergence(p_a, world.p_star.log()))

    return eps_mix, _bisect(eps_mix, 0.01)


@register("ch3-ex-mixture", grader=_grade_mixture, example=_world_example,
          wrong={"KL(p_a || p*) instead of KL(p* || p_a)": _kl_other_way,
                 "a_01 from the bound -log(1 - a) = 0.01": lambda world: (
                     _eps_mix_reference(world), 1 - math.exp(-0.01)),
                 "cross-entropy, not excess": lambda world: (
                     lambda a: _eps_mix_reference(world)(a) + _L_star(world), solve_mixture(world)[1])})
def solve_mixture(world):
    """``(eps_mix, a_01)``: the excess loss of (1 - a) p* + a/V as a function of a, and its 0.01 point."""
    eps_mix = _eps_mix_reference(world)
    return eps_mix, _bisect(eps_mix, 0.01)


def _grade_corpus(label, yours, *, world):
    if not (isinstance(yours, tuple) and len(yours) == 2):
        raise ExerciseError(f"{label}: expected the pair (sigma2, n_needed), got {type(yours).__name__}")
    sigma2, n_needed = solve_corpus(world)
    check(f"{label}: sigma^2 (nats^2)", yours[0], sigma2, rtol=1e-8)
    check(f"{label}: n (tokens)", yours[1], n_needed, rtol=0, atol=0)


def _second_moment(world) -> float:
    return float(world.p_L @ (world.p_star * world.p_star.log() ** 2).sum(-1))


@register("ch3-ex-corpus-n", grader=_grade_corpus, example=_world_example,
          wrong={"E[l^2], not centred": lambda world: (_second_moment(world),
                                                       math.ceil(_second_moment(world) / 1e-4)),
                 "sigma instead of sigma^2": lambda world: (math.sqrt(solve_corpus(world)[0]),
                                                            math.ceil(math.sqrt(solve_corpus(world)[0]) / 1e-4)),
                 "n = sigma^2 / 0.01 (0.01 not squared)": lambda world: (
                     solve_corpus(world)[0], math.ceil(solve_corpus(world)[0] / 0.01))})
def solve_corpus(world):
    """``(sigma2, n)``: the variance of the per-token loss -log p*(s)_w, and the tokens for s.e. <= 0.01."""
    sigma2 = _second_moment(world) - _L_star(world) ** 2
    return sigma2, math.ceil(sigma2 / 0.01**2)


def _kl_coins(a, b):
    """KL between coins with P(heads) = a and b, in nats."""
    return a * np.log(a / b) + (1 - a) * np.log((1 - a) / (1 - b))


def _grade_pinsker(label, yours, *, deltas, deltas_far):
    if not (isinstance(yours, tuple) and len(yours) == 3):
        raise ExerciseError(f"{label}: expected (ratios_coin, l1_far, kl_far), got {type(yours).__name__}")
    ratios, l1_far, kl_far = yours
    check(f"{label}: part 1, l1 / sqrt(2 KL)", ratios, solve_pinsker(deltas, deltas_far)[0], rtol=1e-6)
    shape = np.shape(deltas_far)
    for name, value in (("l1_far", l1_far), ("kl_far", kl_far)):
        if np.shape(value) != shape:
            raise ExerciseError(f"{label}: expected {name} with one entry per delta, shape {shape}, "
                                f"yours has shape {np.shape(value)}")
    l1_far, kl_far = np.asarray(l1_far, float), np.asarray(kl_far, float)
    if not (np.all(np.diff(l1_far) < 0) and l1_far[-1] < 0.01):
        raise ExerciseError(f"{label}: part 2 needs l1 shrinking towards 0 (below 0.01 at the end), "
                            f"yours {np.round(l1_far, 6)}")
    if not (np.isfinite(kl_far).all() and np.all(kl_far > 0.5)):
        raise ExerciseError(f"{label}: part 2 needs KL to stay away from 0 (above 0.5 nats), "
                            f"yours {np.round(kl_far, 6)}")
    print(f"correct: {label}: part 2, l1 falls to {l1_far[-1]:.2g} while KL stays at {kl_far[-1]:.3f} nats")


def _pinsker_example():
    return {"deltas": np.array([1e-1, 1e-2, 1e-3, 1e-4]), "deltas_far": np.array([0.1, 0.03, 0.01, 0.003])}


def _close_in_both(deltas, deltas_far):
    ratios, _, _ = solve_pinsker(deltas, deltas_far)
    return ratios, 2 * deltas_far, _kl_coins(deltas_far, 2 * deltas_far)  # q = (1 - 2 delta, 2 delta)


@register("ch3-ex-pinsker-sharp", grader=_grade_pinsker, example=_pinsker_example, points=2,  # two parts
          wrong={"sqrt(KL) without the 2": lambda deltas, deltas_far: (
                     solve_pinsker(deltas, deltas_far)[0] * math.sqrt(2),) + solve_pinsker(deltas, deltas_far)[1:],
                 "q close to p in both senses": _close_in_both,
                 "l1 that does not shrink": lambda deltas, deltas_far: (
                     solve_pinsker(deltas, deltas_far)[0], np.full(len(deltas_far), 0.5),
                     solve_pinsker(deltas, deltas_far)[2])})
def solve_pinsker(deltas, deltas_far):
    """Part 1: ``||p - q||_1 / sqrt(2 KL(p||q))`` for coins 1/2 + delta and 1/2. Part 2: l1 and KL of
    p = (1 - delta, delta) and q = (1 - e^(-1/delta), e^(-1/delta)). Arrays shaped like the deltas."""
    deltas, deltas_far = np.asarray(deltas, float), np.asarray(deltas_far, float)
    ratios = 2 * deltas / np.sqrt(2 * _kl_coins(0.5 + deltas, 0.5))
    tiny = np.exp(-1 / deltas_far)
    return ratios, 2 * np.abs(deltas_far - tiny), _kl_coins(deltas_far, tiny)
