"""A synthetic world where everything the theory talks about is known exactly.

The world has ``N`` contexts with pretraining distribution ``p_L``, a vocabulary of ``V`` words with
output embeddings ``Phi`` (d x V), and a true next-word distribution ``p*(s)`` for every context.
Expectations over contexts are exact sums, so the excess cross-entropy ``eps`` of a model, the
``tau`` of a natural task and its coverage ``gamma`` are numbers, not estimates.

>>> world = make_world(seed=0)
>>> task = make_task(world, B=8.0, gamma=0.5)
>>> model = eps_optimal_model(world, 0.01, kind="margin", task=task)
>>> abs(model.eps - 0.01) / 0.01 < 0.01
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import torch
from scipy import optimize

from . import bounds
from .checks import (check_choice, check_distribution, check_eps_grid, check_int, check_number,
                     check_same_shape)
from .core import conditional_mean, kl_divergence, log_softmax_lm
from .logistic import expected_logistic_loss, fit_bounded, fit_logistic, logistic_objective
from .threads import single_thread

__all__ = [
    "World",
    "Task",
    "Model",
    "make_world",
    "fit_softmax_features",
    "tilted_distribution",
    "coverage",
    "refined_coverage",
    "best_bounded_classifier",
    "make_task",
    "eps_optimal_model",
    "mixture_model",
    "evaluate",
    "sweep",
    "error_path",
    "gap_expansion",
    "random_error_terms",
    "PERTURBATIONS",
]

DTYPE = torch.float64
PERTURBATIONS = ("random", "orthogonal", "margin", "adversarial")
TASK_KINDS = ("orthogonal", "margin", "adversarial")  # the kinds that are built against a task


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(check_int(seed, "seed", low=0, high=2**63 - 1))


@dataclass(frozen=True, eq=False)
class World:
    """A finite world of contexts and words.

    Attributes
    ----------
    Phi : tensor, shape (d, V)
        Output word embeddings, one column ``phi_w`` per word.
    p_L : tensor, shape (N,)
        Pretraining distribution over the ``N`` contexts.
    p_star : tensor, shape (N, V)
        True next-word distribution ``p*(s)`` of each context.
    f_opt : tensor, shape (N, d)
        The best softmax features for this ``Phi``: ``f_opt(s)`` minimises the cross-entropy of
        ``softmax(Phi^T f(s))`` against ``p*(s)``, so ``L(f_opt, Phi) = L*(Phi)``.
    """

    Phi: torch.Tensor
    p_L: torch.Tensor
    p_star: torch.Tensor
    f_opt: torch.Tensor

    @property
    def n_contexts(self) -> int:
        return self.p_star.shape[0]

    @property
    def vocab_size(self) -> int:
        return self.Phi.shape[1]

    @property
    def dim(self) -> int:
        return self.Phi.shape[0]

    def log_predict(self, f: torch.Tensor) -> torch.Tensor:
        """Log-probabilities ``log p_f(s)`` of the softmax LM with features ``f``: (N, d) -> (N, V)."""
        return log_softmax_lm(f, self.Phi)

    def predict(self, f: torch.Tensor) -> torch.Tensor:
        """Next-word distributions ``p_f(s)``: (N, d) -> (N, V)."""
        return self.log_predict(f).exp()

    @cached_property
    def _kl_opt(self) -> torch.Tensor:
        """``KL(p*(s) || p_{f_opt}(s))`` per context, (N,): zero in a realizable world."""
        return kl_divergence(self.p_star, self.log_predict(self.f_opt))

    def excess_loss(self, f: torch.Tensor) -> float:
        """``L(f, Phi) - L*(Phi)`` in nats: how far features ``f`` (N, d) are from the best for ``Phi``."""
        return float(self.p_L @ (kl_divergence(self.p_star, self.log_predict(f)) - self._kl_opt))

    def excess_loss_any(self, log_p: torch.Tensor) -> float:
        """``L(p) - L* = E_{s ~ p_L} KL(p*(s) || p(s))`` in nats, for any LM given by ``log p`` (N, V)."""
        return float(self.p_L @ kl_divergence(self.p_star, log_p))

    def sample(self, n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``n`` (context, next word) pairs: ``s ~ p_L``, ``w ~ p*(s)``. Returns two (n,) index tensors."""
        n = check_int(n, "n", low=1)
        gen = _generator(seed)
        contexts = torch.multinomial(self.p_L, n, replacement=True, generator=gen)
        # Inverse-CDF sampling without an (n, V) table: context c's cumulative probabilities,
        # shifted by c, form one increasing array over all (context, word) pairs.
        cdf = (self.p_star.cumsum(-1) + torch.arange(self.n_contexts, dtype=DTYPE)[:, None]).flatten()
        u = torch.rand(n, generator=gen, dtype=DTYPE) + contexts
        flat = torch.searchsorted(cdf, u).clamp_max(cdf.numel() - 1)
        words = (flat - contexts * self.vocab_size).clamp(0, self.vocab_size - 1)
        return contexts, words


