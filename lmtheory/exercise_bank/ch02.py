"""Self-checks of chapter 2 (natural tasks and zero-shot comparisons)."""

from __future__ import annotations

import torch

from lmtheory.exercise_bank import call_with, random_logits
from lmtheory.exercises import ExerciseError, check, check_at_least, register

# A toy stand-in for a zero-shot classifier in the examples: the accuracy of comparing two words
# grows with the difference of their polarities (made-up numbers, only for testing the checks).
_POLARITY = {"great": 0.9, "good": 0.6, "fun": 0.5, ":)": 0.2, ":(": 0.0, "dull": -0.4, "bad": -0.6,
             "terrible": -0.9}
_CANDIDATES = [("great", "terrible"), ("good", "bad"), ("fun", "dull")]


def _toy_accuracy(pair):
    positive, negative = pair
    return 0.5 + 0.25 * (_POLARITY[positive] - _POLARITY[negative])


def _grade_pair(label, yours, *, accuracy, baseline):
    if not (isinstance(yours, (tuple, list)) and len(yours) == 2 and all(isinstance(w, str) for w in yours)):
        raise ExerciseError(f"{label}: expected my_pair = (positive word, negative word), two strings; "
                            f"got {type(yours).__name__} {yours!r:.60}")
    check_at_least(f"{label}: zero-shot accuracy of {tuple(yours)}", call_with(label, accuracy, tuple(yours)),
                   accuracy(tuple(baseline)), what=f"the accuracy of {tuple(baseline)}", strict=True)


@register("ch2-ex-beat-smileys", grader=_grade_pair,
          example=lambda: {"accuracy": _toy_accuracy, "baseline": (":)", ":(")},
          wrong={"the smileys themselves": lambda accuracy, baseline: tuple(baseline),
                 "positive and negative swapped": lambda accuracy, baseline: ("terrible", "great"),
                 "one word, not a pair": lambda accuracy, baseline: "great"})
def solve_beat_smileys(accuracy, baseline):
    """The most accurate of a few common adjective pairs, as (positive, negative)."""
    return max(_CANDIDATES, key=accuracy)


def _grade_space_mass(label, yours, *, logits, spaced):
    if not isinstance(yours, dict) or set(yours) != set(logits):
        got = sorted(map(repr, yours)) if isinstance(yours, dict) else type(yours).__name__
        raise ExerciseError(f"{label}: expected a dict with the prompts {sorted(map(repr, logits))} as keys, "
                            f"got {got}")
    reference = solve_space_mass(logits, spaced)
    for prompt, value in reference.items():
        check(f"{label}: space mass after {prompt!r}", yours[prompt], value, rtol=1e-4, atol=1e-4)


@register("ch2-ex-trailing-space", grader=_grade_space_mass,
          example=lambda: {"logits": {"This movie is": random_logits(6, 20, seed=1),
                                      "This movie is ": random_logits(6, 20, seed=2)},
                           "spaced": [0, 3, 4, 9, 15]},
          wrong={"the other tokens (no leading space)":
                 lambda logits, spaced: {k: 1 - v for k, v in solve_space_mass(logits, spaced).items()},
                 "a sum over sentences, not a mean": lambda logits, spaced: {
                     k: v * len(logits[k]) for k, v in solve_space_mass(logits, spaced).items()},
                 "exp(logits) without the softmax's normalisation": lambda logits, spaced: {
                     k: float(torch.as_tensor(z)[:, spaced].exp().sum(1).mean()) for k, z in logits.items()}})
def solve_space_mass(logits, spaced):
    """Mean over sentences of the next-token probability of the tokens ``spaced``, per prompt.

    ``logits``: prompt -> (n, V) full-vocabulary logits; ``spaced``: token ids starting with a space.
    """
    return {prompt: float(torch.softmax(torch.as_tensor(z), dim=1)[:, spaced].sum(1).mean())
            for prompt, z in logits.items()}


def _grade_linear(label, yours, *, positive, negative, logits):
    if not (isinstance(yours, tuple) and len(yours) == 2):
        raise ExerciseError(f"{label}: expected the pair (v, vTp), got {type(yours).__name__}")
    v, vTp = yours
    v_ref, vTp_ref = solve_linear(positive, negative, logits)
    check(f"{label}: v", v, v_ref)
    check(f"{label}: v^T p(s)", vTp, vTp_ref, rtol=1e-4, atol=1e-7)


def _linear_example():
    return {"positive": [2, 7], "negative": [5], "logits": random_logits(8, 12, seed=3)}


@register("ch2-ex-linear", grader=_grade_linear, example=_linear_example,
          wrong={"signs swapped": lambda positive, negative, logits: tuple(-x for x in solve_linear(
                     positive, negative, logits)),
                 "scores from logits, not probabilities": lambda positive, negative, logits: (
                     solve_linear(positive, negative, logits)[0],
                     torch.as_tensor(logits) @ solve_linear(positive, negative, logits)[0]),
                 "only the positive words": lambda positive, negative, logits: solve_linear(
                     positive, [], logits)})
def solve_linear(positive, negative, logits):
    """``v`` (+1 on the ``positive`` token ids, -1 on the ``negative`` ones) and ``v^T p(s)`` per sentence.

    ``logits`` (n, V): the full softmax gives ``p(s)``. Returns ``(v (V,), vTp (n,))``.
    """
    logits = torch.as_tensor(logits)
    v = torch.zeros(logits.shape[1], dtype=logits.dtype)
    v[positive] = 1.0
    v[negative] = -1.0
    return v, torch.softmax(logits, dim=1) @ v
