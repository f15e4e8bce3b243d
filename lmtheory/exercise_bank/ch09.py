"""Self-checks of chapter 9 (cross-entropy against downstream loss over training checkpoints, a permutation p-value)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import scipy.stats

from lmtheory.exercises import register
from lmtheory.stats import rank_correlation_test

# A few-line stand-in for the chapter's checkpoint table (made-up numbers, only for testing the
# checks): held-out cross-entropy (nats/token) and a task's test logistic loss (nats) after each
# checkpoint, with a tie in the losses and a non-linear relation, so that ranks, Pearson and tie
# handling all matter.
_CHECKPOINTS = {"held-out CE": [7.9, 5.1, 4.8, 4.6, 4.5, 4.45, 4.42],
                "logistic loss": [1.55, 1.5, 0.725, 0.6, 0.6, 0.65, 0.25]}


def _spearman_example():
    return {"ce_values": np.array(_CHECKPOINTS["held-out CE"]), "loss_values": np.array(_CHECKPOINTS["logistic loss"])}


def _ordinal_ranks(x):
    """Ranks 1..n with ties broken by position, not averaged."""
    return np.argsort(np.argsort(x, kind="stable"), kind="stable") + 1.0


@register("ch9-ex-spearman", example=_spearman_example, rtol=1e-8,
          wrong={"Pearson's correlation of the values, not of their ranks": lambda ce_values, loss_values: float(
                     np.corrcoef(ce_values, loss_values)[0, 1]),
                 "ties ranked by position (argsort of argsort), not averaged": lambda ce_values, loss_values: float(
                     np.corrcoef(_ordinal_ranks(ce_values), _ordinal_ranks(loss_values))[0, 1]),
                 "Kendall's tau": lambda ce_values, loss_values: float(
                     scipy.stats.kendalltau(ce_values, loss_values).statistic),
                 "one column ranked in reverse order": lambda ce_values, loss_values: float(
                     np.corrcoef(scipy.stats.rankdata(ce_values), scipy.stats.rankdata(-loss_values))[0, 1])})
def solve_spearman(ce_values, loss_values):
    """Spearman's rank correlation of the held-out cross-entropies and the losses (arrays of one length)."""
    return float(scipy.stats.spearmanr(ce_values, loss_values).statistic)


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


def _null_rhos(ce_values, loss_values):
    """Spearman's rho of ``ce_values`` against every ordering of ``loss_values`` (n! numbers)."""
    return np.array([scipy.stats.spearmanr(ce_values, np.asarray(loss_values)[list(order)]).statistic
                     for order in itertools.permutations(range(len(loss_values)))])


def _strictly_greater(ce_values, loss_values):
    observed = scipy.stats.spearmanr(ce_values, loss_values).statistic
    return float(np.mean(_null_rhos(ce_values, loss_values) > observed + 1e-12))


@register("ch9-ex-permutation", example=lambda: {"ce_values": np.array(_CHECKPOINTS["held-out CE"][:6]),
                                                 "loss_values": np.array(_CHECKPOINTS["logistic loss"][:6])},
          rtol=1e-8,
          wrong={"strictly larger only: the observed ordering and its ties left out": _strictly_greater,
                 "two-sided: twice the smaller tail": lambda ce_values, loss_values: rank_correlation_test(
                     ce_values, loss_values, alternative="two-sided").p_value,
                 "the other tail (rho at most the observed one)": lambda ce_values, loss_values: float(np.mean(
                     _null_rhos(ce_values, loss_values)
                     <= scipy.stats.spearmanr(ce_values, loss_values).statistic + 1e-12)),
                 "scipy's large-sample p-value, not a permutation count": lambda ce_values, loss_values: float(
                     scipy.stats.spearmanr(ce_values, loss_values, alternative="greater").pvalue)})
def solve_permutation(ce_values, loss_values):
    """Exact one-sided permutation p-value: the share of the n! orderings whose rho is at least the observed one."""
    return rank_correlation_test(ce_values, loss_values, alternative="greater").p_value
