"""Self-checks of chapter 10 (what the theory does not explain: Quad as a language model, scale)."""

from __future__ import annotations

import math

from scipy import optimize

from lmtheory import core
from lmtheory.exercise_bank import small_world
from lmtheory.exercises import ExerciseError, check, register
from lmtheory.threads import single_thread

#: The fit of Hoffmann et al. (2022), eq. 10, in nats per token: L(N, D) = E + A / N^alpha + Bp / D^beta.
_CHINCHILLA = {"A": 406.4, "Bp": 410.7, "alpha": 0.34, "beta": 0.28}


def quad_excess(world):
    """The function ``c -> E_{p_L} KL(p* || softmax(c Phi^T f*))``: the excess cross-entropy of the
    Quad minimiser ``f*`` read as a softmax language model at temperature ``1 / c``."""
    f_quad = core.quad_minimiser(world.Phi, world.p_star)
    return lambda c: world.excess_loss_any(core.log_softmax_lm(c * f_quad, world.Phi))


def _best_log_c(objective) -> float:
    """The minimiser of ``objective(c)`` over ``log c`` in [-5, 12] (the excess loss is convex in c)."""
    return optimize.minimize_scalar(lambda lc: objective(math.exp(lc)), bounds=(-5.0, 12.0), method="bounded",
                                    options={"xatol": 1e-8}).x


@single_thread()
def _grade_quad_temperature(label, yours, *, world):
    if not (isinstance(yours, tuple) and len(yours) == 2):
        raise ExerciseError(f"{label}: expected the pair (c_best, eps_best), got {type(yours).__name__}")
    c, eps = yours
    try:
        c = float(c)
    except (TypeError, ValueError):
        raise ExerciseError(f"{label}: c_best should be a number, got {type(c).__name__}") from None
    if not (math.isfinite(c) and c > 0):
        raise ExerciseError(f"{label}: c_best should be a positive number, got {c}")
    check(f"{label}: eps_best is the excess loss at your c_best", eps, quad_excess(world)(c), rtol=1e-6)
    _, best = solve_quad_temperature(world)
    check(f"{label}: the smallest excess loss over all c > 0", eps, best, rtol=1e-4)


def _reverse_kl_answer(world):
    """Minimising KL(p_c || p*) (the arguments swapped) and reporting that divergence."""
    f_quad = core.quad_minimiser(world.Phi, world.p_star)

    def reverse(c):
        log_p = core.log_softmax_lm(c * f_quad, world.Phi)
        return float(world.p_L @ core.kl_divergence(log_p.exp(), world.p_star.log()))

    c = math.exp(_best_log_c(reverse))
    return c, reverse(c)


def _cross_entropy_answer(world):
    c, eps = solve_quad_temperature(world)
    return c, eps + float(world.p_L @ core.entropy(world.p_star))


@register("ch10-ex-quad-temperature", grader=_grade_quad_temperature,
          example=lambda: {"world": small_world(seed=2)},
          wrong={"no temperature (c = 1)": lambda world: (1.0, quad_excess(world)(1.0)),
                 "KL with its arguments swapped": _reverse_kl_answer,
                 "cross-entropy instead of excess cross-entropy": _cross_entropy_answer})
@single_thread()
def solve_quad_temperature(world):
    """``(c_best, eps_best)``: the scale c > 0 of the Quad minimiser's logits that makes
    ``softmax(c Phi^T f*)`` the best language model, and its excess cross-entropy."""
    excess = quad_excess(world)
    c = math.exp(_best_log_c(excess))
    return c, excess(c)


def _scale_example():
    return {"eps": 2.8e-4, **_CHINCHILLA, "tokens_per_parameter": 20.0}


@register("ch10-ex-scale", example=_scale_example, rtol=1e-4,
          wrong={"the data term left out": lambda eps, A, Bp, alpha, beta, tokens_per_parameter: (A / eps) ** (1 / alpha),
                 "D = N (tokens per parameter forgotten)": lambda eps, A, Bp, alpha, beta, tokens_per_parameter:
                     solve_scale(eps, A, Bp, alpha, beta, 1.0),
                 "log10 of N instead of N": lambda eps, A, Bp, alpha, beta, tokens_per_parameter:
                     math.log10(solve_scale(eps, A, Bp, alpha, beta, tokens_per_parameter))})
def solve_scale(eps, A, Bp, alpha, beta, tokens_per_parameter):
    """The number of parameters N at which the fitted excess loss ``A / N^alpha + Bp / D^beta``,
    with ``D = tokens_per_parameter * N`` training tokens, falls to ``eps``."""
    def excess_minus_eps(log_n):
        n = math.exp(log_n)
        return A / n**alpha + Bp / (tokens_per_parameter * n) ** beta - eps

    return math.exp(optimize.brentq(excess_minus_eps, 0.0, 300.0, xtol=1e-12))
