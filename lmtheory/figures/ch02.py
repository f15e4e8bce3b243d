"""The figures of chapter 2 (natural tasks: classification as sentence completion), one function per figure.

* :func:`indicative_words`: Figure 2.1, which next words indicate sentiment;
* :func:`score_histogram`: Figure 2.2, the zero-shot score by true class;
* :func:`natural_task_curves`: Figure 2.3, the smallest task loss of ``v^T p(s)`` with ``||v||_inf <= B``.

Each takes what the chapter computed, a ``subtitle`` (model, prompt, sample) and the data's ``source``.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ..plotting import COLORS, subplots

__all__ = ["indicative_words", "score_histogram", "natural_task_curves"]

_CLASS_COLORS = (COLORS["adversarial"], COLORS["random"])  # negative, positive


def _source_note(fig, source: str) -> None:
    """The data's source, small and grey, under the figure's left edge."""
    fig.supxlabel(f"data: {source}", x=0.01, ha="left", fontsize=8, color="0.35")


def indicative_words(tokens, diff, *, subtitle: str, source: str) -> Figure:
    """Figure 2.1 of chapter 2: how much more likely each indicative token is after positive texts.

    Parameters
    ----------
    tokens : sequence of str, length k
        The indicative tokens (``feats.subset_tokens``).
    diff : array, shape (k,)
        Mean ``log p(token)`` after positive texts minus after negative ones (nats).
    subtitle : str
        Model, prompt and sample, under the title.
    source : str
        Where the texts come from.

    Returns
    -------
    matplotlib.figure.Figure
        One panel of horizontal bars, sorted, blue to the right (positive), red to the left.

    Example: ``indicative_words((" great", " bad"), np.array([0.4, -0.5]), subtitle="", source="toy")``.
    """
    diff = np.asarray(diff, dtype=float)
    if diff.shape != (len(tokens),):
        raise ValueError(f"diff must have shape ({len(tokens)},), one value per token, got {diff.shape}")
    order = np.argsort(diff)
    fig, ax = subplots(height=4.2)
    ax.barh([repr(tokens[j]) for j in order], diff[order],
            color=[_CLASS_COLORS[1] if diff[j] > 0 else _CLASS_COLORS[0] for j in order])
    ax.axvline(0, color="0.3", lw=0.8)
    ax.set(xlabel="mean log p(word) on positive − on negative sentences (nats)")
    ax.set_title(f"Which next words indicate sentiment?\n{subtitle}", fontsize=10)
    _source_note(fig, source)
    return fig


def score_histogram(margin, labels, label_names, pair, *, subtitle: str, source: str) -> Figure:
    """Figure 2.2 of chapter 2: the zero-shot score of a word pair by true class.

    Parameters
    ----------
    margin : array, shape (n,)
        ``log p(positive word) - log p(negative word)`` per text (nats).
    labels : array of int, shape (n,)
        0 (negative) or 1 (positive).
    label_names : sequence of str, length 2
        The classes' names, for the legend.
    pair : tuple of str
        ``(positive word, negative word)``, for the axis label.
    subtitle, source : str
        Model, prompt and sample; where the texts come from.

    Returns
    -------
    matplotlib.figure.Figure
        One panel: two overlaid histograms and the zero-shot threshold 0 (dashed).

    Example: ``score_histogram(np.r_[-1.0, 2.0], np.r_[0, 1], ("negative", "positive"), ("great", "bad"),
    subtitle="", source="toy")``.
    """
    margin, labels = np.asarray(margin, dtype=float), np.asarray(labels)
    if margin.shape != labels.shape or margin.ndim != 1:
        raise ValueError(f"margin and labels must be 1-D of the same length, got {margin.shape} and {labels.shape}")
    fig, ax = subplots(height=3.8)
    bins = np.linspace(margin.min(), margin.max(), 30)
    for c, color in enumerate(_CLASS_COLORS):
        ax.hist(margin[labels == c], bins=bins, alpha=0.55, color=color, label=f"true class: {label_names[c]}")
    ax.axvline(0, color="0.2", lw=1, ls="--", label="zero-shot threshold")
    ax.set(xlabel=f"log p({pair[0]!r}) − log p({pair[1]!r})  (nats)", ylabel="sentences")
    ax.set_title(f"Zero-shot score by true class\n{subtitle}", fontsize=10)
    ax.legend()
    _source_note(fig, source)
    return fig


def natural_task_curves(curve, pair, n_tokens: int, *, subtitle: str, source: str) -> Figure:
    """Figure 2.3 of chapter 2: the smallest logistic loss of ``v^T p(s)`` with ``||v||_inf <= B``, against B.

    Parameters
    ----------
    curve : pandas.DataFrame
        One row per bound, columns ``B``, ``pair, |t| <= B``, ``tokens, whole sample`` and
        ``tokens, held out`` (losses in nats).
    pair : tuple of str
        ``(a, b)`` of the pair's direction ``v = e_a - e_b``.
    n_tokens : int
        How many indicative tokens the bounded ``v`` may weight.
    subtitle, source : str
        Model, prompt and sample; where the texts come from.

    Returns
    -------
    matplotlib.figure.Figure
        One panel, log-scaled B, with the coin flip's loss ``log 2`` dotted.

    Example: ``natural_task_curves(curve, ("great", "bad"), 28, subtitle="", source="toy")``.
    """
    needed = {"B", "pair, |t| <= B", "tokens, whole sample", "tokens, held out"}
    if not needed <= set(curve.columns):
        raise ValueError(f"curve needs the columns {sorted(needed)}, got {list(curve.columns)}")
    fig, ax = subplots(height=4.2)
    ax.semilogx(curve["B"], curve["pair, |t| <= B"], "o-", color=COLORS["fixed"],
                label=f"pair: $t v$, $|t| \\leq B$, $v = e_{{{pair[0]}}} - e_{{{pair[1]}}}$")
    ax.semilogx(curve["B"], curve["tokens, whole sample"], "s-", color=COLORS["refit"],
                label=f"best $\\|v\\|_\\infty \\leq B$ on {n_tokens} indicative tokens")
    ax.semilogx(curve["B"], curve["tokens, held out"], "s--", color=COLORS["refit"], mfc="white",
                label="the same, fitted on one half, evaluated on the other")
    ax.axhline(np.log(2), color="0.4", lw=0.8, ls=":")
    ax.text(curve["B"].max(), np.log(2), "coin flip, log 2 ", fontsize=8, va="bottom", ha="right", color="0.3")
    ax.set(xlabel="weight bound B", ylabel="logistic loss (nats)")
    ax.set_title(f"Smallest task loss of $v^\\top p(s)$ with $\\|v\\|_\\infty \\leq B$\n{subtitle}", fontsize=10)
    ax.legend(loc="lower left")
    _source_note(fig, source)
    return fig
