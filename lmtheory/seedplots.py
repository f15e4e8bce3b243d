"""Figures of results that come from a few seeds: every seed drawn, with the range as the error bar.

With three seeds a standard deviation is itself very uncertain, so these figures show each seed's
value and mark the spread as the range from the smallest to the largest (:func:`lmtheory.stats.spread`).

* :func:`lines_by_seed`: one line per seed of a quantity measured along training (chapter 9);
* :func:`bars_by_seed`: one bar per group at the mean over seeds, the range as an error bar, and
  a dot per seed (chapter 8).
"""

from __future__ import annotations

import numpy as np

from .stats import spread

__all__ = ["SEED_COLORS", "lines_by_seed", "bars_by_seed"]

#: One colour per seed (seed k gets ``SEED_COLORS[k % len(SEED_COLORS)]``).
SEED_COLORS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e")


def _require(frame, columns):
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"the table has no column(s) {missing}; its columns are {list(frame.columns)}")


def lines_by_seed(ax, frame, x: str, y: str, *, seed: str = "seed", hollow: str | None = None, marker: str = "o",
                  linestyle: str = "-", label: str = "seed {seed}", x_range=None):
    """Draw ``y`` against ``x``, one line per value of ``seed`` (rows in their table order).

    Parameters
    ----------
    ax : matplotlib Axes
    frame : pandas.DataFrame
        One row per point, with columns ``x``, ``y`` and ``seed`` (and ``hollow`` if given).
    hollow : str, optional
        A boolean column: its rows are drawn as hollow markers, not joined to the line (for example
        the early checkpoint of chapter 9).
    label : str
        Legend label per seed, formatted with ``seed=``; ``""`` for none.
    x_range : (low, high), optional
        The x-axis limits. Hollow points outside them are drawn at the nearer limit as a triangle
        pointing off the axis (their y unchanged), so that one far-off point, such as an early
        checkpoint, does not squeeze the others; say so in the axis label. Invert the axis first if
        it runs backwards. Joined points must lie inside.

    Returns
    -------
    dict
        seed -> the colour used.

    Example: ``lines_by_seed(ax, curve, "held-out CE", "logistic loss", hollow="early")``.
    """
    _require(frame, [x, y, seed] + ([hollow] if hollow else []))
    low, high = (-np.inf, np.inf) if x_range is None else map(float, x_range)
    if not low < high:
        raise ValueError(f"x_range = {x_range!r} must be (low, high) with low < high")
    mask = frame[hollow].to_numpy(bool) if hollow else np.zeros(len(frame), bool)
    outside = ~frame[x].between(low, high).to_numpy() & ~mask
    if outside.any():
        raise ValueError(f"x_range = {x_range!r} leaves out joined points, e.g. {x} = {frame[x][outside].iloc[0]:g}")
    # a triangle at either end points off the axis: to the left at the end drawn on the left
    beyond = {low: "<" if not ax.xaxis_inverted() else ">", high: ">" if not ax.xaxis_inverted() else "<"}
    colors = {}
    for value, part in frame.groupby(seed, sort=True):
        color = SEED_COLORS[int(value) % len(SEED_COLORS)] if np.issubdtype(type(value), np.integer) else None
        hollow_rows = part[hollow].to_numpy(bool) if hollow else np.zeros(len(part), bool)
        line = ax.plot(part[x][~hollow_rows], part[y][~hollow_rows], marker=marker, linestyle=linestyle, color=color,
                       label=label.format(seed=value) if label else None)[0]
        xs, ys = part[x][hollow_rows].to_numpy(float), part[y][hollow_rows].to_numpy(float)
        for end, inside in ((low, xs >= low), (high, xs <= high)):
            if (~inside).any():
                ax.plot(np.full((~inside).sum(), end), ys[~inside], marker=beyond[end], linestyle="none", mfc="none",
                        color=line.get_color(), clip_on=False)
        keep = (xs >= low) & (xs <= high)
        if keep.any():
            ax.plot(xs[keep], ys[keep], marker=marker, linestyle="none", mfc="none", color=line.get_color())
        colors[value] = line.get_color()
    if x_range is not None:
        ax.set_xlim((high, low) if ax.xaxis_inverted() else (low, high))
    return colors


def bars_by_seed(ax, frame, group: str, value: str, *, order=None, colors=None, seed: str = "seed", scale: float = 1.0):
    """Bars at the mean of ``value`` over seeds for each ``group``, the range as error bar, a dot per seed.

    Parameters
    ----------
    ax : matplotlib Axes
    frame : pandas.DataFrame
        One row per (group, seed), with columns ``group``, ``value`` and ``seed``.
    order : list, optional
        The groups, left to right (default: in order of first appearance).
    colors : dict, optional
        group -> bar colour.
    scale : float
        Multiply every value by this (100 for percentages).

    Returns
    -------
    dict
        group -> :class:`lmtheory.stats.Spread` of the (scaled) values.

    Example: ``bars_by_seed(ax, results[results.task == "bbc"], "model", "accuracy", scale=100)``.
    """
    _require(frame, [group, value, seed])
    order = list(dict.fromkeys(frame[group])) if order is None else list(order)
    unknown = [g for g in order if g not in set(frame[group])]
    if unknown:
        raise ValueError(f"order names groups {unknown} that the table does not have")
    spreads = {}
    for i, name in enumerate(order):
        values = scale * frame.loc[frame[group] == name, value].to_numpy(dtype=float)
        s = spreads[name] = spread(values)
        ax.bar(i, s.mean, color=(colors or {}).get(name), alpha=0.75)
        ax.errorbar(i, s.mean, yerr=[[s.mean - s.low], [s.high - s.mean]], color="black", capsize=4, lw=1)
        ax.plot(np.full(len(values), i) + np.linspace(-0.12, 0.12, len(values)), values, "k.", ms=5)
    ax.set_xticks(range(len(order)), [str(g) for g in order])
    return spreads
