"""The exercise bank: one module per chapter (``ch03.py`` for chapter 3) registering the reference
answer and typical wrong answers of each code exercise. Check cells reach it through
:func:`lmtheory.exercises.grade`; the convention is in the docstring of :mod:`lmtheory.exercises`.
"""

from __future__ import annotations

import torch

__all__ = ["small_world", "random_logits", "call_with"]


def small_world(seed: int = 0, *, realizable: bool = True):
    """A small synthetic world (30 contexts, 12 words, d = 3) for the bank's examples. Example:
    ``small_world(seed=1).p_star.shape == (30, 12)``."""
    from lmtheory import synthetic

    return synthetic.make_world(30, 12, 3, seed=seed, realizable=realizable)


def random_logits(n: int, vocab: int, seed: int = 0) -> torch.Tensor:
    """Random float64 logits of shape ``(n, vocab)``, as a language model's head would give."""
    return 2.0 * torch.randn(n, vocab, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def call_with(label: str, fn, *args):
    """``fn(*args)``, with any error (other than NotImplementedError) turned into an ExerciseError that
    names ``label`` and the arguments: for checks that score the student's answer with notebook code."""
    from lmtheory.exercises import ExerciseError

    try:
        return fn(*args)
    except NotImplementedError:
        raise
    except Exception as error:  # the answer could not be scored (a word that is not a token, ...)
        shown = ", ".join(f"{a!r:.60}" for a in args)
        raise ExerciseError(f"{label}: scoring {shown} raised {type(error).__name__}: {error}") from error
