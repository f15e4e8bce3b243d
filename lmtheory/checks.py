"""Input checks shared by the package: each failure names the value it got and what is allowed."""

from __future__ import annotations

import math
import numbers
from typing import Sequence

import numpy as np
import torch

#: How far from 1 a probability vector may sum (float32 softmax outputs stay well inside this).
SUM_TOLERANCE = 1e-4


def check_tensor(x, name: str, *, allow_minus_inf: bool = False) -> torch.Tensor:
    """Return ``x`` if it is a non-empty floating-point tensor without nan or inf, else raise an error
    naming it. ``allow_minus_inf`` lets ``-inf`` through (the log-probability of an impossible word)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must hold floating-point numbers, got dtype {x.dtype}")
    if x.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)}); it needs at least one entry")
    bad = torch.isnan(x) | (x == math.inf) | ((x == -math.inf) if not allow_minus_inf else False)
    if bad.any():
        first = tuple(int(i) for i in torch.nonzero(bad)[0])
        raise ValueError(f"{name} contains {int(bad.sum())} nan or inf entries (the first at index {first}: "
                         f"{float(x[first])}); every entry must be finite")
    return x


def check_matrix(x, name: str) -> torch.Tensor:
    """Return ``x`` if it is a 2-D floating-point tensor."""
    check_tensor(x, name)
    if x.dim() != 2:
        raise ValueError(f"{name} must be a matrix (2-D), got shape {tuple(x.shape)}")
    return x


def check_matching(
    a: torch.Tensor,
    b: torch.Tensor,
    name_a: str,
    name_b: str,
    dims: Sequence[int] = (-1,),
    other_dims: Sequence[int] = (0,),
) -> None:
    """Check that ``a.shape[dims[i]] == b.shape[other_dims[i]]`` for each ``i``."""
    check_tensor(a, name_a)
    check_tensor(b, name_b)
    if a.dtype != b.dtype:
        raise TypeError(f"{name_a} is {a.dtype} but {name_b} is {b.dtype}; they must have the same dtype "
                        f"(convert one, e.g. {name_a}.to({name_b}.dtype))")
    for i, j in zip(dims, other_dims):
        if a.dim() == 0 or a.shape[i] != b.shape[j]:
            raise ValueError(
                f"shapes do not match: {name_a} has shape {tuple(a.shape)} and {name_b} has shape "
                f"{tuple(b.shape)}; dimension {i} of {name_a} must equal dimension {j} of {name_b}"
            )


def check_same_shape(a: torch.Tensor, b: torch.Tensor, name_a: str, name_b: str) -> None:
    """Check that ``a`` and ``b`` are tensors of the same shape (their values are the caller's to check)."""
    for x, name in ((a, name_a), (b, name_b)):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if a.shape != b.shape:
        raise ValueError(
            f"shapes do not match: {name_a} has shape {tuple(a.shape)} and {name_b} has shape "
            f"{tuple(b.shape)}; they must be equal"
        )


def check_distribution(p, name: str, tolerance: float = SUM_TOLERANCE) -> torch.Tensor:
    """Check that every slice ``p[..., :]`` is a probability vector (non-negative, sums to 1)."""
    check_tensor(p, name)
    if p.dim() == 0:
        raise ValueError(f"{name} must have at least one dimension (the outcomes), got a scalar")
    smallest = float(p.min())
    if smallest < 0:
        raise ValueError(f"{name} must be non-negative probabilities, but its smallest entry is {smallest:.3g}")
    sums = p.sum(-1)
    worst = int((sums - 1).abs().flatten().argmax())
    off = float(sums.flatten()[worst])
    if abs(off - 1) > tolerance:
        where = f" (at index {worst})" if sums.dim() > 0 else ""
        raise ValueError(
            f"{name} must sum to 1 over its last dimension, but it sums to {off:.6g}{where}; "
            f"allowed: 1 within {tolerance:g}"
        )
    return p


def check_log_distribution(log_q, name: str, tolerance: float = SUM_TOLERANCE) -> torch.Tensor:
    """Check that every slice ``log_q[..., :]`` is the logarithm of a probability vector: entries
    ``<= 0`` (``-inf`` allowed) whose exponentials sum to 1. Probabilities passed by mistake are
    named as such (their cross-entropy and KL would come out negative)."""
    check_tensor(log_q, name, allow_minus_inf=True)
    if log_q.dim() == 0:
        raise ValueError(f"{name} must have at least one dimension (the outcomes), got a scalar")
    sums = torch.logsumexp(log_q, -1).exp()
    worst = int((sums - 1).abs().flatten().argmax())
    off = float(sums.flatten()[worst])
    if float(log_q.max()) > tolerance or abs(off - 1) > tolerance:
        looks_like_probabilities = bool((log_q >= 0).all()) and abs(float(log_q.sum(-1).flatten()[0]) - 1) < tolerance
        hint = (f"; it looks like probabilities: pass their logarithm, {name} = q.log()"
                if looks_like_probabilities else "")
        raise ValueError(f"{name} must hold log-probabilities (entries <= 0 whose exponentials sum to 1 over the "
                         f"last dimension), but its largest entry is {float(log_q.max()):.4g} and exp({name}) sums "
                         f"to {off:.6g} (at index {worst}){hint}")
    return log_q


def check_number(
    value,
    name: str,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``float(value)`` if it lies in the given interval, else raise a ``ValueError``.

    An infinite end of the interval is always open: ``inf`` and ``-inf`` are never accepted, and
    neither are ``nan``, strings or booleans (``"0.5"`` is an error, not 0.5).

    Example: ``check_number(eps, "eps", low=0)`` accepts finite ``eps >= 0``.
    """
    if isinstance(value, (str, bytes, bool, np.bool_)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r:.80}") from None
    too_low = x <= low if low_open else x < low
    too_high = x >= high if high_open else x > high
    if not math.isfinite(x) or too_low or too_high:
        raise ValueError(f"{name} = {value!r} is outside the allowed range "
                         f"{_interval(low, high, low_open, high_open)}")
    return x


def _interval(low: float, high: float, low_open: bool = False, high_open: bool = False) -> str:
    """The interval as a reader writes it, infinite ends open: ``(0, 1]``, ``[2, inf)``."""
    left = "(" if low_open or math.isinf(low) else "["
    right = ")" if high_open or math.isinf(high) else "]"
    return f"{left}{low:g}, {high:g}{right}"


def check_int(value, name: str, *, low: float = -math.inf, high: float = math.inf) -> int:
    """Return ``value`` as an ``int`` if it is a whole number in ``[low, high]``, else raise.

    Accepts Python and numpy integers and whole floats (``1e4``); refuses booleans, strings and
    fractions (``2.7`` is an error, never silently 2), in the manner of scikit-learn's ``check_scalar``.

    Example: ``check_int(dim, "dim", low=1, high=vocab_size)``.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if not isinstance(value, numbers.Integral):
        if not math.isfinite(value) or not float(value).is_integer():
            raise ValueError(f"{name} must be a whole number, got {value!r}")
    x = int(value)
    if not low <= x <= high:
        raise ValueError(f"{name} = {value!r} is outside the allowed range {_interval(low, high)}")
    return x


def check_eps_grid(eps_grid, name: str = "eps_grid") -> np.ndarray:
    """Return ``eps_grid`` as a 1-D float array, shape ``(n,)`` with ``n >= 1``, of excess losses
    ``>= 0`` (nats), else raise a ``ValueError`` that names it.

    Accepts a list, a tuple or an array of numbers: ``check_eps_grid([1e-4, 1e-3])`` ->
    ``array([0.0001, 0.001])``. An empty grid, a nested one (2-D), a negative value or nan is an error.
    """
    try:
        grid = np.asarray(eps_grid, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a list of numbers, got {eps_grid!r}") from None
    if grid.ndim != 1 or grid.size == 0:
        raise ValueError(f"{name} must be a non-empty list of numbers, got {eps_grid!r}")
    if not (grid >= 0).all():
        raise ValueError(f"{name} must hold values >= 0, got {grid[~(grid >= 0)][0]:g}")
    return grid


def check_choice(value, name: str, allowed: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; allowed: {', '.join(map(repr, allowed))}")
    return value


def check_texts(texts, name: str = "texts") -> list[str]:
    """``texts`` as a non-empty list of strings, each with a visible character."""
    if isinstance(texts, str) or not hasattr(texts, "__iter__"):
        raise TypeError(f"{name} must be a list of strings, got {type(texts).__name__}; for one text write [text]")
    texts = list(texts)
    if not texts:
        raise ValueError(f"{name} is empty; give at least one text")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"{name}[{i}] must be a string, got {type(text).__name__} {text!r}")
        if not text.strip():
            raise ValueError(f"{name}[{i}] is empty ({text!r}); every text needs at least one visible character")
    return texts


def check_language_model(lm, name: str = "lm"):
    """``lm`` if it is a loaded language model (a :class:`lmtheory.models.LanguageModel`); a model's
    name or anything else raises a ``TypeError`` saying how to load one."""
    if not (hasattr(lm, "model") and hasattr(lm, "tokenizer") and hasattr(lm, "device")):
        hint = f"; load it first: {name} = load_model({lm!r})" if isinstance(lm, str) else ""
        raise TypeError(f"{name} must be a language model from lmtheory.models.load_model or from_model, got "
                        f"{type(lm).__name__} {lm!r:.60}{hint}")
    return lm
