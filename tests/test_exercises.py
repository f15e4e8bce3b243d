"""lmtheory.exercises: right answers pass, wrong ones raise ExerciseError with a useful diagnosis."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import torch

from lmtheory import exercises
from lmtheory.exercises import ExerciseError, check, check_at_least, check_function

X = np.arange(1.0, 7.0).reshape(2, 3)


def test_docstring_examples():
    failed, tried = doctest.testmod(exercises, optionflags=doctest.ELLIPSIS)
    assert tried >= 3 and failed == 0


@pytest.mark.parametrize("yours", [X, X.tolist(), torch.tensor(X), X + 1e-12], ids=["array", "list", "tensor", "roundoff"])
def test_right_answers_pass(yours, capsys):
    check("X", yours, X)
    assert capsys.readouterr().out.startswith("correct: X: yours")


@pytest.mark.parametrize("yours, fragment", [
    (None, "yours is None"),
    ("6.0", "got str"),
    ({"a": 1}, "got dict"),
    (len, "got builtin_function_or_method"),
    ([[1.0, 2.0], [3.0]], "that is not one"),
    (X.T, "transposed?"),
    (X.ravel(), "reshape?"),
    (X[:1], "expected shape (2, 3), yours has shape (1, 3)"),
    (-X, "the sign is flipped"),
    (2 * X, "yours is 2 times"),
    (X / 2, "yours is 1/2 times"),
    (X / np.log(2), "yours is 1/ln 2 times"),
    (3.7 * X, "yours is 3.7 times"),
    (np.where(X == 3.0, np.nan, X), "NaN or infinity"),
    (X * (1 + 1e-4), "close, but not within the tolerance"),
    (X[::-1], "expected [[1., 2., 3.]"),
])
def test_wrong_answers_are_diagnosed(yours, fragment):
    with pytest.raises(ExerciseError) as caught:
        check("X", yours, X)
    assert fragment in str(caught.value)
    assert str(caught.value).startswith("X: ")


def test_an_exercise_error_is_an_assertion_error():
    assert issubclass(ExerciseError, AssertionError)


def test_check_function_names_the_failing_case(capsys):
    cases = [(np.array([0.0, 1.0]),), (np.array([2.0, -1.0, 0.5]),)]
    reference = lambda z: np.exp(z) / np.exp(z).sum()  # noqa: E731
    check_function("softmax", lambda z: np.exp(z - z.max()) / np.exp(z - z.max()).sum(), reference, cases)
    assert "all 2 cases" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="case 1 of 2"):
        check_function("softmax", np.exp, reference, cases)
    with pytest.raises(ExerciseError, match=r"raised ZeroDivisionError: .* on case 1 of 2"):
        check_function("softmax", lambda z: 1 / 0, reference, cases)
    with pytest.raises(NotImplementedError):
        check_function("softmax", lambda z: (_ for _ in ()).throw(NotImplementedError()), reference, cases)
    with pytest.raises(ExerciseError, match="expected a function, got ndarray"):
        check_function("softmax", X, reference, cases)
    with pytest.raises(ValueError, match="at least one case"):
        check_function("softmax", reference, reference, [])


def test_check_at_least(capsys):
    check_at_least("accuracy", 0.83, 0.81, what="the paper's words")
    assert "at least 0.81 (the paper's words)" in capsys.readouterr().out
    for wrong, fragment in [(0.80, "expected at least 0.81"), (float("nan"), "yours nan"),
                            ([0.9, 0.9], "a single number"), (None, "is None")]:
        with pytest.raises(ExerciseError, match=fragment.replace("(", r"\(")):
            check_at_least("accuracy", wrong, 0.81)
