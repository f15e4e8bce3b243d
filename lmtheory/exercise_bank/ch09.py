"""Self-checks of chapter 9 (cross-entropy against downstream error over training checkpoints)."""

from __future__ import annotations

import math

import numpy as np
import scipy.stats

from lmtheory.exercises import register

# A few-line stand-in for the chapter's checkpoint table (made-up numbers, only for testing the
# checks): held-out cross-entropy (nats/token) and a task's error (%) after each checkpoint, with a
# tie in the errors and a non-linear relation, so that ranks, Pearson and tie handling all matter.
_CHECKPOINTS = {"held-out CE": [7.9, 5.1, 4.8, 4.6, 4.5, 4.45, 4.42],
                "error (%)": [31.0, 30.0, 14.5, 12.0, 12.0, 13.0, 5.0]}


def _spearman_example():
    return {"ce_values": np.array(_CHECKPOINTS["held-out CE"]), "error_values": np.array(_CHECKPOINTS["error (%)"])}


def _ordinal_ranks(x):
    """Ranks 1..n with ties broken by position, not averaged."""
    return np.argsort(np.argsort(x, kind="stable"), kind="stable") + 1.0


@register("ch9-ex-spearman", example=_spearman_example, rtol=1e-8,
          wrong={"Pearson's correlation of the values, not of their ranks": lambda ce_values, error_values: float(
                     np.corrcoef(ce_values, error_values)[0, 1]),
                 "ties ranked by position (argsort of argsort), not averaged": lambda ce_values, error_values: float(
                     np.corrcoef(_ordinal_ranks(ce_values), _ordinal_ranks(error_values))[0, 1]),
                 "Kendall's tau": lambda ce_values, error_values: float(
                     scipy.stats.kendalltau(ce_values, error_values).statistic),
                 "one column ranked in reverse order": lambda ce_values, error_values: float(
                     np.corrcoef(scipy.stats.rankdata(ce_values), scipy.stats.rankdata(-error_values))[0, 1])})
def solve_spearman(ce_values, error_values):
    """Spearman's rank correlation of the held-out cross-entropies and the errors (arrays of one length)."""
    return float(scipy.stats.spearmanr(ce_values, error_values).statistic)


@register("ch9-ex-perplexity", example=lambda: {"first_ce": _CHECKPOINTS["held-out CE"][0],
                                                "last_ce": _CHECKPOINTS["held-out CE"][-1]}, rtol=1e-8,
          wrong={"the inverse, e^(last - first)": lambda first_ce, last_ce: math.exp(last_ce - first_ce),
                 "the fall in cross-entropy, not in perplexity": lambda first_ce, last_ce: first_ce - last_ce,
                 "the difference of the perplexities": lambda first_ce, last_ce: (
                     math.exp(first_ce) - math.exp(last_ce)),
                 "perplexity as 2^CE (bits), with CE in nats": lambda first_ce, last_ce: 2 ** (first_ce - last_ce)})
def solve_perplexity(first_ce, last_ce):
    """The factor by which perplexity e^CE fell from the first to the last checkpoint: e^(first - last)."""
    return math.exp(first_ce - last_ce)
