"""Self-checks of chapter 8 (the Quad objective: its smallest value, a batch loss through the Gram matrix)."""

from __future__ import annotations

import torch

from lmtheory import core
from lmtheory.exercise_bank import small_world
from lmtheory.exercises import check_function, register
from lmtheory.train import quad_loss


def _minima(world) -> torch.Tensor:
    """The smallest per-context Quad loss, shape (n_contexts,), from core's minimiser (not the formula)."""
    f_star = core.quad_minimiser(world.Phi, world.p_star)
    return core.quad_context_loss(f_star, world.Phi, world.p_star)


@register("ch8-ex-value", example=lambda: {"world": small_world(seed=8)}, rtol=1e-8,
          wrong={"without the 1/2": lambda world: 2 * solve_value(world),
                 "the lower bound -1/2 ||p*||^2, not the minimum": lambda world: float(
                     world.p_L @ (-0.5 * (world.p_star**2).sum(-1))),
                 "a plain mean over contexts, not weighted by p_L": lambda world: float(_minima(world).mean()),
                 "the sign flipped": lambda world: -solve_value(world)})
def solve_value(world):
    """The p_L-weighted average of the smallest Quad loss, sum_s p_L(s) q_s(f*(s)), a number."""
    return float(world.p_L @ _minima(world))


def _gram_cases():
    """Random float64 features, embeddings and targets for (n, d, V) = (5, 3, 7), (12, 4, 30), (1, 2, 2)."""
    g = torch.Generator().manual_seed(1)
    return [(torch.randn(n, d, generator=g, dtype=torch.float64), torch.randn(d, V, generator=g, dtype=torch.float64),
             torch.randint(0, V, (n,), generator=g)) for n, d, V in ((5, 3, 7), (12, 4, 30), (1, 2, 2))]


def _grade_gram(label, yours):
    check_function(label, yours, quad_loss, _gram_cases())


def _quad_with(half: float, sign: float, reduce):
    """A Quad loss with the quadratic term times ``half``, the linear term times ``sign``, ``reduce``d."""
    def loss(features, Phi, targets):
        linear = (features * Phi[:, targets].T).sum(-1)
        return reduce(half * ((features @ (Phi @ Phi.T)) * features).sum(-1) - sign * linear)

    return loss


@register("ch8-ex-gram", grader=_grade_gram, example=dict,
          wrong={"without the 1/2": lambda: _quad_with(1.0, 1.0, torch.mean),
                 "the sum over positions, not the mean": lambda: _quad_with(0.5, 1.0, torch.sum),
                 "+f^T phi_w (sign of the linear term)": lambda: _quad_with(0.5, -1.0, torch.mean),
                 "Phi transposed: the (V, V) Gram matrix Phi^T Phi": lambda: lambda features, Phi, targets: (
                     0.5 * ((features @ (Phi.T @ Phi)) * features).sum(-1)
                     - (features * Phi[:, targets].T).sum(-1)).mean()})
def solve_gram():
    """The function ``my_quad_loss(features (n, d), Phi (d, V), targets (n,)) -> mean Quad loss``."""
    return quad_loss
