"""Self-checks for the book's exercises: "correct" or a message that says what is wrong.

Every code exercise ends with a check cell that compares the student's answer with a reference::

    >>> import numpy as np
    >>> check("entropy of a fair coin", 0.6931471805599453, np.log(2))
    correct: entropy of a fair coin: yours 0.693147, expected 0.693147
    >>> check("entropy of a fair coin", -0.6931471805599453, np.log(2))  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    lmtheory.exercises.ExerciseError: entropy of a fair coin: expected 0.693147, yours -0.693147; the sign is flipped

A wrong answer raises :class:`ExerciseError`, an ``AssertionError``, so "run all" stops at the first
exercise that is not done yet and a grader (nbgrader, or pytest over the notebooks) counts it as a
failure. The message names the expected value and the student's, and diagnoses what it can: nothing
returned, a type that is not a number, a wrong or transposed shape, a flipped sign, a constant factor,
NaN or infinity.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["ExerciseError", "check", "check_function", "check_at_least"]

#: Factors that are named when an answer is off by one of them (common slips: a missing 1/2, a
#: sum instead of a mean over n items, natural log against log base 2).
_NAMED_FACTORS = {2.0: "2", 0.5: "1/2", np.log(2): "ln 2", 1 / np.log(2): "1/ln 2"}


class ExerciseError(AssertionError):
    """A self-check found a wrong answer; the message says what was expected and what was given."""


def _brief(x) -> str:
    """A short printable form of a number or array."""
    a = np.asarray(x)
    if a.ndim == 0:
        return f"{float(a):.6g}"
    with np.printoptions(precision=4, threshold=6, edgeitems=2, suppress=False):
        text = np.array2string(a, separator=", ")
    return f"{text} (shape {a.shape})" if a.size > 6 else text


def _as_array(label: str, value, what: str) -> np.ndarray:
    """``value`` as a float array, or an ExerciseError naming what was expected and what came."""
    if value is None:
        raise ExerciseError(f"{label}: {what} is None; did the code return (or assign) its result?")
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    if isinstance(value, (str, bytes, dict, set)) or callable(value):
        raise ExerciseError(
            f"{label}: expected a number or an array of numbers, got {type(value).__name__} {value!r:.60}")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ExerciseError(
            f"{label}: expected a number or an array of numbers, got {type(value).__name__} "
            f"that is not one ({error})") from None
    return array


def _diagnose(yours: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> str:
    """A hint about how ``yours`` differs from ``expected`` (same shape), or ''."""
    if not np.all(np.isfinite(yours)):
        return "; yours contains NaN or infinity"
    if np.allclose(yours, -expected, rtol=rtol, atol=atol):
        return "; the sign is flipped"
    if np.allclose(yours, expected, rtol=1e-2, atol=atol):
        return f"; close, but not within the tolerance (rtol {rtol:g})"
    scale = np.abs(expected).max()
    big = np.abs(expected) > 1e-3 * scale if scale > 0 else np.zeros(expected.shape, bool)
    if big.any():
        ratios = yours[big] / expected[big]
        ratio = float(np.median(ratios))
        if ratio != 0 and np.allclose(yours, ratio * expected, rtol=max(rtol, 1e-4), atol=atol):
            name = next((n for f, n in _NAMED_FACTORS.items() if np.isclose(ratio, f, rtol=1e-4)), None)
            return f"; yours is {name if name else f'{ratio:.4g}'} times the expected value"
    return ""


def _compare(label: str, yours, expected, rtol: float, atol: float) -> tuple[np.ndarray, np.ndarray]:
    """(yours, expected) as arrays when they agree; otherwise an ExerciseError with a diagnosis."""
    want = _as_array(label, expected, "the expected value")
    got = _as_array(label, yours, "yours")
    if got.shape != want.shape:
        hint = "; transposed?" if got.ndim == 2 and got.shape == want.shape[::-1] else ""
        if got.size == want.size and not hint:
            hint = "; same numbers of entries: reshape?"
        raise ExerciseError(f"{label}: expected shape {want.shape}, yours has shape {got.shape}{hint}")
    if not np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=False):
        raise ExerciseError(f"{label}: expected {_brief(want)}, yours {_brief(got)}"
                            f"{_diagnose(got, want, rtol, atol)}")
    return got, want


def check(label: str, yours, expected, *, rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """Check that ``yours`` equals ``expected`` up to ``rtol``/``atol``; print a line or raise.

    ``yours`` and ``expected`` may be numbers, lists, numpy arrays or torch tensors. Raises
    :class:`ExerciseError` when they differ in shape or value, with a diagnosis.
    Example: ``check("KL(p, q)", kl, 0.0512)``.
    """
    got, want = _compare(label, yours, expected, rtol, atol)
    print(f"correct: {label}: yours {_brief(got)}, expected {_brief(want)}")


def check_function(label: str, your_fn: Callable, reference_fn: Callable, cases: Sequence[tuple], *,
                   rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """Call ``your_fn(*case)`` and ``reference_fn(*case)`` on every case and compare with :func:`check`.

    The first case that differs raises :class:`ExerciseError`, naming the case. An exception inside
    ``your_fn`` (other than NotImplementedError, which means "not written yet") is reported with
    the case that caused it. Example: ``check_function("softmax", softmax, ref, [(x1,), (x2,)])``.
    """
    if not callable(your_fn):
        raise ExerciseError(f"{label}: expected a function, got {type(your_fn).__name__}")
    if not cases:
        raise ValueError(f"{label}: check_function needs at least one case, got none")
    for k, case in enumerate(cases, 1):
        if not isinstance(case, tuple):
            raise TypeError(f"{label}: each case must be a tuple of arguments, got {type(case).__name__}")
        try:
            got = your_fn(*case)
        except NotImplementedError:
            raise
        except Exception as error:  # the student's code failed: say on which case
            raise ExerciseError(f"{label}: your function raised {type(error).__name__}: {error} "
                                f"on case {k} of {len(cases)}") from error
        _compare(f"{label}, case {k} of {len(cases)}", got, reference_fn(*case), rtol, atol)
    print(f"correct: {label}: agrees with the reference on all {len(cases)} cases")


def check_at_least(label: str, yours, threshold: float, *, what: str = "") -> None:
    """Check that the number ``yours`` is at least ``threshold``; print a line or raise.

    ``what`` names the threshold in the messages (e.g. ``"the paper's 14 words"``).
    Example: ``check_at_least("accuracy of your words", 0.81, 0.79, what="the paper's words")``.
    """
    got = _as_array(label, yours, "yours")
    bar = _as_array(label, threshold, "the threshold")
    if got.shape != () or bar.shape != ():
        raise ExerciseError(f"{label}: expected a single number, yours has shape {got.shape}")
    name = f" ({what})" if what else ""
    if not np.isfinite(got) or got < bar:
        raise ExerciseError(f"{label}: expected at least {float(bar):.6g}{name}, yours {float(got):.6g}")
    print(f"correct: {label}: yours {float(got):.6g}, at least {float(bar):.6g}{name}")
