"""Self-checks of chapter 7 (linear probes on a real language model)."""

from __future__ import annotations

import math

import scipy.stats

from lmtheory.exercise_bank import call_with
from lmtheory.exercises import ExerciseError, check_at_least, check_function, register

MAX_WORDS = 14

# A toy stand-in for "probe accuracy (%) of a word list" in the examples: strongly polar words help
# (made-up numbers, only for testing the checks; the chapter passes its real probe).
_STRENGTH = {"good": 0.6, "bad": 0.6, "great": 0.8, "awful": 0.9, "boring": 0.7, "fun": 0.5, "classic": 0.1,
             "strong": 0.1, "interesting": 0.2, ":)": 0.05, ":(": 0.05, "terrible": 0.9, "excellent": 0.8,
             "poor": 0.5, "worst": 0.9, "best": 0.6, "dull": 0.6}
_PAPER = ["good", "bad", "great", "classic", "strong", "interesting", ":)", ":("]


def _toy_accuracy(words):
    return 50 + 40 * sum(_STRENGTH[w] for w in words) / MAX_WORDS


def _grade_subset(label, yours, *, accuracy, paper):
    if isinstance(yours, str) or not all(isinstance(w, str) for w in yours):
        raise ExerciseError(f"{label}: expected my_words as a list of words (strings), got "
                            f"{type(yours).__name__} {yours!r:.60}")
    if not 0 < len(yours) <= MAX_WORDS:
        raise ExerciseError(f"{label}: expected 1 to {MAX_WORDS} words, got {len(yours)}")
    check_at_least(f"{label}: test accuracy of your {len(yours)} words (%)", call_with(label, accuracy, list(yours)),
                   paper, what="the paper's words", strict=True)


@register("ch7-ex-subset", grader=_grade_subset,
          example=lambda: {"accuracy": _toy_accuracy, "paper": _toy_accuracy(_PAPER)},
          wrong={"the paper's own words": lambda accuracy, paper: list(_PAPER),
                 "more than 14 words": lambda accuracy, paper: sorted(_STRENGTH)[:MAX_WORDS + 1],
                 "one string, not a list": lambda accuracy, paper: "good bad great awful"})
def solve_subset(accuracy, paper):
    """Fourteen words that reviewers use to judge a film, half positive, half negative."""
    return ["good", "bad", "great", "worst", "best", "boring", "fun", "awful", "excellent", "poor",
            "terrible", "dull", "interesting", "classic"]


def _clopper_pearson(k, n):
    ci = scipy.stats.binomtest(int(k), int(n)).proportion_ci(0.95, method="exact")
    return ci.low, ci.high


def _wald(k, n):
    a = k / n
    half = 1.96 * math.sqrt(a * (1 - a) / n)
    return a - half, a + half


def _ninety(k, n):
    low = scipy.stats.beta.ppf(0.05, k, n - k + 1) if k > 0 else 0.0
    high = scipy.stats.beta.ppf(0.95, k + 1, n - k) if k < n else 1.0
    return float(low), float(high)


def _uniform_prior(k, n):
    return tuple(float(x) for x in scipy.stats.beta.ppf([0.025, 0.975], k + 1, n - k + 1))


def _grade_interval(label, yours, *, k, n):
    cases = [(int(k), int(n)), (0, int(n)), (int(n), int(n)), (3, 7)]
    check_function(label, yours, _clopper_pearson, cases, rtol=1e-7, atol=1e-9)


@register("ch7-ex-interval", grader=_grade_interval, example=lambda: {"k": 140, "n": 200},
          wrong={"the normal (Wald) interval": lambda k, n: _wald,
                 "a 90% interval": lambda k, n: _ninety,
                 "Beta(k+1, n-k+1) at both ends": lambda k, n: _uniform_prior})
def solve_interval(k, n):
    """The function ``interval(k, n) -> (low, high)``: the exact 95% Clopper-Pearson interval."""
    return _clopper_pearson