@single_thread()
def fit_softmax_features(Phi: torch.Tensor, p_star: torch.Tensor, *, max_iter: int = 100) -> torch.Tensor:
    """The features that minimise each context's softmax cross-entropy against ``p*(s)``.

    Solves ``Phi p_theta = Phi p*(s)`` (the first-order condition) by Newton's method, for all
    contexts at once.

    Shapes: ``Phi (d, V)``, ``p_star (N, V)`` -> ``(N, d)``.
    """
    check_distribution(p_star, "p_star")
    target = conditional_mean(p_star, Phi)
    theta = torch.zeros_like(target)

    def loss(t):
        return -(t * target).sum(-1) + torch.logsumexp(t @ Phi, -1)

    current = loss(theta)
    eye = torch.eye(Phi.shape[0], dtype=Phi.dtype)
    for _ in range(max_iter):
        p = torch.softmax(theta @ Phi, -1)
        mean = p @ Phi.T
        grad = mean - target
        if grad.abs().max() < 1e-10:
            break
        hess = (Phi * p[:, None, :]) @ Phi.T - mean[:, :, None] * mean[:, None, :]
        step = torch.linalg.solve(hess + 1e-12 * eye, grad)
        size = torch.ones(len(theta), 1, dtype=Phi.dtype)
        slack = 1e-12 * (1 + current.abs())  # losses equal to rounding count as no increase
        for _ in range(30):  # backtrack per context until each loss decreases
            new = loss(theta - size * step)
            worse = new > current + slack
            if not worse.any():
                break
            size[worse] /= 2
        theta = theta - size * step
        current = loss(theta)
    return theta


@single_thread()
def make_world(
    n_contexts: int = 400,
    vocab_size: int = 200,
    dim: int = 16,
    *,
    seed: int = 0,
    realizable: bool = True,
    logit_scale: float = 2.0,
) -> World:
    """Draw a random world.

    ``Phi`` has standard normal entries; each context has features ``f*(s) ~ N(0, I logit_scale^2 / d)``,
    so logits ``Phi^T f*(s)`` have standard deviation about ``logit_scale``. If ``realizable``,
    ``p*(s) = softmax(Phi^T f*(s))``, so a softmax LM can be perfect; otherwise the logits get an
    extra random part outside the row space of ``Phi``, and even the best softmax LM has
    ``L*(Phi) > L*``. ``p_L`` is a Dirichlet(2, ..., 2) draw.

    Example: ``make_world(n_contexts=400, vocab_size=200, dim=16, seed=0)``.
    """
    n_contexts = check_int(n_contexts, "n_contexts", low=2)
    vocab_size = check_int(vocab_size, "vocab_size", low=2)
    dim = check_int(dim, "dim", low=1, high=vocab_size)
    logit_scale = check_number(logit_scale, "logit_scale", low=0, low_open=True)
    gen = _generator(seed)
    Phi = torch.randn(dim, vocab_size, generator=gen, dtype=DTYPE)
    f_star = torch.randn(n_contexts, dim, generator=gen, dtype=DTYPE) * logit_scale / math.sqrt(dim)
    uniforms = torch.rand(2, n_contexts, generator=gen, dtype=DTYPE)
    weights = -uniforms.log().sum(0)  # Gamma(2, 1) draws, normalised below to a Dirichlet(2)
    p_L = weights / weights.sum()
    logits = f_star @ Phi
    if not realizable:
        logits = logits + logit_scale * torch.randn(n_contexts, vocab_size, generator=gen, dtype=DTYPE)
    p_star = torch.softmax(logits, -1)
    f_opt = f_star if realizable else fit_softmax_features(Phi, p_star)
    return World(Phi=Phi, p_L=p_L, p_star=p_star, f_opt=f_opt)


