"""The figures of chapter 5 (softmax features and conditional mean features).

* :func:`first_order`: Figure 5.1 (``fig-ch5-first-order``), the best softmax model's next-word
  probabilities against the truth, and its conditional means against the true ones;
* :func:`step4_one_context`: Figure 5.2 (``fig-ch5-step4``), step 4 of the key lemma in one context;
* :func:`theorem_sweeps`: Figure 5.3 (``fig-ch5-theorem``), the conditional mean theorem along a grid
  of eps in two worlds;
* :func:`feature_bars`: Figure 5.4 (``fig-ch5-natural``), refitted logistic regressions on several
  feature maps for two tasks, in sample and held out.
"""

from __future__ import annotations

import numpy as np

from ..plotting import COLORS, subplots

__all__ = ["first_order", "step4_one_context", "theorem_sweeps", "feature_bars"]


def _diagonal(ax, low, high):
    ax.plot([low, high], [low, high], color=COLORS["bound"], lw=1, ls="--")


def first_order(p_star, p_opt, mean_star, mean_opt, title):
    """Figure 5.1 of chapter 5: the best softmax model is wrong about ``p*`` but right about ``Phi p*``.

    Parameters
    ----------
    p_star, p_opt : tensors or arrays, shape (n, V)
        The true next-word distributions of n contexts and the best softmax model's.
    mean_star, mean_opt : tensors or arrays, shape (n, d)
        Their conditional means ``Phi p*(s)`` and ``Phi p_f_opt(s)``.
    title : str
        The figure's title (the world and the number of contexts).

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: probabilities on log-log axes (left), conditional-mean coordinates (right).
    """
    p_star, p_opt = np.asarray(p_star, dtype=float), np.asarray(p_opt, dtype=float)
    mean_star, mean_opt = np.asarray(mean_star, dtype=float), np.asarray(mean_opt, dtype=float)
    fig, (left, right) = subplots(1, 2, height=3.9)
    left.scatter(p_star.ravel(), p_opt.ravel(), s=4, alpha=0.35, color=COLORS["random"])
    _diagonal(left, 0, max(p_star.max(), p_opt.max()))
    left.set(xlabel=r"true probability $p^*(s)_w$", ylabel=r"best softmax model $p_{f_{\rm opt}}(s)_w$",
             title="next-word probabilities: different", xscale="log", yscale="log")
    right.scatter(mean_star.ravel(), mean_opt.ravel(), s=8, alpha=0.6, color=COLORS["tau"])
    _diagonal(right, mean_star.min(), mean_star.max())
    right.set(xlabel=r"$(\Phi p^*(s))_i$", ylabel=r"$(\Phi p_{f_{\rm opt}}(s))_i$", title="conditional means: equal")
    fig.suptitle(title, fontsize=10)
    return fig


def step4_one_context(t, change, slope, B, step, minimum, eps):
    """Figure 5.2 of chapter 5: one context's loss along ``lambda`` under the parabola of curvature ``B^2``.

    Parameters
    ----------
    t, change : tensors or arrays, shape (T,)
        Steps ``t`` along ``lambda`` and the context's change of loss ``g_s(t) - g_s(0)`` (nats).
    slope : float
        ``g_s'(0) = v^T (p_f(s) - p*(s))``; with ``B`` it fixes the parabola
        ``t g_s'(0) + B^2 t^2 / 2`` and the promised decrease ``-g_s'(0)^2 / (2 B^2)``.
    step, minimum : (float, float)
        ``(t, change of loss)`` at the parabola's minimiser ``t_s = -g_s'(0) / B^2`` and at the
        true minimum along ``lambda``.
    eps : float
        The model's excess loss, for the title.

    Returns
    -------
    matplotlib.figure.Figure
        One panel.
    """
    t, change = np.asarray(t, dtype=float), np.asarray(change, dtype=float)
    fig, ax = subplots(height=3.8)
    ax.plot(t, change, color=COLORS["margin"], label=r"$g_s(t) - g_s(0)$: loss along $\lambda$")
    ax.plot(t, t * slope + 0.5 * B**2 * t**2, color=COLORS["bound"], ls="--",
            label=r"upper bound $t\,g_s'(0) + \frac{1}{2}B^2t^2$")
    ax.axhline(-slope**2 / (2 * B**2), color=COLORS["tau"], lw=1, label=r"promised decrease $-g_s'(0)^2/(2B^2)$")
    ax.plot([step[0]], [step[1]], "o", color=COLORS["bound"], label=r"step $t_s = -g_s'(0)/B^2$")
    ax.plot([minimum[0]], [minimum[1]], "s", color=COLORS["margin"], label=r"true minimum along $\lambda$")
    ax.set(xlabel=r"step $t$ along $\lambda$", ylabel="change of the context's loss (nats)",
           title=f"Step 4 in one context (realizable world, eps = {eps:.3g} nats)")
    ax.set_ylim(1.5 * change.min(), -1.5 * change.min())
    ax.legend(loc="lower left", fontsize=8)
    return fig


