"""The figures of chapter 9 (eps in practice): one function per figure.

Both take the chapter's table of probes, one row per (seed, checkpoint, features) with the columns
``seed``, ``early`` (the first checkpoint), ``held-out CE`` (nats/token), ``logistic loss`` (nats),
``error (%)``, ``chance`` and ``features`` (``"f(s)"`` or ``"Phi p_f(s)"``).
"""

from __future__ import annotations

import numpy as np

from ..plotting import subplots
from ..seedplots import lines_by_seed

__all__ = ["probes_against_ce", "sqrt_fits"]

FEATURE_LABELS = {"f(s)": "$f(s)$", "Phi p_f(s)": r"$\Phi p_f(s)$"}


def probes_against_ce(curve, *, uniform: float, topic: str, title: str):
    """Figure 9.1: test logistic loss and error of the probes against the LM's held-out cross-entropy.

    Two columns (the two kinds of features), two rows (logistic loss, error); one colour per seed,
    hollow points for the early checkpoints. The x-axis runs from high to low cross-entropy, the way
    training moves, and it is fitted to the later checkpoints: the early ones, far to the left, are
    drawn at the axis' edge (their range is in the axis label). ``uniform``: the logistic loss of
    giving every class the same probability (log K). ``topic``: the task's name; ``title``: the models.

    Raises ``ValueError`` if an early checkpoint lies inside the later ones' range (the label would be wrong).
    """
    later = curve.loc[~curve.early, "held-out CE"]
    early = curve.loc[curve.early, "held-out CE"]
    pad = 0.05 * (later.max() - later.min())
    x_range = (later.min() - pad, later.max() + pad)
    if not early.min() > x_range[1]:
        raise ValueError(f"an early checkpoint (CE {early.min():.3f}) lies within the later ones' range "
                         f"{x_range[0]:.3f} to {x_range[1]:.3f}: it would not be off the axis, as the label says")
    fig, axes = subplots(2, 2, height=6.6, sharex=True)
    axes[0, 0].invert_xaxis()  # shared by all four panels: training lowers the CE, so it moves to the right
    for j, kind in enumerate(FEATURE_LABELS):
        part = curve[curve.features == kind]
        levels = ((uniform, "every class equally likely"),
                  (100 * (1 - part.chance.max()), "always the majority class"))
        for row, (column, (level, name)) in enumerate(zip(("logistic loss", "error (%)"), levels)):
            ax = axes[row, j]
            lines_by_seed(ax, part, "held-out CE", column, hollow="early",
                          label="seed {seed}" if row == 0 else "", x_range=x_range)
            ax.axhline(level, color="gray", ls=":", label=name)
            ax.set_ylabel(f"test {column}" + (" (nats)" if row == 0 else ""))
            ax.legend()
        axes[0, j].set_title(FEATURE_LABELS[kind])
        axes[1, j].set_xlabel(f"held-out CE of the LM (nats/token)\n◁: early checkpoints, CE "
                              f"{early.min():.2f} to {early.max():.2f}, off the axis")
    fig.suptitle(f"{topic}: one point per checkpoint (hollow: the early one), one colour per seed\n{title}")
    return fig


def sqrt_fits(later, fits: dict, *, topic: str, title: str):
    """Figure 9.2: the logistic loss against ``CE - c`` on a log axis, with the fitted ``a + b sqrt(CE - c)``.

    ``later``: the probe table without the early checkpoints. ``fits``: features -> ``{"a", "b", "c"}``.
    ``topic``: the task's name; ``title``: the models.
    """
    fig, ax = subplots(height=3.6)
    for kind, marker in (("f(s)", "o"), ("Phi p_f(s)", "s")):
        part, fit = later[later.features == kind], fits[kind]
        grid = np.linspace(part["held-out CE"].min(), part["held-out CE"].max(), 100)
        points = ax.plot(part["held-out CE"] - fit["c"], part["logistic loss"], marker, ls="none",
                         label=f"{FEATURE_LABELS[kind]}, c = {fit['c']:.2f}")
        ax.plot(grid - fit["c"], fit["a"] + fit["b"] * np.sqrt(grid - fit["c"]), "-",
                color=points[0].get_color(), alpha=0.6)
    ax.set_xscale("log")
    ax.set_xlabel("held-out CE minus the fitted offset c (nats/token)")
    ax.set_ylabel(f"{topic} test logistic loss (nats)")
    ax.legend()
    ax.set_title(f"Fits a + b sqrt(CE - c) (lines), checkpoints after the early one, all seeds\n{title}")
    return fig