def coverage(p_L: torch.Tensor, p_T: torch.Tensor) -> float:
    """Coverage ``gamma(p_T) = min_s p_L(s) / p_T(s)`` over the contexts the task uses; in (0, 1]."""
    check_distribution(p_L, "p_L")
    check_distribution(p_T, "p_T")
    check_same_shape(p_L, p_T, "p_L", "p_T")
    used = p_T > 0
    return float((p_L[used] / p_T[used]).min())


def refined_coverage(p_L: torch.Tensor, p_T: torch.Tensor, h: torch.Tensor) -> float:
    """``gamma(p_T; h) = sup{gamma : Sigma_{p_L}(h) >= gamma Sigma_{p_T}(h)}`` in the PSD order.

    ``Sigma_p(h) = E_{s ~ p} h(s) h(s)^T``. Shapes: ``p_L (N,)``, ``p_T (N,)``, ``h (N, k)`` -> float.
    It is never smaller than :func:`coverage`.
    """
    check_distribution(p_L, "p_L")
    check_distribution(p_T, "p_T")
    sigma_L = (h * p_L[:, None]).T @ h
    sigma_T = (h * p_T[:, None]).T @ h
    values, vectors = torch.linalg.eigh(sigma_T)
    keep = values > 1e-12 * values.max()
    whiten = vectors[:, keep] / values[keep].sqrt()
    return float(torch.linalg.eigvalsh(whiten.T @ sigma_L @ whiten).min())


@single_thread()
def tilted_distribution(p_L: torch.Tensor, gamma: float, *, seed: int = 0) -> torch.Tensor:
    """A task distribution ``p_T(s) ∝ p_L(s) exp(beta u(s))`` whose coverage is exactly ``gamma``.

    ``u`` is a fixed random score per context; ``beta >= 0`` is found by bisection, since the
    coverage ``E_{p_L}[e^{beta u}] / max e^{beta u}`` falls from 1 as ``beta`` grows.
    Shapes: ``p_L (N,)`` -> ``(N,)``.
    """
    gamma = check_number(gamma, "gamma", low=0, high=1, low_open=True)
    check_distribution(p_L, "p_L")
    u = torch.randn(p_L.shape, generator=_generator(seed), dtype=p_L.dtype)
    u = u - u.max()

    def tilt(beta):
        w = p_L * torch.exp(beta * u)
        return w / w.sum()

    floor = float(p_L[u.argmax()])  # the coverage as beta -> infinity
    if gamma <= floor * (1 + 1e-9):
        raise ValueError(
            f"gamma = {gamma:g} cannot be reached in this world: tilting p_L reaches coverages in "
            f"({floor:.3g}, 1]; allowed: {floor:.3g} < gamma <= 1"
        )
    lo, hi = 0.0, 1.0
    while coverage(p_L, tilt(hi)) > gamma:
        lo, hi = hi, 2 * hi
    for _ in range(200):
        mid = (lo + hi) / 2
        if coverage(p_L, tilt(mid)) > gamma:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12 * hi:
            break
    return tilt(hi)


