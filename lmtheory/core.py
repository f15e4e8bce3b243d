"""The formulas of softmax language models, in torch.

Every function here is batched over leading dimensions and works in log-space where it matters.
Shapes use ``V`` for the vocabulary size, ``d`` for the feature dimension and ``...`` for any
number of leading (batch) dimensions; ``Phi`` always has shape ``(d, V)``, one column per word.

>>> import torch
>>> Phi = torch.eye(2, 3, dtype=torch.float64)
>>> round(float(log_partition(torch.zeros(2, dtype=torch.float64), Phi)), 4)  # log 3
1.0986
"""

from __future__ import annotations

import torch

from .checks import check_distribution, check_log_distribution, check_matching, check_matrix, check_same_shape

__all__ = [
    "log_partition",
    "softmax_lm",
    "log_softmax_lm",
    "entropy",
    "cross_entropy",
    "kl_divergence",
    "expected",
    "excess_loss",
    "conditional_mean",
    "softmax_context_loss",
    "quad_context_loss",
    "quad_minimiser",
    "quad_excess_loss",
]


def log_partition(theta: torch.Tensor, Phi: torch.Tensor) -> torch.Tensor:
    """Log-partition function ``log Z(theta) = log sum_w exp(theta^T phi_w)``.

    Parameters
    ----------
    theta : tensor, shape (..., d)
    Phi : tensor, shape (d, V)

    Returns
    -------
    tensor, shape (...,)

    Example: ``log_partition(torch.zeros(d), Phi)`` is ``log V``.
    """
    check_matrix(Phi, "Phi")
    check_matching(theta, Phi, "theta", "Phi")
    return torch.logsumexp(theta @ Phi, dim=-1)


def log_softmax_lm(theta: torch.Tensor, Phi: torch.Tensor) -> torch.Tensor:
    """Log-probabilities ``log p_theta = Phi^T theta - log Z(theta)`` of a softmax LM.

    Shapes: ``theta (..., d)``, ``Phi (d, V)`` -> ``(..., V)``.
    """
    check_matrix(Phi, "Phi")
    check_matching(theta, Phi, "theta", "Phi")
    return torch.log_softmax(theta @ Phi, dim=-1)


def softmax_lm(theta: torch.Tensor, Phi: torch.Tensor) -> torch.Tensor:
    """The softmax LM's next-word distribution ``p_theta = softmax(Phi^T theta)``.

    Shapes: ``theta (..., d)``, ``Phi (d, V)`` -> ``(..., V)``; every row sums to 1.

    Example: ``softmax_lm(f, Phi)`` is ``p_f(s)`` for features ``f = f(s)``.
    """
    return log_softmax_lm(theta, Phi).exp()


def entropy(p: torch.Tensor) -> torch.Tensor:
    """Shannon entropy in nats, ``H(p) = -sum_w p_w log p_w`` (with ``0 log 0 = 0``).

    Shapes: ``p (..., V)`` -> ``(...,)``.
    """
    check_distribution(p, "p")
    return -torch.xlogy(p, p).sum(-1)


