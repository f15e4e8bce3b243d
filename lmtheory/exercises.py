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

The exercise bank (how a chapter writes an exercise)
----------------------------------------------------
Every code exercise of a chapter follows one pattern, which the tests check for all chapters:

1. A markdown cell with the exercise, ``{exercise}`` with ``:label: chN-ex-NAME``, and (later) its
   ``{solution} chN-ex-NAME`` with ``:class: dropdown``.
2. A code cell whose solution lines sit between ``# BEGIN SOLUTION`` and ``# END SOLUTION``
   (the markers nbgrader and otter-grader both read). The region is the whole body the student
   writes, indented like the code around it: ``tools/student_copies.py`` replaces it with
   ``raise NotImplementedError(...)``, and ``tools/grading.py`` marks it for nbgrader and otter.
3. The next code cell is the check: it calls :func:`grade` with the exercise's label, the student's
   answer and the notebook objects the reference needs, and contains no solution code::

       grade("ch3-ex-uniform", eps_uniform, world=world)

4. The check itself lives in ``lmtheory/exercise_bank/chNN.py`` (``NN`` the two-digit chapter
   number), registered with :func:`register`: a ``solve`` function computing the reference answer
   from the context, an ``example`` that builds a small context without a language model or a
   notebook, and at least two typical ``wrong`` answers (a missing 1/2, log base 2, a flipped sign,
   a transposed matrix, the arguments of a KL swapped). ``tests/test_exercise_bank.py`` checks that
   every registered check accepts ``solve``'s answer and rejects every listed wrong answer::

       @register("ch3-ex-uniform", example=lambda: {"world": small_world()},
                 wrong={"log base 2": lambda world: ..., "forgot L*": lambda world: ...})
       def solve(world):
           return math.log(world.vocab_size) - float(world.p_L @ entropy(world.p_star))

   By default the answer is compared with ``solve(**context)`` by :func:`check`; pass
   ``grader=function(label, yours, **context)`` for answers that are functions, several parts or
   properties (it raises :class:`ExerciseError` when something is wrong and prints ``correct: ...``).
   ``points`` (default 1) is what the check cell is worth when nbgrader or otter-grader grade the
   chapter (``tools/grading.py``).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .prose import say

__all__ = ["ExerciseError", "check", "check_function", "check_at_least", "grade", "register", "Exercise",
           "bank"]

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
    close = np.isclose(got, want, rtol=rtol, atol=atol, equal_nan=False)
    if not close.all():
        where = ""
        if got.size > 6:  # the printed edges may all agree: name the first entry that differs
            index = tuple(int(i) for i in np.argwhere(~close)[0])
            where = (f"; {int((~close).sum())} of {close.size} entries differ, the first at index {index}: "
                     f"expected {want[index]:.6g}, yours {got[index]:.6g}")
        raise ExerciseError(f"{label}: expected {_brief(want)}, yours {_brief(got)}"
                            f"{_diagnose(got, want, rtol, atol)}{where}")
    return got, want