@dataclass(frozen=True, eq=False)
class Task:
    """A binary downstream task on the world's contexts, (tau, B)-natural by construction.

    A planted classifier ``v0`` (``||v0||_inf = B``) labels each context by the sign of its score
    ``v0^T p*(s) + b0``, and a fraction ``label_noise`` of labels is flipped: ``q(s) = P(y = +1 | s)``
    is ``1 - label_noise`` or ``label_noise``. ``tau`` is the least expected logistic loss of any
    classifier ``(v, b)`` with ``||v||_inf <= B`` (and ``v = Phi^T lam`` for a Phi-natural task) on
    ``p*``, found by convex optimisation; ``(v, b)`` is that minimiser.

    Attributes
    ----------
    p_T : tensor (N,)
        The task's distribution over contexts.
    q : tensor (N,)
        ``P(y = +1 | s)``.
    v : tensor (V,)
        The best classifier on next-word distributions, ``||v||_inf <= B``.
    b : float
        Its bias.
    lam : tensor (d,) or None
        For a Phi-natural task, ``v = Phi^T lam``: the same classifier on ``Phi p`` features.
    B, tau, gamma : float
    """

    p_T: torch.Tensor
    q: torch.Tensor
    v: torch.Tensor
    b: float
    lam: torch.Tensor | None
    B: float
    tau: float
    gamma: float

    @property
    def phi_natural(self) -> bool:
        return self.lam is not None

    def loss(self, scores: torch.Tensor) -> float:
        """Expected logistic loss of scores ``z(s)`` (N,) under the task, in nats."""
        return float(expected_logistic_loss(scores, self.q, self.p_T))

    def loss_fixed(self, p: torch.Tensor) -> float:
        """``l_T(p, v)``: the task's own classifier applied to next-word distributions ``p`` (N, V)."""
        return self.loss(p @ self.v + self.b)

    def loss_refit(self, features: torch.Tensor) -> float:
        """``l_T(g) = min over (lambda, b)`` of the expected logistic loss on features ``g`` (N, k)."""
        return fit_logistic(features, self.q, self.p_T)[2]

    def bound(self, eps) -> float | np.ndarray:
        """The sqrt(eps) bound ``tau + sqrt(2 B^2 eps / gamma)`` for this task."""
        return bounds.sqrt_eps_bound(self.tau, self.B, eps, self.gamma)


def best_bounded_classifier(
    p: torch.Tensor,
    q: torch.Tensor,
    weights: torch.Tensor,
    B: float,
    Phi: torch.Tensor | None = None,
    start: torch.Tensor | None = None,
) -> tuple[torch.Tensor, float, float]:
    """The least expected logistic loss of ``z(s) = v^T p(s) + b`` over ``||v||_inf <= B``.

    With ``Phi`` given, ``v`` is restricted to ``Phi^T lam`` (the Phi-natural case) and the
    problem is solved over ``(lam, b)`` with the ``2V`` linear constraints ``|Phi^T lam| <= B``
    (SLSQP); without, over ``(v, b)`` in a box (:func:`lmtheory.logistic.fit_bounded`, L-BFGS-B).
    Both problems are convex.

    Shapes: ``p (N, V)``, ``q (N,)``, ``weights (N,)``, ``Phi (d, V)``, ``start`` ((V,) or (d,), a
    feasible starting point). Returns ``(v or lam, b, loss)``.
    """
    B = check_number(B, "B", low=0, low_open=True)
    if Phi is None:
        v, b, loss = fit_bounded(p, q, B, weights, start=None if start is None else start.numpy())
        return torch.from_numpy(v), b, loss
    X = (p @ Phi.T).numpy()
    k = X.shape[1]
    objective = logistic_objective(X, q.numpy(), weights.numpy())
    x0 = np.zeros(k + 1) if start is None else np.append(start.numpy(), 0.0)
    A = Phi.T.numpy()
    constraints = [
        {"type": "ineq", "fun": lambda x: B - A @ x[:k], "jac": lambda x: np.hstack([-A, np.zeros((len(A), 1))])},
        {"type": "ineq", "fun": lambda x: B + A @ x[:k], "jac": lambda x: np.hstack([A, np.zeros((len(A), 1))])},
    ]
    result = optimize.minimize(objective, x0, jac=True, method="SLSQP", constraints=constraints,
                               options={"maxiter": 2000, "ftol": 1e-13})
    x = torch.from_numpy(result.x)
    return x[:k], float(x[k]), float(result.fun)


