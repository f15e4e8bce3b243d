"""Expected logistic loss with soft labels, its minimisation (Newton's method, or over a box of
weights), and held-out losses.

A binary task gives each context ``s`` a probability ``q(s) = P(y = +1 | s)`` and a weight
``p_T(s)``. A score ``z(s)`` then has expected logistic loss
``E_{s ~ p_T} [q(s) log(1 + e^{-z(s)}) + (1 - q(s)) log(1 + e^{z(s)})]``, in nats.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy import optimize

from .checks import check_distribution, check_int, check_number, check_same_shape, check_tensor

__all__ = ["per_context_logistic_loss", "expected_logistic_loss", "binary_entropy", "fit_logistic",
           "held_out_logistic_loss", "logistic_objective", "fit_bounded", "fit_bias"]


def per_context_logistic_loss(scores: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Each context's expected logistic loss ``q l(z) + (1 - q) l(-z)``, ``l(z) = log(1 + e^{-z})``.

    The loss of a linear classifier's score ``z(s)`` on a context whose label is +1 with probability
    ``q(s)``, in nats. Explained in chapter 4 (step 1 of the proof compares it on two models).

    Parameters
    ----------
    scores : tensor, shape (N,)
        ``z(s) = v^T p(s) + b`` for each context (any shape, as long as ``q`` has the same).
    q : tensor, shape (N,)
        ``P(y = +1 | s)``, in [0, 1].

    Returns
    -------
    tensor, shape (N,)

    Example: ``per_context_logistic_loss(p @ task.v + task.b, task.q)``.
    """
    check_same_shape(scores, q, "scores", "q")
    check_tensor(scores, "scores")
    check_tensor(q, "q")
    if not bool(((q >= 0) & (q <= 1)).all()):
        bad = float(q[(q < 0) | (q > 1)][0])
        raise ValueError(f"q holds probabilities P(y = +1 | s), but one entry is {bad:g}; allowed: [0, 1]")
    return _per_context(scores, q)


