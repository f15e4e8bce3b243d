"""Small statistics for results that come from a few seeds: rank correlations, permutation tests, spreads.

Chapters 8 and 9 train a few small language models that differ only in their seed and report how
much the results move from seed to seed. Two questions recur:

* **How far apart are the seeds?** :func:`spread` gives the mean, the standard deviation and the
  smallest and largest value of a handful of numbers (one per seed); :func:`spread_table` does it
  for every group of a table. With three seeds the standard deviation is itself very uncertain, so
  the chapters draw the range (smallest to largest) as the error bar and show every seed.
* **Does one quantity fall with another?** :func:`rank_correlation_test` computes Spearman's rank
  correlation and a permutation p-value: how often a random re-pairing of the values gives a
  correlation at least as extreme. With ``groups`` (one group per seed) the pairs are re-paired only
  *within* each group and the statistic is the mean of the groups' correlations, so a difference
  between seeds can neither create nor hide a trend.

The p-value follows scipy's conventions (``scipy.stats.permutation_test``): an exact p-value counts
every permutation, the observed one included, when there are at most ``n_permutations`` of them;
otherwise ``n_permutations`` random ones are drawn and ``p = (1 + hits) / (1 + n_permutations)``,
which is never 0. Two-sided means twice the smaller one-sided p-value, capped at 1.

>>> test = rank_correlation_test([1, 2, 3, 4, 5], [2.0, 1.0, 4.0, 3.0, 5.0])
>>> round(test.rho, 2), round(test.p_value, 3), test.exact
(0.8, 0.133, True)
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from .checks import check_int

__all__ = ["ranks", "spearman", "RankTest", "rank_correlation_test", "Spread", "spread", "spread_table",
           "ALTERNATIVES"]

ALTERNATIVES = ("two-sided", "greater", "less")
#: Relative tolerance under which a permuted statistic counts as equal to the observed one (ties).
_TIE = 1e-12


def ranks(values) -> np.ndarray:
    """Ranks 1..n of ``values`` (shape (n,)), ties sharing their average rank (as ``scipy.stats.rankdata``).

    Example: ``ranks([10, 30, 20, 20])`` -> ``array([1. , 4. , 2.5, 2.5])``.
    """
    x = _vector(values, "values")
    order = np.argsort(x, kind="stable")
    sorted_x = x[order]
    starts = np.flatnonzero(np.r_[True, sorted_x[1:] != sorted_x[:-1]])
    ends = np.r_[starts[1:], len(x)]
    average = (starts + ends + 1) / 2.0  # ranks start + 1 .. end, averaged
    out = np.empty(len(x))
    out[order] = np.repeat(average, ends - starts)
    return out


def spearman(x, y) -> float:
    """Spearman's rank correlation of two sequences of one length n >= 2 (Pearson's correlation of their ranks).

    Raises ``ValueError`` when the lengths differ, a value is not finite, or either sequence is
    constant (its ranks have no spread, so the correlation is undefined).

    Example: ``spearman([1, 2, 3], [30, 20, 10])`` -> ``-1.0``.
    """
    cx, cy = _centred_ranks(x, y, "")
    return float(cx @ cy / math.sqrt((cx @ cx) * (cy @ cy)))


@dataclass(frozen=True)
class RankTest:
    """The result of :func:`rank_correlation_test`.

    Attributes
    ----------
    rho : float
        Spearman's correlation; with groups, the mean of the groups' correlations.
    p_value : float
        The permutation p-value for ``alternative``.
    group_rhos : tuple of float
        Each group's correlation, in the order the groups first appear (one entry without groups).
    n : int
        Pairs in all.
    n_groups : int
    n_permutations : int
        Permutations compared: all of them (``exact``) or the random ones drawn.
    exact : bool
    alternative : {"two-sided", "greater", "less"}
    """

    rho: float
    p_value: float
    group_rhos: tuple
    n: int
    n_groups: int
    n_permutations: int
    exact: bool
    alternative: str

    def __str__(self) -> str:
        how = "exact, all" if self.exact else "random"
        within = f" (mean of {self.n_groups} groups' correlations, pairs permuted within groups)" \
            if self.n_groups > 1 else ""
        return (f"Spearman rho = {self.rho:+.3f}{within}, {self.alternative} permutation p = {self.p_value:.2g} "
                f"({how} {self.n_permutations:,} permutations, {self.n} pairs)")


def rank_correlation_test(x, y, groups=None, *, alternative: str = "two-sided", n_permutations: int = 10_000,
                          seed: int = 0) -> RankTest:
    """Spearman's rank correlation of ``x`` and ``y`` with a permutation p-value.

    Parameters
    ----------
    x, y : array-like, shape (n,)
        Finite numbers, paired by position.
    groups : array-like, shape (n,), optional
        A label per pair (for example the seed of the run it comes from). Each group needs at least
        two pairs, and neither ``x`` nor ``y`` may be constant inside a group. The statistic is then
        the mean of the within-group correlations, and ``y`` is permuted within each group only.
    alternative : {"two-sided", "greater", "less"}
        ``"greater"``: the p-value of a correlation at least as large as observed, under random
        pairing; ``"less"``: at least as small; ``"two-sided"``: twice the smaller of the two, at most 1.
    n_permutations : int
        When the permutations number at most this, all are enumerated (an exact p-value);
        otherwise this many are drawn at random.
    seed : int
        Seed of the random permutations.

    Returns
    -------
    RankTest

    Example: ``rank_correlation_test(ce, loss, groups=seed, alternative="greater").p_value``.
    """
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {ALTERNATIVES}, got {alternative!r}")
    n_permutations = check_int(n_permutations, "n_permutations", low=1)
    x, y = _vector(x, "x"), _vector(y, "y")
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} values and y has {len(y)}; they must be paired, one to one")
    labels = np.zeros(len(x), dtype=int) if groups is None else _labels(groups, len(x))
    parts = []
    for label in dict.fromkeys(labels.tolist()):  # groups in order of first appearance
        where = labels == label
        if where.sum() < 2:
            raise ValueError(f"group {label!r} has a single pair; a rank correlation needs at least two per group")
        parts.append(_centred_ranks(x[where], y[where], "" if groups is None else f" in group {label!r}"))
    scale = [math.sqrt((cx @ cx) * (cy @ cy)) for cx, cy in parts]
    group_rhos = tuple(float(cx @ cy / s) for (cx, cy), s in zip(parts, scale))
    observed = float(np.mean(group_rhos))

    sizes = [len(cx) for cx, _ in parts]
    total = math.prod(math.factorial(k) for k in sizes)
    if total <= n_permutations:
        exact, count = True, total
        per_group = [np.array(list(itertools.permutations(range(k)))) for k in sizes]
        null = np.zeros(total)
        for j, ((cx, cy), s, perms) in enumerate(zip(parts, scale, per_group)):
            values = cy[perms] @ cx / s  # (k!,)
            repeat = math.prod(len(p) for p in per_group[j + 1:])
            null += np.tile(np.repeat(values, repeat), total // (len(values) * repeat)) / len(parts)
    else:
        exact, count = False, int(n_permutations)
        rng = np.random.default_rng(seed)
        null = np.zeros(count)
        for (cx, cy), s in zip(parts, scale):
            for start in range(0, count, 2_000):  # blocks of permutations: bounded memory
                block = min(2_000, count - start)
                perms = np.argsort(rng.random((block, len(cy))), axis=1)
                null[start:start + block] += cy[perms] @ cx / s / len(parts)
    tolerance = _TIE * max(1.0, abs(observed))
    hits_greater = int((null >= observed - tolerance).sum())
    hits_less = int((null <= observed + tolerance).sum())
    if exact:
        p_greater, p_less = hits_greater / count, hits_less / count
    else:
        p_greater, p_less = (1 + hits_greater) / (1 + count), (1 + hits_less) / (1 + count)
    p = {"greater": p_greater, "less": p_less, "two-sided": min(1.0, 2 * min(p_greater, p_less))}[alternative]
    return RankTest(rho=observed, p_value=float(p), group_rhos=group_rhos, n=len(x), n_groups=len(parts),
                    n_permutations=count, exact=exact, alternative=alternative)


@dataclass(frozen=True)
class Spread:
    """Mean, standard deviation (``ddof=1``; nan for one value), smallest and largest of ``n`` values."""

    mean: float
    sd: float
    low: float
    high: float
    n: int

    def __str__(self) -> str:
        return f"{self.mean:.3g} (range {self.low:.3g} to {self.high:.3g}, {self.n} values)"


def spread(values) -> Spread:
    """How a few numbers (one per seed, say) spread: :class:`Spread` of ``values`` (shape (n,), n >= 1, finite).

    Example: ``spread([0.61, 0.58, 0.66]).high`` -> ``0.66``.
    """
    x = _vector(values, "values", minimum=1)
    return Spread(mean=float(x.mean()), sd=float(x.std(ddof=1)) if len(x) > 1 else float("nan"),
                  low=float(x.min()), high=float(x.max()), n=len(x))


def spread_table(frame, by, columns):
    """:func:`spread` of each column of ``columns`` within each group of ``by``, as a table.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per seed (and per whatever else ``by`` names).
    by : str or list of str
        The columns that define a group (for example ``["objective", "features"]``).
    columns : str or list of str
        Numeric columns to summarise.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``by``, with columns ``(column, statistic)`` for statistic in mean, sd, low, high, n.

    Example: ``spread_table(results, ["objective", "features"], "accuracy")``.
    """
    import pandas as pd

    by = [by] if isinstance(by, str) else list(by)
    columns = [columns] if isinstance(columns, str) else list(columns)
    missing = [c for c in by + columns if c not in frame.columns]
    if missing:
        raise ValueError(f"frame has no column(s) {missing}; its columns are {list(frame.columns)}")
    rows = {}
    for key, part in frame.groupby(by, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        rows[key] = {(column, stat): value for column in columns
                     for stat, value in vars(spread(part[column].to_numpy(dtype=float))).items()}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index = pd.MultiIndex.from_tuples(table.index, names=by) if len(by) > 1 else pd.Index(
        [k[0] for k in table.index], name=by[0])
    table.columns = pd.MultiIndex.from_tuples(table.columns)
    return table


# ---------------------------------------------------------------- input checks


def _vector(values, name: str, minimum: int = 2) -> np.ndarray:
    try:
        x = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be a sequence of numbers, got {type(values).__name__}: {error}") from None
    if x.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {x.shape}")
    if len(x) < minimum:
        raise ValueError(f"{name} has {len(x)} value(s); at least {minimum} are needed")
    bad = np.flatnonzero(~np.isfinite(x))
    if len(bad):
        raise ValueError(f"{name} has {len(bad)} value(s) that are nan or inf (first at position {bad[0]}: "
                         f"{x[bad[0]]}); every value must be finite")
    return x


def _labels(groups, n: int) -> np.ndarray:
    labels = np.asarray(groups)
    if labels.ndim != 1 or len(labels) != n:
        raise ValueError(f"groups must have one label per pair, shape ({n},); got shape {labels.shape}")
    return labels


def _centred_ranks(x, y, where: str) -> tuple[np.ndarray, np.ndarray]:
    rx, ry = ranks(_vector(x, "x")), ranks(_vector(y, "y"))
    if len(rx) != len(ry):
        raise ValueError(f"x has {len(rx)} values and y has {len(ry)}; they must be paired, one to one")
    for name, r, raw in (("x", rx, x), ("y", ry, y)):
        if np.all(r == r[0]):
            raise ValueError(f"{name} is constant{where} (every value is {float(np.asarray(raw, dtype=float)[0])!r}): "
                             f"a rank correlation needs at least two different values")
    return rx - rx.mean(), ry - ry.mean()