@single_thread()
def make_task(
    world: World,
    B: float = 8.0,
    gamma: float = 1.0,
    *,
    phi_natural: bool = True,
    label_noise: float = 0.1,
    seed: int = 1,
) -> Task:
    """Plant a (tau, B)-natural binary task in ``world``.

    Parameters
    ----------
    B : float, > 0
        The largest word weight ``||v||_inf`` allowed: larger B means sharper classifiers and a
        smaller tau.
    gamma : float in (0, 1]
        Coverage of the task distribution by ``p_L`` (1 means ``p_T = p_L``).
    phi_natural : bool
        If true, ``v = Phi^T lam`` lies in the row space of ``Phi`` (a Phi-natural task); otherwise
        the planted ``v0`` has independent uniform entries, which a d-dimensional ``Phi p``
        cannot express.
    label_noise : float in [0, 0.5)
        Fraction of flipped labels; it keeps every classifier's loss above ``H(label_noise)``.
    """
    B = check_number(B, "B", low=0, low_open=True)
    label_noise = check_number(label_noise, "label_noise", low=0, high=0.5, high_open=True)
    p_T = world.p_L if gamma == 1 else tilted_distribution(world.p_L, gamma, seed=seed)
    gen = _generator(seed)
    if phi_natural:
        direction = torch.randn(world.dim, generator=gen, dtype=DTYPE)
        direction = direction * B / float((world.Phi.T @ direction).abs().max())
        v0 = world.Phi.T @ direction
    else:
        v0 = 2 * torch.rand(world.vocab_size, generator=gen, dtype=DTYPE) - 1
        v0 = v0 * B / float(v0.abs().max())
        direction = v0
    raw = world.p_star @ v0
    b0 = -float(raw @ p_T)  # centre: classes roughly balanced under p_T
    q = torch.where(raw + b0 > 0, 1 - label_noise, label_noise).to(DTYPE)
    Phi = world.Phi if phi_natural else None
    x, b, tau = best_bounded_classifier(world.p_star, q, p_T, B, Phi=Phi, start=direction)
    lam, v = (x, world.Phi.T @ x) if phi_natural else (None, x)
    return Task(p_T=p_T, q=q, v=v, b=b, lam=lam, B=B, tau=tau, gamma=coverage(world.p_L, p_T))


@dataclass(frozen=True, eq=False)
class Model:
    """A softmax LM ``f = f_opt + t * direction`` with a known excess loss ``eps`` (nats)."""

    f: torch.Tensor
    p: torch.Tensor
    eps: float
    t: float
    kind: str


def _score_gradients(world: World, task: Task) -> torch.Tensor:
    """``d/dtheta v^T p_theta`` at ``f_opt(s)``: ``Cov_{w ~ p(s)}(phi_w, v_w) = Phi (diag p - p p^T) v``, (N, d)."""
    p = world.predict(world.f_opt)
    return (p * task.v) @ world.Phi.T - (p @ task.v)[:, None] * (p @ world.Phi.T)


def _first_order(world: World, task: Task) -> torch.Tensor:
    """How the task's fixed-classifier loss moves, at first order, when ``f_opt`` moves: (N, d).

    Moving ``f(s)`` by ``t u(s)`` changes ``l_T(p_f, v)`` by ``t sum_s <first_order(s), u(s)> + O(t^2)``.
    """
    p = world.predict(world.f_opt)
    slope = task.p_T * (torch.sigmoid(p @ task.v + task.b) - task.q)
    return slope[:, None] * _score_gradients(world, task)


def _direction(world: World, kind: str, task: Task | None, seed: int) -> torch.Tensor:
    """Per-context perturbation directions (N, d), scaled to ``E_{p_L} ||direction||^2 = 1``."""
    if kind in TASK_KINDS and task is None:
        raise ValueError(f"kind={kind!r} needs the task it works against: pass task=...")
    if kind in ("random", "orthogonal"):
        direction = torch.randn(world.n_contexts, world.dim, generator=_generator(seed), dtype=DTYPE)
        if kind == "orthogonal":
            # Project out the one component that changes the task's loss at first order: an error
            # invisible to the task's classifier to first order, a construction, not random errors.
            first = _first_order(world, task)
            direction = direction - (direction * first).sum() / first.pow(2).sum() * first
    else:
        # Push each context's score towards the wrong side, where the task looks (weight p_T / p_L).
        # "adversarial" reads the side from the label; "margin" only from the context, through the
        # sign of the task's classifier on the true distribution, so it carries no label.
        if kind == "adversarial":
            side = torch.sign(task.q - 0.5)
        else:
            side = torch.sign(world.p_star @ task.v + task.b)
        weight = task.p_T / world.p_L
        direction = -(side * weight)[:, None] * _score_gradients(world, task)
    norm = float(world.p_L @ direction.pow(2).sum(-1)) ** 0.5
    if norm == 0:
        raise ValueError(f"the {kind!r} direction is zero in this world: no model can move along it")
    return direction / norm


