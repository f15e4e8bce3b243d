"""lmtheory.stats: Spearman's correlation, its permutation test (checked against scipy), seed spreads."""

import doctest
import math

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from lmtheory import stats
from lmtheory.stats import rank_correlation_test, ranks, spearman, spread, spread_table


def random_pairs(rng, n, ties):
    """x and y of length n; with ties, values drawn from a few integers so that ranks tie."""
    if ties:
        return rng.integers(0, 4, n).astype(float), rng.integers(0, 3, n).astype(float)
    x = rng.normal(size=n)
    return x, 0.5 * x + rng.normal(size=n)


def _rho_rows(x, v):
    """scipy's Spearman rho of x against each row of v (shape (..., n)), for a vectorised permutation test."""
    v = np.atleast_2d(v)
    return np.array([scipy.stats.spearmanr(x, row).statistic for row in v.reshape(-1, v.shape[-1])])


def test_the_module_examples():
    assert doctest.testmod(stats).failed == 0


@pytest.mark.parametrize("ties", [False, True])
def test_ranks_and_rho_agree_with_scipy(ties):
    rng = np.random.default_rng(0)
    for _ in range(50):
        x, y = random_pairs(rng, int(rng.integers(3, 40)), ties)
        if len(set(x)) < 2 or len(set(y)) < 2:
            continue
        assert np.array_equal(ranks(x), scipy.stats.rankdata(x))
        assert spearman(x, y) == pytest.approx(scipy.stats.spearmanr(x, y).statistic, abs=1e-12)
        assert rank_correlation_test(x, y, n_permutations=200).rho == pytest.approx(spearman(x, y), abs=1e-12)


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
@pytest.mark.parametrize("ties", [False, True])
def test_exact_p_values_equal_scipys_permutation_test(alternative, ties):
    rng = np.random.default_rng(1)
    checked = 0
    while checked < 8:
        x, y = random_pairs(rng, int(rng.integers(3, 7)), ties)  # at most 6! = 720 permutations: exact
        if len(set(x)) < 2 or len(set(y)) < 2:
            continue
        ours = rank_correlation_test(x, y, alternative=alternative)
        theirs = scipy.stats.permutation_test((y,), lambda v, axis: _rho_rows(x, v), vectorized=True,
                                              permutation_type="pairings", n_resamples=np.inf,
                                              alternative=alternative)
        assert ours.exact and ours.n_permutations == math.factorial(len(x))
        assert ours.p_value == pytest.approx(theirs.pvalue, abs=1e-12)
        checked += 1


def test_random_permutations_approach_the_exact_and_the_large_sample_p_values():
    rng = np.random.default_rng(2)
    x, y = random_pairs(rng, 7, ties=False)
    exact = rank_correlation_test(x, y)
    sampled = rank_correlation_test(x, y, n_permutations=4_000, seed=3)
    assert exact.exact and not sampled.exact and sampled.n_permutations == 4_000
    assert sampled.p_value == pytest.approx(exact.p_value, abs=0.03)
    for _ in range(5):  # for n = 60, scipy's t-approximation is close to the permutation p-value
        x, y = random_pairs(rng, 60, ties=False)
        y = y + rng.normal(scale=3.0, size=60)
        assert rank_correlation_test(x, y, n_permutations=20_000, seed=4).p_value == pytest.approx(
            scipy.stats.spearmanr(x, y).pvalue, abs=0.03)


def test_random_p_values_are_never_zero_and_repeat_under_a_seed():
    x = np.arange(12.0)
    test = rank_correlation_test(x, x, n_permutations=999, seed=0, alternative="greater")
    assert test.rho == 1.0 and test.p_value == pytest.approx(1 / 1_000)
    again = rank_correlation_test(x, x[::-1] * 0 + np.sin(x), n_permutations=999, seed=5)
    assert again.p_value == rank_correlation_test(x, np.sin(x), n_permutations=999, seed=5).p_value


def test_groups_average_within_group_correlations_and_permute_within_groups():
    # three seeds, each a perfectly falling curve, but on levels that rise from seed to seed:
    # pooled, the trend is hidden; within the seeds it is certain
    x = np.tile([5.0, 4.0, 3.0, 2.0], 3)
    y = np.concatenate([[1.0, 0.9, 0.8, 0.7], [2.0, 1.9, 1.8, 1.7], [3.0, 2.9, 2.8, 2.7]])
    seeds = np.repeat([0, 1, 2], 4)
    pooled = rank_correlation_test(x, y, n_permutations=2_000)
    within = rank_correlation_test(x, y, groups=seeds, alternative="greater", n_permutations=20_000)
    assert within.group_rhos == (1.0, 1.0, 1.0) and within.rho == 1.0 and within.n_groups == 3
    assert within.exact and within.n_permutations == 24**3 > 10_000 - 1  # 13,824 <= 20,000: enumerated
    assert within.p_value == pytest.approx(1 / 24**3)  # only the observed pairing in every group
    assert pooled.rho < 0.5 and pooled.p_value > 0.05
    sampled = rank_correlation_test(x, y, groups=seeds, alternative="greater", n_permutations=5_000)
    assert not sampled.exact and sampled.p_value == pytest.approx(1 / 5_001)


