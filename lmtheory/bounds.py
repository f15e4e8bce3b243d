"""The right-hand sides of the book's theorems, in one place.

All functions take plain numbers (or numpy arrays of ``eps`` for a whole curve) and return the
same. Losses and ``eps`` are in nats. :func:`check_bound` is the guard a chapter puts on an
inequality it states: held on every instance, and how tightly (chapter 4, step by step).

>>> round(sqrt_eps_bound(tau=0.3, B=1.0, eps=0.02, gamma=0.5), 4)
0.5828
"""

from __future__ import annotations

import numpy as np

from .checks import check_number

__all__ = ["pinsker", "key_lemma_bound", "sqrt_eps_bound", "quad_bound", "eps_for_loss", "check_bound"]


#: How far below zero a KL divergence may come out of floating-point rounding and still count as 0.
ROUNDING = 1e-12


def _check_eps(eps, name: str = "eps", *, rounding: float = 0.0):
    """``eps`` (a number or an array of numbers) as a float array of values ``>= 0``; values in
    ``[-rounding, 0)`` count as rounding noise and become 0."""
    if eps is None or isinstance(eps, (str, bytes, dict)):
        raise TypeError(f"{name} must be a number or an array of numbers, got {type(eps).__name__} {eps!r}")
    try:
        eps = np.asarray(eps, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or an array of numbers, got {eps!r:.80}") from None
    if eps.size == 0:
        raise ValueError(f"{name} is empty; give a number or a non-empty array of numbers")
    bad = np.isnan(eps) | (eps < -rounding)
    if bad.any():
        noise = f" (values down to -{rounding:g} count as rounding noise)" if rounding else ""
        raise ValueError(f"{name} = {eps[bad].flat[0]:g} is not allowed: {name} must be >= 0 (nats){noise}")
    return np.maximum(eps, 0.0)


def _scalar_or_array(x):
    return float(x) if np.ndim(x) == 0 else x


def pinsker(kl):
    """Pinsker's inequality: ``||p - q||_1 <= sqrt(2 KL(p || q))``; returns the right-hand side.

    ``kl`` (nats, a number or an array) must be ``>= 0``; a computed KL a hair below zero, down to
    ``-ROUNDING`` (1e-12), is floating-point noise and is treated as 0.
    """
    return _scalar_or_array(np.sqrt(2 * _check_eps(kl, "kl", rounding=ROUNDING)))


def key_lemma_bound(B: float, eps):
    """Key lemma: ``E_{p_L} [(v^T (p_f - p*))^2] <= 2 B^2 eps`` for ``v = Phi^T lambda``, ``||v||_inf <= B``."""
    B = check_number(B, "B", low=0, low_open=True)
    return _scalar_or_array(2 * B**2 * _check_eps(eps))


def sqrt_eps_bound(tau: float, B: float, eps, gamma: float = 1.0):
    """Theorems 4.1, 5.1 and 6.1: ``l_T <= tau + sqrt(2 B^2 eps / gamma)``.

    Parameters
    ----------
    tau : float, >= 0
        How well the true next-word distribution solves the task (the task is (tau, B)-natural).
    B : float, > 0
        The largest word weight ``||v||_inf`` of the task's classifier.
    eps : float or array, >= 0
        Excess cross-entropy of the language model, in nats.
    gamma : float in (0, 1]
        Coverage of the task's contexts by the pretraining distribution.
    """
    tau = check_number(tau, "tau", low=0)
    B = check_number(B, "B", low=0, low_open=True)
    gamma = check_number(gamma, "gamma", low=0, high=1, low_open=True)
    return _scalar_or_array(tau + np.sqrt(2 * B**2 * _check_eps(eps) / gamma))


def quad_bound(tau: float, v_norm2: float, eps, gamma: float = 1.0):
    """Quad objective: ``l_T(f) <= tau + ||v||_2 sqrt(2 eps / gamma)`` (note the l2 norm of ``v``)."""
    tau = check_number(tau, "tau", low=0)
    v_norm2 = check_number(v_norm2, "||v||_2", low=0, low_open=True)
    gamma = check_number(gamma, "gamma", low=0, high=1, low_open=True)
    return _scalar_or_array(tau + v_norm2 * np.sqrt(2 * _check_eps(eps) / gamma))


def eps_for_loss(target: float, tau: float, B: float, gamma: float = 1.0) -> float:
    """The excess cross-entropy at which the sqrt(eps) bound reaches ``target``.

    Inverts ``target = tau + sqrt(2 B^2 eps / gamma)``: ``eps = gamma (target - tau)^2 / (2 B^2)``.
    Example: with ``target = log 2`` (a coin flip's logistic loss) it is the eps beyond which the
    bound says nothing.
    """
    tau = check_number(tau, "tau", low=0)
    target = check_number(target, "target", low=tau)
    B = check_number(B, "B", low=0, low_open=True)
    gamma = check_number(gamma, "gamma", low=0, high=1, low_open=True)
    return gamma * (target - tau) ** 2 / (2 * B**2)


def check_bound(name: str, lhs, rhs, unit: str) -> None:
    """Check ``lhs <= rhs`` on every instance (up to rounding), print on how many and how tightly, and
    raise ``AssertionError`` if it failed anywhere: a chapter's guard on an inequality it states. It returns
    nothing, so a chapter cell that ends with it shows the printout alone.

    Parameters
    ----------
    name : str
        The inequality, for the printout (e.g. ``"Step 3 (Pinsker)"``).
    lhs, rhs : arrays, or lists of arrays or tensors, of equal total size
        Left and right sides, flattened and paired in order.
    unit : str
        What one instance is, for the printout (e.g. ``"(model, context) pairs"``).

    Explained in chapter 4. Example: ``check_bound("Pinsker", l1, np.sqrt(2 * kl), "pairs")``.
    """
    lhs, rhs = (np.concatenate([np.asarray(x, dtype=float).ravel() for x in
                                (side if isinstance(side, (list, tuple)) else [side])]) for side in (lhs, rhs))
    if lhs.shape != rhs.shape or lhs.size == 0:
        raise ValueError(f"{name}: lhs and rhs must have the same number of entries, at least one; "
                         f"got {lhs.size} and {rhs.size}")
    held = lhs <= rhs * (1 + 1e-9) + 1e-15
    positive = rhs > 0
    ratio = float(np.max(lhs[positive] / rhs[positive])) if positive.any() else float("nan")
    print(f"{name}: held on {held.sum()}/{held.size} {unit};")
    print(f"  tightest ratio left/right = {ratio:.3f}")
    if not held.all():
        raise AssertionError(f"{name} failed on {(~held).sum()} {unit}")