@single_thread()
def eps_optimal_model(
    world: World,
    eps: float,
    kind: str = "random",
    *,
    task: Task | None = None,
    seed: int = 0,
    rtol: float = 1e-3,
    max_t: float = 1e3,
) -> Model:
    """A softmax LM whose excess loss ``L(f, Phi) - L*(Phi)`` equals ``eps`` to relative ``rtol``.

    The features move from ``f_opt`` along a fixed direction, ``f = f_opt + t * direction``, and
    ``t`` is found by a bracketing root search (the excess loss grows with ``t``).

    Parameters
    ----------
    eps : float, >= 0
        The excess cross-entropy to reach, in nats.
    kind : {"random", "orthogonal", "margin", "adversarial"}
        ``"random"``: an independent Gaussian direction per context; no task needed. Its first-order
        effect on a task averages out only partly over the N contexts, so the fixed classifier's gap
        grows like ``sqrt(eps / N)`` at small eps and like ``eps`` past a crossover near ``1 / N``.
        ``"orthogonal"``: a random direction less the single component that would change ``task``'s
        loss at first order (a construction: errors invisible to the task to first order; gap ~ eps).
        ``"margin"``: the label-free adversary: every context's score under the task's classifier
        moves towards the decision boundary (the side read from ``sign(v^T p*(s) + b)``), along the
        gradient of the score, weighted by ``p_T / p_L``. ``"adversarial"``: the same against each
        context's label; the direction then carries the labels, so a classifier refitted on its
        features can read them back and go below tau: use it only with the task's fixed classifier.
    """
    eps = check_number(eps, "eps", low=0)
    check_choice(kind, "perturbation kind", PERTURBATIONS)
    direction = _direction(world, kind, task, seed)

    def excess(t):
        return world.excess_loss(world.f_opt + t * direction)

    if eps == 0:
        return Model(world.f_opt, world.predict(world.f_opt), 0.0, 0.0, kind)
    top = excess(max_t)
    if eps > top:
        raise ValueError(
            f"eps = {eps:g} nats cannot be reached in this world along the {kind!r} direction: "
            f"the largest excess loss it reaches is {top:.4g} nats; allowed: 0 <= eps <= {top:.4g}"
        )
    # sqrt(excess) is close to linear in t, so regula falsi on it (Illinois variant) converges fast.
    def gap(t):
        return math.sqrt(max(excess(t), 0.0)) - math.sqrt(eps)

    lo, hi = 0.0, 1.0
    g_lo, g_hi = -math.sqrt(eps), gap(hi)
    while g_hi < 0:
        lo, g_lo = hi, g_hi
        hi = min(2 * hi, max_t)
        g_hi = gap(hi)
    side = 0
    for _ in range(200):
        mid = (lo * g_hi - hi * g_lo) / (g_hi - g_lo)
        value = excess(mid)
        if abs(value - eps) <= rtol * eps:
            break
        g_mid = math.sqrt(max(value, 0.0)) - math.sqrt(eps)
        if g_mid < 0:
            lo, g_lo = mid, g_mid
            if side == -1:
                g_hi /= 2
            side = -1
        else:
            hi, g_hi = mid, g_mid
            if side == 1:
                g_lo /= 2
            side = 1
    f = world.f_opt + mid * direction
    return Model(f, world.predict(f), value, mid, kind)


def _eps_true(world: World, model: Model) -> float:
    """``L(p_f) - L*``, the excess over the truth (Theorem 4.1's eps); equals ``model.eps`` when realizable."""
    return world.excess_loss_any(world.log_predict(model.f))


