"""Expected logistic loss with soft labels, and its minimisation by Newton's method.

A binary task gives each context ``s`` a probability ``q(s) = P(y = +1 | s)`` and a weight
``p_T(s)``. A score ``z(s)`` then has expected logistic loss
``E_{s ~ p_T} [q(s) log(1 + e^{-z(s)}) + (1 - q(s)) log(1 + e^{z(s)})]``, in nats.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .checks import check_distribution, check_tensor

__all__ = ["expected_logistic_loss", "binary_entropy", "fit_logistic"]


def expected_logistic_loss(scores: torch.Tensor, q: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``E_{s ~ weights} [q l(z) + (1 - q) l(-z)]`` with ``l(z) = log(1 + e^{-z})``.

    Shapes: ``scores (N,)``, ``q (N,)``, ``weights (N,)`` -> scalar (nats).
    """
    per_context = q * F.softplus(-scores) + (1 - q) * F.softplus(scores)
    return (weights * per_context).sum()


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