def test_exact_grouped_null_matches_a_brute_force_enumeration():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=7), rng.normal(size=7)
    groups = np.array([0, 0, 0, 1, 1, 1, 1])
    test = rank_correlation_test(x, y, groups=groups, alternative="greater")
    import itertools
    a, b = slice(0, 3), slice(3, 7)
    null = [(spearman(x[a], y[a][list(p)]) + spearman(x[b], y[b][list(q)])) / 2
            for p in itertools.permutations(range(3)) for q in itertools.permutations(range(4))]
    assert test.exact and test.n_permutations == 6 * 24
    assert test.p_value == pytest.approx(np.mean(np.array(null) >= test.rho - 1e-12))


@pytest.mark.parametrize("call, message", [
    (lambda: spearman([1, 2, 3], [1, 2]), "paired"),
    (lambda: spearman([1, 2, float("nan")], [1, 2, 3]), "nan or inf"),
    (lambda: spearman([1, 1, 1], [1, 2, 3]), r"x is constant \(every value is 1.0\)"),
    (lambda: spearman([1], [2]), "at least 2"),
    (lambda: spearman([[1, 2], [3, 4]], [1, 2]), "one-dimensional"),
    (lambda: rank_correlation_test([1, 2, 3], [3, 2, 1], alternative="bigger"), "'bigger'"),
    (lambda: rank_correlation_test([1, 2, 3], [3, 2, 1], n_permutations=0), "n_permutations"),
    (lambda: rank_correlation_test([1, 2, 3, 4], [3, 2, 1, 0], groups=[0, 0, 1, 2]), "group 1 has a single"),
    (lambda: rank_correlation_test([1, 2, 3, 4], [3, 3, 1, 0], groups=[0, 0, 1, 1]), "y is constant in group 0"),
    (lambda: rank_correlation_test([1, 2, 3, 4], [3, 2, 1, 0], groups=[0, 1]), r"shape \(4,\)"),
    (lambda: spread([]), "at least 1"),
])
def test_bad_input_is_refused_with_a_message_naming_it(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_spread_and_its_table():
    s = spread([0.61, 0.58, 0.66])
    assert (s.low, s.high, s.n) == (0.58, 0.66, 3)
    assert s.mean == pytest.approx(0.85 / 1.35 * 0 + (0.61 + 0.58 + 0.66) / 3)
    assert s.sd == pytest.approx(np.std([0.61, 0.58, 0.66], ddof=1))
    assert math.isnan(spread([2.0]).sd)
    frame = pd.DataFrame({"objective": ["ce"] * 3 + ["quad"] * 3, "seed": [0, 1, 2] * 2,
                          "accuracy": [0.6, 0.7, 0.8, 0.3, 0.5, 0.4]})
    table = spread_table(frame, "objective", "accuracy")
    assert table.loc["quad", ("accuracy", "mean")] == pytest.approx(0.4)
    assert table.loc["ce", ("accuracy", "low")] == 0.6 and table.loc["quad", ("accuracy", "high")] == 0.5
    with pytest.raises(ValueError, match="no column"):
        spread_table(frame, "model", "accuracy")


def test_seed_figures_draw_every_seed_and_the_range():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lmtheory.seedplots import SEED_COLORS, bars_by_seed, lines_by_seed

    curve = pd.DataFrame({"seed": [0, 0, 0, 1, 1, 1], "ce": [8.0, 7.0, 6.0, 8.1, 7.1, 6.1],
                          "loss": [1.6, 1.5, 1.4, 1.6, 1.55, 1.3], "early": [True, False, False] * 2})
    fig, ax = plt.subplots()
    colors = lines_by_seed(ax, curve, "ce", "loss", hollow="early")
    assert colors == {0: SEED_COLORS[0], 1: SEED_COLORS[1]}
    assert len(ax.lines) == 4 and list(ax.lines[0].get_xdata()) == [7.0, 6.0]  # the hollow point is not joined
    with pytest.raises(ValueError, match=r"no column\(s\) \['accuracy'\]"):
        lines_by_seed(ax, curve, "ce", "accuracy")
    frame = pd.DataFrame({"model": ["ce"] * 3 + ["quad"] * 3, "seed": [0, 1, 2] * 2,
                          "accuracy": [0.4, 0.5, 0.45, 0.2, 0.3, 0.25]})
    spreads = bars_by_seed(ax, frame, "model", "accuracy", scale=100, order=["quad", "ce"])
    assert spreads["ce"].low == pytest.approx(40.0) and spreads["quad"].high == pytest.approx(30.0)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["quad", "ce"]
    with pytest.raises(ValueError, match=r"groups \['mse'\]"):
        bars_by_seed(ax, frame, "model", "accuracy", order=["mse"])
    plt.close(fig)