@single_thread()
def mixture_model(world: World, eps: float, *, seed: int = 0) -> torch.Tensor:
    """A language model that is not a softmax model, at excess loss ``eps``: ``p = (1 - a) p* + a r``.

    ``r(s)`` is a random distribution per context, uniform on the simplex (a Dirichlet(1, ..., 1)
    draw). The excess loss ``E_{p_L} KL(p*(s) || p(s))`` grows with ``a`` (KL is convex in its second
    argument and 0 at ``a = 0``), so ``a`` is found by a root search, to about 1e-13 relative.

    Parameters
    ----------
    eps : float, >= 0
        The excess cross-entropy to reach, in nats; at most that of ``r`` itself (``a = 1``).
    seed : int
        Seeds ``r``.

    Returns
    -------
    tensor, shape (N, V)
        ``p(s)`` for every context (float64).

    Explained in chapter 4 (Theorem 4.1 holds for any language model). Example:
    ``p = mixture_model(world, 1e-3); world.excess_loss_any(p.log())`` -> ``0.001``.
    """
    eps = check_number(eps, "eps", low=0)
    seed = check_int(seed, "seed", low=0)
    r = -torch.rand((world.n_contexts, world.vocab_size), generator=_generator(seed), dtype=DTYPE).log()
    r = r / r.sum(-1, keepdim=True)

    def excess(a):
        return world.excess_loss_any(torch.log((1 - a) * world.p_star + a * r))

    top = excess(1.0)
    if eps > top:
        raise ValueError(f"eps = {eps:g} nats is more than the mixture reaches in this world: r itself has "
                         f"excess loss {top:.4g} nats; allowed: 0 <= eps <= {top:.4g}")
    a = optimize.brentq(lambda a: excess(a) - eps, 0.0, 1.0, xtol=1e-15, rtol=1e-13)
    return (1 - a) * world.p_star + a * r


@single_thread()
def evaluate(world: World, task: Task, eps: float, kind: str = "margin", *, seed: int = 0) -> dict:
    """Everything one point of the eps slider shows, with each bound from the eps its theorem is about.

    Builds ``eps_optimal_model(world, eps, kind)`` (``eps = L(f, Phi) - L*(Phi)``) and returns a dict:

    * ``kind``, ``eps`` (reached, against ``L*(Phi)``), ``eps_true`` (``L(p_f) - L*``, against the
      truth; the same number in a realizable world), ``tau``;
    * ``loss_fixed``: the task's own classifier on ``p_f``; ``loss_refit``: a classifier refitted on
      the conditional mean features ``Phi p_f``;
    * ``bound_thm1 = tau + sqrt(2 B^2 eps_true / gamma)`` (Theorem 4.1, any LM: bounds ``loss_fixed``);
    * ``bound_thm2 = tau + sqrt(2 B^2 eps / gamma)`` (Theorem 5.1: bounds ``loss_refit`` and
      ``loss_fixed``), NaN when the task is not natural w.r.t. Phi, for which it does not apply;
    * ``bound``: the tightest bound that applies to ``loss_fixed`` (Theorem 5.1's when the task is
      natural w.r.t. Phi, since ``eps <= eps_true``), and ``theorem``, which one, as the book numbers
      it: ``"4.1"`` or ``"5.1"`` (the column names keep the paper's Theorems 1 and 2).

    With ``kind="adversarial"`` the features carry the labels, so ``loss_refit`` may fall below tau;
    the label-free ``"margin"`` adversary (the default) does not have this leak.
    """
    model = eps_optimal_model(world, eps, kind, task=task, seed=seed)
    eps_true = _eps_true(world, model)
    thm1 = float(task.bound(eps_true))
    thm2 = float(task.bound(model.eps)) if task.phi_natural else math.nan  # eps <= eps_true: never looser
    theorem = "5.1" if task.phi_natural else "4.1"
    return {
        "kind": kind,
        "eps": model.eps,
        "eps_true": eps_true,
        "tau": task.tau,
        "bound_thm1": thm1,
        "bound_thm2": thm2,
        "bound": thm2 if task.phi_natural else thm1,
        "theorem": theorem,
        "loss_fixed": task.loss_fixed(model.p),
        "loss_refit": task.loss_refit(conditional_mean(model.p, world.Phi)),
    }


@single_thread()
def sweep(
    world: World,
    task: Task,
    eps_grid,
    kinds=("margin", "random"),
    *,
    seed: int = 0,
) -> pd.DataFrame:
    """:func:`evaluate` over a grid of eps and perturbation kinds; one row per (kind, eps)."""
    grid = check_eps_grid(eps_grid)
    rows = [evaluate(world, task, eps, kind, seed=seed) for kind in kinds for eps in grid]
    return pd.DataFrame(rows)