def _per_context(scores: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """:func:`per_context_logistic_loss` without the checks (inside Newton's loop a score may be inf)."""
    return q * F.softplus(-scores) + (1 - q) * F.softplus(scores)


def expected_logistic_loss(scores: torch.Tensor, q: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``E_{s ~ weights} [q l(z) + (1 - q) l(-z)]`` with ``l(z) = log(1 + e^{-z})``.

    Shapes: ``scores (N,)``, ``q (N,)``, ``weights (N,)`` -> scalar (nats).
    """
    return (weights * _per_context(scores, q)).sum()


def binary_entropy(q: torch.Tensor) -> torch.Tensor:
    """Entropy of a coin with ``P(heads) = q``, in nats: the least expected logistic loss any
    score can reach on a context whose label is +1 with probability ``q``. Shape-preserving."""
    return -(torch.xlogy(q, q) + torch.xlogy(1 - q, 1 - q))


def fit_logistic(
    features: torch.Tensor,
    q: torch.Tensor,
    weights: torch.Tensor,
    *,
    max_iter: int = 100,
    tol: float = 1e-10,
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Fit an unconstrained linear classifier ``z = features @ w + b`` by Newton's method.

    Parameters
    ----------
    features : tensor, shape (N, k)
    q : tensor, shape (N,)
        ``P(y = +1 | s)`` for each context, in [0, 1].
    weights : tensor, shape (N,)
        The task's distribution over contexts.

    Returns
    -------
    w : tensor, shape (k,)
    b : tensor, shape ()
    loss : float
        The minimal expected logistic loss (nats).
    """
    check_distribution(weights, "weights")
    check_tensor(features, "features")
    check_tensor(q, "q")
    if features.dim() != 2 or features.shape[0] != q.shape[0] or q.shape != weights.shape:
        raise ValueError(
            f"features must be (N, k) with q and weights (N,); got {tuple(features.shape)}, "
            f"{tuple(q.shape)} and {tuple(weights.shape)}"
        )
    # Standardise the columns (under the task's weights) so one Newton step size fits all.
    mean = weights @ features
    scale = (weights @ (features - mean) ** 2).sqrt().clamp_min(1e-12)
    X = torch.cat([(features - mean) / scale, torch.ones_like(q)[:, None]], dim=1)
    theta = torch.zeros(X.shape[1], dtype=X.dtype)
    ridge = 1e-10 * torch.eye(X.shape[1], dtype=X.dtype)
    loss = expected_logistic_loss(X @ theta, q, weights)
    for _ in range(max_iter):
        sig = torch.sigmoid(X @ theta)
        grad = X.T @ (weights * (sig - q))
        if grad.abs().max() < tol:
            break
        hess = (X * (weights * sig * (1 - sig))[:, None]).T @ X + ridge
        step = torch.linalg.solve(hess, grad)
        size = 1.0
        new_loss = expected_logistic_loss(X @ (theta - step), q, weights)
        while new_loss > loss and size > 1e-8:  # backtracking: every step descends
            size /= 2
            new_loss = expected_logistic_loss(X @ (theta - size * step), q, weights)
        if new_loss > loss:  # no descent left at machine precision
            break
        theta, loss = theta - size * step, new_loss
    w = theta[:-1] / scale
    b = theta[-1] - (w * mean).sum()
    return w, b, float(loss)


def held_out_logistic_loss(
    features: torch.Tensor,
    q: torch.Tensor,
    weights: torch.Tensor,
    *,
    n_splits: int = 5,
) -> tuple[float, float]:
    """Mean and standard deviation of a refitted classifier's loss on held-out halves of the contexts.

    For each split ``k = 0, ..., n_splits - 1``, the contexts are shuffled with seed ``k`` and cut in
    two halves; :func:`fit_logistic` fits on the first half (its weights renormalised) and the
    expected logistic loss is measured on the second. Explained in chapter 5 (which feature maps
    keep what a task needs, once the classifier has to generalise).

    Parameters
    ----------
    features : tensor, shape (N, k)
    q : tensor, shape (N,)
        ``P(y = +1 | s)`` for each context, in [0, 1].
    weights : tensor, shape (N,)
        The task's distribution over contexts.
    n_splits : int
        How many random splits (at least 1).

    Returns
    -------
    mean, std : float
        Over the splits, in nats (``std`` is numpy's population standard deviation).

    Example: ``held_out_logistic_loss(world.p_star, task.q, task.p_T)``.
    """
    n_splits = check_int(n_splits, "n_splits", low=1)
    check_distribution(weights, "weights")
    check_tensor(features, "features")
    if features.dim() != 2 or features.shape[0] < 4:
        raise ValueError(f"features must be (N, k) with N >= 4 contexts to split in halves, "
                         f"got shape {tuple(features.shape)}")
    losses = []
    for split in range(n_splits):
        perm = torch.randperm(len(q), generator=torch.Generator().manual_seed(split))
        train, test = perm[: len(perm) // 2], perm[len(perm) // 2:]
        w_train, w_test = weights[train] / weights[train].sum(), weights[test] / weights[test].sum()
        coef, bias, _ = fit_logistic(features[train], q[train], w_train)
        losses.append(float(expected_logistic_loss(features[test] @ coef + bias, q[test], w_test)))
    return float(np.mean(losses)), float(np.std(losses))


def logistic_objective(X: np.ndarray, q: np.ndarray, weights: np.ndarray):
    """The expected logistic loss of ``z = X v + b`` as a function of ``x = (v, b)``, with its gradient.

    Shapes: ``X (n, k)``, ``q (n,)`` in [0, 1], ``weights (n,)``. Returns ``objective(x)`` for
    ``x`` of shape (k + 1,), giving ``(loss, gradient of shape (k + 1,))``: what scipy's minimisers take.
    """
    X, q, weights = (np.asarray(a, dtype=np.float64) for a in (X, q, weights))
    k = X.shape[1]

    def objective(x):
        z = X @ x[:k] + x[k]
        loss = weights @ (q * np.logaddexp(0, -z) + (1 - q) * np.logaddexp(0, z))
        residual = weights * (0.5 * (1 + np.tanh(z / 2)) - q)  # weights * (sigmoid(z) - q), no overflow
        return loss, np.append(X.T @ residual, residual.sum())

    return objective


def _uniform_or(weights, n: int) -> np.ndarray:
    return np.full(n, 1 / n) if weights is None else np.asarray(weights, dtype=np.float64)


def _check_fit_inputs(X: np.ndarray, q: np.ndarray, weights: np.ndarray) -> None:
    if X.ndim != 2 or q.shape != (len(X),) or weights.shape != q.shape or len(X) == 0:
        raise ValueError(f"X must be (n, k) with q and weights (n,), n >= 1; got {X.shape}, {q.shape} "
                         f"and {weights.shape}")
    if not (np.all((q >= 0) & (q <= 1)) and np.all(weights >= 0) and weights.sum() > 0):
        raise ValueError("q holds probabilities P(y = +1 | s) in [0, 1] and weights are >= 0, not all zero")


def fit_bounded(X, q, B: float, weights=None, *, start=None) -> tuple[np.ndarray, float, float]:
    """The linear classifier ``z = X v + b`` of least expected logistic loss with ``||v||_inf <= B``.

    The problem is convex. L-BFGS-B solves it over ``u = v / B`` in the box ``[-1, 1]^k`` (and a free
    ``b``), which stays well conditioned when ``B`` is huge. Explained in chapter 2 (a classifier of
    bounded weights on real features); chapters 4 and 5 use it as the synthetic tasks' ``tau``.

    Parameters
    ----------
    X : array, shape (n, k)
        Features of ``n`` contexts (or texts).
    q : array, shape (n,)
        ``P(y = +1 | s)``, in [0, 1]: for labelled texts with ``y`` in {-1, +1}, ``(y + 1) / 2``.
    B : float
        The bound on every weight, > 0.
    weights : array, shape (n,), optional
        The contexts' weights (a distribution); uniform when omitted.
    start : array, shape (k,), optional
        A feasible ``v`` to start from (zeros when omitted).

    Returns
    -------
    v : array, shape (k,)
    b : float
    loss : float
        The least expected logistic loss, in nats.

    Example: ``v, b, loss = fit_bounded(P, (y + 1) / 2, B=10.0)``.
    """
    B = check_number(B, "B", low=0, low_open=True)
    X, q = np.asarray(X, dtype=np.float64), np.asarray(q, dtype=np.float64)
    weights = _uniform_or(weights, len(q))
    _check_fit_inputs(X, q, weights)
    k = X.shape[1]
    objective = logistic_objective(X, q, weights)

    def scaled(x):  # x = (u, b) with v = B u
        loss, grad = objective(np.append(B * x[:k], x[k]))
        return loss, np.append(B * grad[:k], grad[k])

    x0 = np.zeros(k + 1) if start is None else np.append(np.asarray(start, dtype=np.float64) / B, 0.0)
    result = optimize.minimize(scaled, x0, jac=True, method="L-BFGS-B", bounds=[(-1, 1)] * k + [(None, None)],
                               options={"maxiter": 2000, "ftol": 1e-13})
    return B * result.x[:k], float(result.x[k]), float(result.fun)


def fit_bias(scores, q, weights=None) -> tuple[float, float]:
    """The bias ``b`` of least expected logistic loss for the fixed scores ``z + b``; returns ``(b, loss)``.

    A classifier whose weights are fixed and only its bias is fitted (chapter 2 fixes the weights at
    ``B v``). Shapes: ``scores (n,)``, ``q (n,)`` in [0, 1], ``weights (n,)`` (uniform when omitted).
    Example: ``fit_bias(B * z, (y + 1) / 2)``.
    """
    scores, q = np.asarray(scores, dtype=np.float64), np.asarray(q, dtype=np.float64)
    weights = _uniform_or(weights, len(q))
    _check_fit_inputs(scores[:, None], q, weights)
    objective = logistic_objective(scores[:, None], q, weights)
    reach = np.abs(scores).max() + 20.0  # the best bias lies in [-reach, reach]
    result = optimize.minimize_scalar(lambda b: objective(np.array([1.0, b]))[0], bounds=(-reach, reach),
                                      method="bounded", options={"xatol": 1e-6})
    return float(result.x), float(result.fun)
