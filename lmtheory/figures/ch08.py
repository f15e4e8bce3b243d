"""The figures of chapter 8 (Quad against cross-entropy): one function per figure.

Each draws what the chapter computed, in the book's style, and returns the figure. The colours of
the three kinds of pretrained model are :data:`lmtheory.plotting.MODEL_COLORS`.
"""

from __future__ import annotations

import numpy as np
from matplotlib.patches import Rectangle

from ..plotting import MODEL_COLORS, subplots
from ..seedplots import bars_by_seed

__all__ = ["losses_along_a_line", "training_curves", "probe_bars"]


def losses_along_a_line(ts, quad_values, ce_values, *, vocab_size: int, dim: int):
    """Figure 8.1: the Quad loss and the cross-entropy of one context along a line in feature space.

    Parameters
    ----------
    ts : array of shape (n,)
        Positions ``t`` on the line ``theta = f*(s) + t (f_opt(s) - f*(s))``.
    quad_values, ce_values : arrays of shape (n,)
        The two losses at those positions.
    vocab_size, dim : int
        Of the synthetic world, for the title.
    """
    fig, axes = subplots(1, 2, height=3.4)
    panels = ((quad_values, "Quad loss", MODEL_COLORS["quad"]),
              (ce_values, "cross-entropy (nats)", MODEL_COLORS["ce"]))
    for ax, (values, name, color) in zip(axes, panels):
        ax.plot(ts, values, color=color)
        ax.axvline(0, color="gray", ls=":", label="$f^*(s)$ (Quad minimiser)")
        ax.axvline(1, color="gray", ls="--", label="$f_{opt}(s)$ (softmax optimum)")
        ax.set_xlabel(r"$t$ in $\theta = f^*(s) + t\,(f_{opt}(s) - f^*(s))$")
        ax.set_ylabel(name)
    axes[0].legend()
    fig.suptitle(f"One context of the synthetic world (V = {vocab_size}, d = {dim})")
    return fig


def training_curves(curves, *, title: str):
    """Figure 8.2: held-out cross-entropy and Quad loss against training tokens, one line per run.

    ``curves``: a table with one row per (model, seed, checkpoint) and columns ``model``, ``seed``,
    ``tokens``, ``held-out CE`` and ``held-out Quad``. ``title``: the models' description.
    """
    fig, axes = subplots(1, 2, height=3.4)
    first_seed = curves.seed.min()
    for (kind, seed), part in curves.groupby(["model", "seed"], sort=False):
        for ax, column in zip(axes, ("held-out CE", "held-out Quad")):
            ax.plot(part.tokens, part[column], "o-", ms=3, lw=1, color=MODEL_COLORS[kind],
                    label=kind if seed == first_seed else None)
    axes[0].set_ylabel("held-out cross-entropy (nats/token)")
    axes[1].set_ylabel("held-out Quad loss")
    axes[1].set_yscale("symlog", linthresh=1.0)
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("training tokens")
        ax.legend()
    fig.suptitle(f"One line per run; {title}")
    return fig


def probe_bars(results, sizes: dict, chance: dict, *, title: str):
    """Figure 8.3: test accuracy and logistic loss of the probes, by task, features and model.

    Parameters
    ----------
    results : pandas.DataFrame
        One row per probe: ``task``, ``model``, ``features`` (``"f(s)"`` or ``"Phi p_f(s)"``), ``seed``,
        ``accuracy`` (a fraction) and ``logistic loss`` (nats).
    sizes : dict
        task -> ``(train texts, test texts, classes)`` per seed.
    chance : dict
        task -> accuracy of always answering the majority class (a fraction).
    title : str
        The models' description.
    """
    kinds = list(MODEL_COLORS)
    groups = [(model, kind) for kind in ("f(s)", "Phi p_f(s)") for model in kinds]
    fig, axes = subplots(2, 2, height=6.6, sharex=True)
    for j, task in enumerate(sizes):
        part = results[results.task == task].assign(group=lambda t: list(zip(t.model, t.features)))
        n_train, n_test, classes = sizes[task]
        panels = (("accuracy", 100, 100 * chance[task], "majority class"),
                  ("logistic loss", 1, np.log(classes), "uninformed (log K)"))
        for i, (column, scale, level, name) in enumerate(panels):
            ax = axes[i, j]
            bars_by_seed(ax, part, "group", column, order=groups, scale=scale,
                         colors={g: MODEL_COLORS[g[0]] for g in groups})
            ax.axhline(level, color="gray", ls=":", label=name)
            ax.set_ylabel(f"test {column}" + (" (%)" if i == 0 else " (nats)"))
            ax.legend(frameon=True)  # a white box: the legend may lie over a bar
        axes[1, j].set_xticks([1, 4], ["features $f(s)$", r"features $\Phi p_f(s)$"])  # middle bar of each three
        axes[0, j].set_title(f"{task}: {n_train:,} train / {n_test:,} test texts per seed")
    handles = [Rectangle((0, 0), 1, 1, color=MODEL_COLORS[m], alpha=0.75, label=m) for m in kinds]
    fig.legend(handles=handles, loc="outside lower center", ncol=3, title="bar colour: the pretrained model")
    fig.suptitle(f"Bars: mean over seeds; error bars: smallest to largest; dots: the seeds\n{title}")
    return fig