@single_thread()
def error_path(world: World, task: Task, kind: str, eps_grid, *, seed: int = 0) -> pd.DataFrame:
    """The fixed classifier's gap along one error direction, at about the excess losses ``eps_grid``.

    Cheaper than :func:`sweep` (no root search, no refit): the features move to
    ``f_opt + t u`` with ``t = sqrt(eps / c)``, where ``c = excess(t) / t^2`` is measured at the smallest
    eps, and the excess loss actually reached is reported (it drifts from the grid where the excess is
    no longer quadratic in ``t``). Returns a DataFrame with columns ``eps``, ``t``, ``gap``
    (``l_T(p_f, v) - tau``, which can be negative), one row per grid point.
    """
    check_choice(kind, "perturbation kind", PERTURBATIONS)
    grid = check_eps_grid(eps_grid)
    direction = _direction(world, kind, task, seed)
    t0 = 1e-3
    curvature = world.excess_loss(world.f_opt + t0 * direction) / t0**2
    rows = []
    for eps in grid:
        t = math.sqrt(eps / curvature)
        f = world.f_opt + t * direction
        rows.append({"eps": world.excess_loss(f), "t": t, "gap": task.loss_fixed(world.predict(f)) - task.tau})
    return pd.DataFrame(rows)


def gap_expansion(eps, gap) -> tuple[float, float, float]:
    """Fit ``gap = a1 sqrt(eps) + a2 eps`` (first- and second-order terms); return ``(a1, a2, crossover)``.

    ``crossover = (a1 / a2)^2`` is the eps where the two terms are equal: below it the gap grows like
    ``sqrt(eps)``, above it like ``eps``. The fit is a straight line of ``gap / sqrt(eps)`` against
    ``sqrt(eps)``; use eps small enough that higher orders do not matter. Shapes: ``(n,)``, ``(n,)``.
    """
    eps, gap = np.asarray(eps, dtype=float), np.asarray(gap, dtype=float)
    if eps.shape != gap.shape or eps.ndim != 1 or len(eps) < 2:
        raise ValueError(f"eps and gap must be 1-D of the same length >= 2, got shapes {eps.shape} and {gap.shape}")
    if not (eps > 0).all():
        raise ValueError(f"eps must be positive, got {eps[~(eps > 0)][0]:g}")
    a2, a1 = np.polyfit(np.sqrt(eps), gap / np.sqrt(eps), 1)
    return float(a1), float(a2), float((a1 / a2) ** 2)


@single_thread()
def random_error_terms(world: World, task: Task) -> dict:
    """The typical fixed-classifier gap of random errors, ``gap ~ a1 sqrt(eps) + a2 eps``, predicted.

    ``a1_rms``: the root mean square, over random Gaussian directions, of the first-order coefficient
    (to leading order in 1/N: ``sqrt(sum_s ||g(s)||^2 / d) / sqrt(c)``, with ``g`` the loss's first-order
    sensitivity per context and ``c = E_{p_L} tr Cov_{p(s)}(phi) / (2d)`` the excess loss's curvature);
    it falls like ``1/sqrt(N)``. ``a2``: the second-order coefficient, measured along three orthogonal
    directions at ``eps = 1e-4`` (where the first order is zero by construction) and averaged. ``crossover``:
    ``(a1_rms / a2)^2``, the eps above which the ``eps`` term wins; it falls like ``1/N``.
    Returns a dict with these three numbers and ``n_contexts``.
    """
    first = _first_order(world, task)
    p = world.predict(world.f_opt)
    mean = p @ world.Phi.T
    trace = (p * world.Phi.pow(2).sum(0)).sum(-1) - mean.pow(2).sum(-1)  # tr Cov_{p(s)}(phi), (N,)
    curvature = float(world.p_L @ trace) / (2 * world.dim)
    a1 = math.sqrt(float(first.pow(2).sum()) / world.dim / curvature)
    ortho = [error_path(world, task, "orthogonal", [1e-4], seed=seed) for seed in range(3)]
    a2 = float(np.mean([float(o["gap"].iloc[0] / o["eps"].iloc[0]) for o in ortho]))
    return {"n_contexts": world.n_contexts, "a1_rms": a1, "a2": a2, "crossover": (a1 / a2) ** 2}