def cross_entropy(p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """Cross-entropy ``E_{w ~ p} [-log q_w]`` in nats, from the log-probabilities of ``q``.

    Words with ``p_w = 0`` contribute nothing, even where ``log q_w = -inf``.

    Shapes: ``p (..., V)``, ``log_q (..., V)`` -> ``(...,)``.
    """
    check_distribution(p, "p")
    check_same_shape(p, log_q, "p", "log_q")
    check_log_distribution(log_q, "log_q")
    return -torch.where(p > 0, p * log_q, torch.zeros_like(p)).sum(-1)


def kl_divergence(p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """``KL(p || q) = sum_w p_w (log p_w - log q_w)`` in nats, from the log-probabilities of ``q``.

    Summed term by term over the words with ``p_w > 0``, so it is never the difference of two
    large numbers (``excess_loss`` is, and the book compares the two).

    Shapes: ``p (..., V)``, ``log_q (..., V)`` -> ``(...,)``; always ``>= 0`` up to rounding.

    Example: ``kl_divergence(p_star, log_softmax_lm(f, Phi))`` is ``KL(p*(s) || p_f(s))``.
    """
    check_distribution(p, "p")
    check_same_shape(p, log_q, "p", "log_q")
    check_log_distribution(log_q, "log_q")
    positive = p > 0
    terms = p * (torch.where(positive, p, torch.ones_like(p)).log() - log_q)
    return torch.where(positive, terms, torch.zeros_like(p)).sum(-1)


def expected(weights: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """``E_{s ~ weights} [values(s)]`` for a distribution over contexts.

    Shapes: ``weights (N,)``, ``values (N,)`` -> scalar.
    """
    check_distribution(weights, "weights")
    if values.shape != weights.shape:
        raise ValueError(
            f"values has shape {tuple(values.shape)} but the context distribution has "
            f"shape {tuple(weights.shape)}: they must match"
        )
    return (weights * values).sum()


def excess_loss(p_L: torch.Tensor, p_star: torch.Tensor, log_p: torch.Tensor) -> torch.Tensor:
    """Excess cross-entropy ``L(p) - L*`` of a language model, computed as a difference.

    ``L(p) = E_{s ~ p_L} E_{w ~ p*(s)} [-log p(s)_w]`` and ``L* = E_{s ~ p_L} H(p*(s))``.
    The identity ``L(p) - L* = E_{s ~ p_L} KL(p*(s) || p(s))`` is what the book checks; this
    function deliberately does not use it.

    Shapes: ``p_L (N,)``, ``p_star (N, V)``, ``log_p (N, V)`` -> scalar (nats).
    """
    return expected(p_L, cross_entropy(p_star, log_p)) - expected(p_L, entropy(p_star))


def conditional_mean(p: torch.Tensor, Phi: torch.Tensor) -> torch.Tensor:
    """Conditional mean features ``Phi p = E_{w ~ p} [phi_w]``.

    Shapes: ``p (..., V)``, ``Phi (d, V)`` -> ``(..., d)``.

    Example: ``conditional_mean(softmax_lm(f, Phi), Phi)`` is ``Phi p_f(s)``, which also equals
    the gradient of ``log Z`` at ``f(s)``.
    """
    check_matrix(Phi, "Phi")
    check_matching(p, Phi, "p", "Phi", dims=(-1,), other_dims=(1,))
    return p @ Phi.T


def softmax_context_loss(theta: torch.Tensor, Phi: torch.Tensor, p_star: torch.Tensor) -> torch.Tensor:
    """Per-context cross-entropy of a softmax LM, ``-theta^T Phi p* + log Z(theta)``.

    Shapes: ``theta (..., d)``, ``Phi (d, V)``, ``p_star (..., V)`` -> ``(...,)``.
    Its gradient in ``theta`` is ``Phi p_theta - Phi p*``.
    """
    check_matching(theta, Phi, "theta", "Phi")
    check_distribution(p_star, "p_star")
    mean_star = conditional_mean(p_star, Phi)
    return -(theta * mean_star).sum(-1) + log_partition(theta, Phi)


def quad_context_loss(theta: torch.Tensor, Phi: torch.Tensor, p_star: torch.Tensor) -> torch.Tensor:
    """Per-context Quad loss, ``-theta^T Phi p* + 1/2 ||Phi^T theta||^2``.

    This is the softmax loss with ``log Z(theta)`` replaced by the quadratic ``1/2 ||Phi^T theta||^2``.
    Shapes: ``theta (..., d)``, ``Phi (d, V)``, ``p_star (..., V)`` -> ``(...,)``.
    """
    check_matching(theta, Phi, "theta", "Phi")
    check_distribution(p_star, "p_star")
    mean_star = conditional_mean(p_star, Phi)
    return -(theta * mean_star).sum(-1) + 0.5 * (theta @ Phi).pow(2).sum(-1)


def quad_minimiser(Phi: torch.Tensor, p_star: torch.Tensor) -> torch.Tensor:
    """The minimiser of the Quad loss, ``f*(s) = (Phi Phi^T)^{-1} Phi p*(s)``.

    Shapes: ``Phi (d, V)`` of rank ``d``, ``p_star (..., V)`` -> ``(..., d)``.
    """
    check_distribution(p_star, "p_star")
    mean_star = conditional_mean(p_star, Phi)
    gram = Phi @ Phi.T
    if torch.linalg.matrix_rank(gram) < gram.shape[0]:
        raise ValueError(
            f"Phi Phi^T must be invertible for the Quad minimiser, but Phi of shape "
            f"{tuple(Phi.shape)} has rank {int(torch.linalg.matrix_rank(Phi))} < d = {Phi.shape[0]}"
        )
    return torch.linalg.solve(gram, mean_star.unsqueeze(-1)).squeeze(-1)


def quad_excess_loss(theta: torch.Tensor, Phi: torch.Tensor, p_star: torch.Tensor) -> torch.Tensor:
    """Per-context excess Quad loss by its closed form ``1/2 ||Phi^T (theta - f*(s))||^2``.

    Shapes: ``theta (..., d)``, ``Phi (d, V)``, ``p_star (..., V)`` -> ``(...,)``.
    """
    check_matching(theta, Phi, "theta", "Phi")
    return 0.5 * ((theta - quad_minimiser(Phi, p_star)) @ Phi).pow(2).sum(-1)
