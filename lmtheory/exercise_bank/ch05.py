"""Self-checks of chapter 5 (conditional mean features, Phi-natural tasks, the key lemma)."""

from __future__ import annotations

import torch

from lmtheory import core, synthetic
from lmtheory.exercise_bank import small_world
from lmtheory.exercises import ExerciseError, check, check_function, register


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _grade_conditional_mean(label, yours, *, p, Phi):
    p, Phi = torch.as_tensor(p), torch.as_tensor(Phi)
    other_p = torch.softmax(torch.randn(3, 7, generator=_generator(5), dtype=p.dtype), -1)
    other_Phi = torch.randn(2, 7, generator=_generator(6), dtype=p.dtype)
    check_function(label, yours, lambda p, Phi: p @ Phi.T, [(p, Phi), (p[:2], Phi), (other_p, other_Phi)],
                   rtol=1e-8, atol=1e-10)


def _conditional_mean_example():
    world = small_world(seed=5, realizable=False)
    return {"p": world.predict(world.f_opt), "Phi": world.Phi}


@register("ch5-ex-conditional-mean", grader=_grade_conditional_mean, example=_conditional_mean_example,
          wrong={"transposed, Phi p^T": lambda p, Phi: (lambda p, Phi: Phi @ p.T),
                 "a mean over words, not a p-weighted sum": lambda p, Phi: (lambda p, Phi: p @ Phi.T / p.shape[1]),
                 "the unweighted sum of embeddings": lambda p, Phi: (
                     lambda p, Phi: Phi.sum(1).expand(p.shape[0], -1))})
def solve_conditional_mean(p, Phi):
    """The function ``(p (N, V), Phi (d, V)) -> Phi p(s)``, shape (N, d)."""
    return lambda p, Phi: p @ Phi.T


def _sigma(p_s, h):
    return (h * p_s[:, None]).T @ h


def _coverage_example():
    world = small_world(seed=6)
    p_T = torch.softmax(torch.randn(world.n_contexts, generator=_generator(7), dtype=torch.float64), -1)
    h = torch.randn(world.n_contexts, world.dim, generator=_generator(8), dtype=torch.float64)
    return {"p_L": world.p_L, "p_T": p_T, "h": h}


@register("ch5-ex-refined-coverage", example=_coverage_example, rtol=1e-6,
          wrong={"the plain coverage gamma(p_T)": lambda p_L, p_T, h: synthetic.coverage(p_L, p_T),
                 "the largest eigenvalue": lambda p_L, p_T, h: float(torch.linalg.eigvals(
                     torch.linalg.solve(_sigma(p_T, h), _sigma(p_L, h))).real.max()),
                 "the pair swapped, (Sigma_T, Sigma_L)": lambda p_L, p_T, h: float(torch.linalg.eigvals(
                     torch.linalg.solve(_sigma(p_L, h), _sigma(p_T, h))).real.min())})
def solve_refined_coverage(p_L, p_T, h):
    """The largest gamma with Sigma_{p_L}(h) >= gamma Sigma_{p_T}(h): the smallest generalised eigenvalue."""
    return synthetic.refined_coverage(p_L, p_T, h)


def _grade_pythagoras(label, yours, *, world, f):
    if not (isinstance(yours, tuple) and len(yours) == 2):
        raise ExerciseError(f"{label}: expected the pair (left, right), got {type(yours).__name__}")
    left, right = solve_pythagoras(world, f)
    check(f"{label}: left side, per context", yours[0], left, rtol=1e-8, atol=1e-12)
    check(f"{label}: right side, per context", yours[1], right, rtol=1e-8, atol=1e-12)


def _pythagoras_example():
    world = small_world(seed=7, realizable=False)
    return {"world": world, "f": world.f_opt + 0.3 * torch.randn(world.f_opt.shape, generator=_generator(9),
                                                                 dtype=torch.float64)}


def _kl_reversed(world, f):
    left, _ = solve_pythagoras(world, f)
    return left, core.kl_divergence(world.predict(f), world.log_predict(world.f_opt))


@register("ch5-ex-pythagoras", grader=_grade_pythagoras, example=_pythagoras_example,
          wrong={"KL(p_f || p_f_opt) on the right": _kl_reversed,
                 "left side without the second KL": lambda world, f: (
                     core.kl_divergence(world.p_star, world.log_predict(f)), solve_pythagoras(world, f)[1]),
                 "KL(p* || p_f_opt) on the right": lambda world, f: (
                     solve_pythagoras(world, f)[0], core.kl_divergence(world.p_star, world.log_predict(world.f_opt)))})
def solve_pythagoras(world, f):
    """``(left, right)`` per context: KL(p*||p_f) - KL(p*||p_f_opt) and KL(p_f_opt||p_f), shape (N,)."""
    log_pf, log_popt = world.log_predict(f), world.log_predict(world.f_opt)
    left = core.kl_divergence(world.p_star, log_pf) - core.kl_divergence(world.p_star, log_popt)
    return left, core.kl_divergence(log_popt.exp(), log_pf)


def _needs_phi_example():
    world = small_world(seed=8, realizable=False)
    return {"p_L": world.p_L, "p": world.predict(world.f_opt), "p_star": world.p_star,
            "v_generic": torch.randn(world.vocab_size, generator=_generator(10), dtype=torch.float64),
            "v_natural": world.Phi.T @ torch.randn(world.dim, generator=_generator(11), dtype=torch.float64)}


def _lhs(p_L, p, p_star, v, power=2):
    return float(p_L @ ((p - p_star) @ v) ** power)


@register("ch5-ex-needs-phi", example=_needs_phi_example, atol=1e-9,
          wrong={"the two swapped": lambda p_L, p, p_star, v_generic, v_natural: (
                     _lhs(p_L, p, p_star, v_natural), _lhs(p_L, p, p_star, v_generic)),
                 "not squared": lambda p_L, p, p_star, v_generic, v_natural: (
                     _lhs(p_L, p, p_star, v_generic, 1), _lhs(p_L, p, p_star, v_natural, 1)),
                 "a plain mean over contexts, not E over p_L": lambda p_L, p, p_star, v_generic, v_natural: (
                     _lhs(torch.full_like(p_L, 1 / len(p_L)), p, p_star, v_generic),
                     _lhs(torch.full_like(p_L, 1 / len(p_L)), p, p_star, v_natural))})
def solve_needs_phi(p_L, p, p_star, v_generic, v_natural):
    """``(lhs_generic, lhs_natural)``: E_{p_L} (v^T (p - p*))^2 for the two classifiers."""
    return _lhs(p_L, p, p_star, v_generic), _lhs(p_L, p, p_star, v_natural)