def check(label: str, yours, expected, *, rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """Check that ``yours`` equals ``expected`` up to ``rtol``/``atol``; print a line or raise.

    ``yours`` and ``expected`` may be numbers, lists, numpy arrays or torch tensors. Raises
    :class:`ExerciseError` when they differ in shape or value, with a diagnosis.
    Example: ``check("KL(p, q)", kl, 0.0512)``.
    """
    got, want = _compare(label, yours, expected, rtol, atol)
    if got.size > 6:  # a large array: say how close, not every number
        say(f"correct: {label}: yours matches the expected array of shape {want.shape} "
              f"(largest difference {float(np.abs(got - want).max()):.1e})")
    else:
        say(f"correct: {label}: yours {_brief(got)}, expected {_brief(want)}")


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
    say(f"correct: {label}: agrees with the reference on all {len(cases)} cases")


def check_at_least(label: str, yours, threshold: float, *, what: str = "", strict: bool = False) -> None:
    """Check that the number ``yours`` is at least ``threshold`` (above it if ``strict``); print or raise.

    ``what`` names the threshold in the messages (e.g. ``"the paper's 14 words"``).
    Example: ``check_at_least("accuracy of your words", 0.81, 0.79, what="the paper's words")``.
    """
    got = _as_array(label, yours, "yours")
    bar = _as_array(label, threshold, "the threshold")
    if got.shape != () or bar.shape != ():
        raise ExerciseError(f"{label}: expected a single number, yours has shape {got.shape}")
    name = f" ({what})" if what else ""
    relation = "more than" if strict else "at least"
    if not np.isfinite(got) or got < bar or (strict and got == bar):
        raise ExerciseError(f"{label}: expected {relation} {float(bar):.6g}{name}, yours {float(got):.6g}")
    say(f"correct: {label}: yours {float(got):.6g}, {relation} {float(bar):.6g}{name}")


# The exercise bank ---------------------------------------------------------------------------------

_LABEL = re.compile(r"^ch(\d+)-ex-[a-z0-9-]+$")
_BANK: dict[str, Exercise] = {}


@dataclass(frozen=True)
class Exercise:
    """One registered self-check. ``grade(yours, **context)`` prints ``correct: ...`` or raises.

    ``solve(**context)`` is the reference answer, ``example()`` a small context (no language model),
    ``wrong`` maps the name of a typical mistake to a function of the context giving that answer.
    """

    label: str
    solve: Callable
    example: Callable[[], dict]
    wrong: dict[str, Callable] = field(default_factory=dict)
    grader: Callable | None = None
    rtol: float = 1e-6
    atol: float = 1e-9
    points: float = 1

    @property
    def needs(self) -> list[str]:
        """The names of the context ``solve`` takes (what a check cell passes as keywords)."""
        return list(inspect.signature(self.solve).parameters)

    def grade(self, yours, **context) -> None:
        """Compare ``yours`` with the reference for ``context``; print a line or raise ExerciseError."""
        missing = [name for name in self.needs if name not in context]
        extra = [name for name in context if name not in self.needs]
        if missing or extra:
            raise TypeError(f"grade({self.label!r}, yours, ...) takes the keywords {self.needs}; "
                            f"missing {missing}, unexpected {extra}")
        if self.grader is not None:
            self.grader(self.label, yours, **context)
        else:
            check(self.label, yours, self.solve(**context), rtol=self.rtol, atol=self.atol)


def register(label: str, *, example: Callable[[], dict], wrong: dict[str, Callable],
             grader: Callable | None = None, rtol: float = 1e-6, atol: float = 1e-9,
             points: float = 1) -> Callable:
    """Decorator: register the decorated ``solve(**context)`` as the reference of exercise ``label``.

    ``label`` is the exercise's ``chN-ex-NAME``; ``wrong`` needs at least two typical mistakes;
    ``points`` (positive) is what the exercise's check cell earns in nbgrader and otter-grader.
    See the module docstring for the convention. Returns ``solve`` unchanged.
    """
    if not isinstance(label, str) or not _LABEL.match(label):
        raise ValueError(f"an exercise label looks like 'ch3-ex-uniform' (lower case), got {label!r}")
    if len(wrong) < 2:
        raise ValueError(f"{label}: register at least two typical wrong answers, got {len(wrong)}")
    if not points > 0:
        raise ValueError(f"{label}: points must be positive, got {points!r}")

    def decorate(solve: Callable) -> Callable:
        if label in _BANK and _BANK[label].solve.__module__ != solve.__module__:
            raise ValueError(f"{label} is registered twice ({_BANK[label].solve.__module__}, {solve.__module__})")
        _BANK[label] = Exercise(label, solve, example, dict(wrong), grader, rtol, atol, points)
        return solve

    return decorate


def _chapter_module(label: str) -> str:
    """The bank module of ``label``: ``ch3-ex-uniform`` -> ``lmtheory.exercise_bank.ch03``."""
    match = _LABEL.match(label) if isinstance(label, str) else None
    if match is None:
        raise ValueError(f"an exercise label looks like 'ch3-ex-uniform', got {label!r}")
    return f"lmtheory.exercise_bank.ch{int(match.group(1)):02d}"


def bank() -> dict[str, Exercise]:
    """Every registered exercise, label -> :class:`Exercise` (imports every chapter's bank module)."""
    package = importlib.import_module("lmtheory.exercise_bank")
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")
    return dict(sorted(_BANK.items()))


def grade(label: str, yours, **context) -> None:
    """Grade the answer ``yours`` to exercise ``label`` against the bank's reference for ``context``.

    Prints ``correct: ...`` lines, or raises :class:`ExerciseError` saying what differs.
    Example: ``grade("ch3-ex-uniform", eps_uniform, world=world)``.
    """
    module = _chapter_module(label)
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name != module:
            raise
    if label not in _BANK:
        known = sorted(name for name in _BANK if name.split("-")[0] == label.split("-")[0])
        raise ValueError(f"no self-check is registered for {label!r} (in {module}); registered: {known}")
    _BANK[label].grade(yours, **context)