def theorem_sweeps(sweeps, world_size, title):
    """Figure 5.3 of chapter 5: refitted and fixed task losses against eps, under Theorem 5.1's bound.

    Parameters
    ----------
    sweeps : dict of str -> pandas.DataFrame
        One or two worlds by name -> ``synthetic.sweep`` table (columns ``kind`` with the values
        ``"margin"`` and ``"random"``, ``eps``, ``loss_refit``, ``loss_fixed``, ``bound_thm2``, ``tau``).
    world_size : str
        The worlds' size for the panel titles, e.g. ``"N = 400, V = 200, d = 16"``.
    title : str
        The figure's title.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per world, sharing the task-loss axis (log scale).
    """
    fig, axes = subplots(1, len(sweeps), height=4, sharey=True, squeeze=False)
    axes = axes[0]
    for ax, (name, df) in zip(axes, sweeps.items()):
        for kind, label in [("margin", "label-free adversary"), ("random", "random")]:
            d = df[df.kind == kind]
            ax.plot(d.eps, d.loss_refit, "o-", ms=3, color=COLORS[kind], label=rf"$\ell_T(\Phi p_f)$, {label}")
            ax.plot(d.eps, d.loss_fixed, ":", color=COLORS[kind], label=rf"$\ell_T(p_f, v)$, {label}")
        d = df[df.kind == "margin"]
        ax.plot(d.eps, d.bound_thm2, color=COLORS["bound"], lw=2,
                label=r"Theorem 5.1: $\tau + \sqrt{2B^2\epsilon/\gamma}$")
        ax.axhline(df.tau.iloc[0], color=COLORS["tau"], ls="--", label=r"$\tau$")
        ax.set(xscale="log", yscale="log", xlabel=r"excess loss $\epsilon$ w.r.t. $\Phi$ (nats)",
               title=f"{name} world ({world_size})")
        ax.minorticks_off()
    axes[0].set_ylabel("task loss (nats, log scale)")
    ticks = [0.4, 0.5, 0.6, 0.8, 1, 2, 3, 4, 6]
    axes[0].set_yticks(ticks, [f"{tick:g}" for tick in ticks])
    axes[0].minorticks_off()
    axes[-1].legend(loc="upper left", fontsize=8)
    fig.suptitle(title, fontsize=10)
    return fig


def feature_bars(dims, columns, tau_row, floor, title):
    """Figure 5.4 of chapter 5: the loss of logistic regressions on several feature maps, per task.

    Parameters
    ----------
    dims : pandas.DataFrame
        Indexed by (task, features), k tasks (at most 2 fit the colours) and up to 4 feature maps plus
        the row ``tau_row``; the columns ``columns`` hold losses (nats) and ``"held-out spread"`` the
        standard deviation of a held-out loss over splits (the error bars of columns named "held...").
    columns : list of str
        One or two columns of ``dims``, one panel each.
    tau_row : str
        The feature name whose row holds each task's tau: drawn as a line over the task's bars.
    floor : float
        The label noise floor ``H(q)`` in nats, a dotted line.
    title : str
        The figure's title.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per column, sharing the loss axis, with the legend below.
    """
    tasks = list(dims.index.get_level_values(0).unique())
    features = [name for name in dims.loc[tasks[0]].index if name != tau_row]
    bar_colors = [COLORS["bound"], COLORS["tau"], COLORS["refit"], "#bbbbbb"]
    width, x = 0.2, np.arange(len(tasks))
    fig, axes = subplots(1, len(columns), height=4, sharey=True, squeeze=False)
    axes = axes[0]
    for ax, column in zip(axes, columns):
        for j, name in enumerate(features):
            heights = [dims.loc[(task, name), column] for task in tasks]
            errs = [dims.loc[(task, name), "held-out spread"] for task in tasks] if "held" in column else None
            ax.bar(x + (j - 1.5) * width, heights, width, yerr=errs, color=bar_colors[j], label=name,
                   error_kw={"elinewidth": 1})
        for i, task in enumerate(tasks):
            ax.plot([i - 2 * width, i + 2 * width], [dims.loc[(task, tau_row), column]] * 2,
                    color=COLORS["adversarial"], lw=2, label=r"$\tau$ (bounded $v$ on $p^*$)" if i == 0 else None)
        ax.axhline(floor, color="black", lw=0.8, ls=":", label="H(0.1): label noise floor")
        ax.set_xticks(x, tasks)
        ax.set_ylim(0.3, 0.7)
        ax.set_title(f"{column}, realizable world")
    axes[0].set_ylabel("loss of a refitted logistic regression (nats)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2, fontsize=8)
    fig.suptitle(title, fontsize=10)
    return fig
