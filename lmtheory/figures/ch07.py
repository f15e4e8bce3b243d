"""The figures of chapter 7 (linear probes on language-model features): one function per figure.

Each draws what the chapter computed, in the book's style, and returns the figure.
"""

from __future__ import annotations

import numpy as np

from ..plotting import subplots

__all__ = ["probe_bars"]

#: Columns of the chapter's table that are not accuracies of a probe.
NOT_PROBES = ("chance", "n_train", "n_test")


def probe_bars(table, *, model: str, mode: str):
    """Figure 7.1: test accuracy of every probe, grouped by task, with chance as a dashed line.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per task (``"rt2"``, ``"rt2*"`` with the prompt, ...), indexed by task; one column per
        kind of feature with the test accuracy in percent (``nan`` where a task has no such probe),
        including ``"bag of words"`` (drawn in grey), and the columns ``"chance"`` (percent),
        ``"n_train"`` and ``"n_test"`` (texts).
    model : str
        The language model's name, for the title.
    mode : str
        The size mode (``lmtheory.sizes.mode()``), for the title.
    """
    missing = [c for c in NOT_PROBES if c not in table.columns]
    if missing:
        raise ValueError(f"the table has no column(s) {missing}; its columns are {list(table.columns)}")
    columns = [col for col in table.columns if col not in NOT_PROBES]
    rows = list(table.index)
    fig, ax = subplots(height=3.8)
    width = 0.84 / len(columns)
    x = np.arange(len(rows))
    for k, col in enumerate(columns):
        ax.bar(x + (k - (len(columns) - 1) / 2) * width, table[col], width, label=col,
               color="0.6" if col == "bag of words" else None)
    for i, row in enumerate(rows):
        ax.hlines(table.loc[row, "chance"], i - 0.45, i + 0.45, colors="k", linestyles="dashed",
                  label="chance" if i == 0 else None)
    ax.set_xticks(x, rows)
    ax.set_ylim(0, 100)
    ax.set_ylabel("test accuracy (%)")
    n_test = " or ".join(f"{n:,}" for n in sorted(set(table["n_test"])))
    ax.set_title(f"Linear probes on {model} features, raw\n"
                 f"({table['n_train'].iloc[0]:,} train / {n_test} test texts, {mode} sizes)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig
