"""The figures of chapter 4 (the sqrt(eps) theorem) that the chapter computes and these functions draw.

* :func:`gap_against_eps`: Figure 4.5 (``fig-ch4-loglog``), the fixed classifier's gap against the
  excess loss for adversarial, random and orthogonal errors, and the label-free adversary's losses;
* :func:`random_crossover`: Figure 4.6 (``fig-ch4-crossover``), where random errors pass from the
  ``sqrt(eps)`` regime to the ``eps`` regime, as the number of contexts grows;
* :func:`coverage_effect`: Figure 4.7 (``fig-ch4-coverage``), the gaps and the coverage the models
  actually need as the task's coverage falls.

A gap can be negative: the log-log panels draw its size, with hollow markers for negative gaps.
"""

from __future__ import annotations

import matplotlib as mpl
import numpy as np

from ..plotting import COLORS, KIND_LABELS, subplots

__all__ = ["gap_against_eps", "random_crossover", "coverage_effect"]

EPS_LABEL = "excess cross-entropy $\\epsilon$ (nats)"


def _signed_scatter(ax, x, gap, color, **kwargs):
    """Markers at ``|gap|``, filled where the gap is positive and hollow where it is negative."""
    gap = np.asarray(gap, dtype=float)
    ax.scatter(x, np.abs(gap), edgecolors=color, facecolors=np.where(gap > 0, color, "white"), **kwargs)


def gap_against_eps(paths, slopes, margin, eps, bound_gap, bound_slope, tau, refit_star, title):
    """Figure 4.5 of chapter 4: the gap ``l_T(p, v) - tau`` against ``eps``, and the label-free adversary.

    Parameters
    ----------
    paths : dict of str -> pandas.DataFrame
        Name (``"adversarial"``, ``"orthogonal"``, ``"random 0"``, ...; the first word is an error
        kind of ``synthetic.eps_optimal_model``) -> ``synthetic.error_path`` table with columns
        ``eps`` and ``gap`` (n rows). Only ``adversarial``, ``orthogonal`` and ``random 0`` get a
        legend entry; the other random directions are drawn thinner.
    slopes : dict of str -> float
        The fitted log-log slope of each path, for the legend.
    margin : pandas.DataFrame
        ``synthetic.sweep`` rows of the label-free adversary: columns ``eps``, ``loss_fixed`` and
        ``loss_refit`` (m rows).
    eps, bound_gap : arrays, shape (k,)
        The bound's gap over tau, ``task.bound(eps) - tau``; ``bound_slope`` its fitted slope.
    tau, refit_star : float
        The task's tau, and the loss refitted on ``Phi p*`` (eps = 0), in nats.
    title : str
        The figure's title (the world and the task).

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: the gaps on log-log axes (left), the adversary's task losses (right).
    """
    fig, (left, right) = subplots(1, 2, height=4)
    left.loglog(eps, bound_gap, color=COLORS["bound"], label=f"bound $-\\ \\tau$ (slope {bound_slope:.2f})")
    for name, path in paths.items():
        kind, first = name.split()[0], name in ("adversarial", "orthogonal", "random 0")
        left.loglog(path["eps"], np.abs(path["gap"].to_numpy()), "-", lw=1.2 if first else 0.7, color=COLORS[kind],
                    label=f"{KIND_LABELS[kind]} (slope {slopes[name]:.2f})" if first else None)
        _signed_scatter(left, path["eps"], path["gap"], COLORS[kind], s=14)
    right.semilogx(margin["eps"], margin["loss_fixed"], "o-", ms=3, color=COLORS["margin"],
                   label="label-free adversary, fixed $v$")
    right.semilogx(margin["eps"], margin["loss_refit"], "s--", ms=3, color=COLORS["refit"],
                   label="same, refit on $\\Phi p_f$")
    right.axhline(tau, color=COLORS["tau"], lw=1.2, label=f"$\\tau$ = {tau:.3f}")
    right.axhline(refit_star, color=COLORS["refit"], lw=1, ls=":", label="refit on $\\Phi p^*$ ($\\epsilon = 0$)")
    left.set(xlabel=EPS_LABEL, ylabel="|loss $-\\ \\tau$| (nats)",
             title="gap of the fixed classifier (hollow: negative)")
    right.set(xlabel=EPS_LABEL, ylabel="task loss (nats)", title="task losses")
    left.legend(fontsize=8)
    right.legend(fontsize=8)
    fig.suptitle(title, fontsize=9)
    return fig


def random_crossover(by_n, measured, n_slope, title):
    """Figure 4.6 of chapter 4: the typical gap of random errors, ``a1 sqrt(eps) + a2 eps``, as N grows.

    Parameters
    ----------
    by_n : pandas.DataFrame
        One row per world, indexed by its number of contexts N (k rows), with the columns ``a1_rms``,
        ``a2`` and ``crossover`` of ``synthetic.random_error_terms``.
    measured : dict of int -> list of pandas.DataFrame
        For two values of N from ``by_n.index``, ``synthetic.error_path`` tables (columns ``eps``
        and ``gap``) of random directions, drawn as triangles up (first N) and down (second).
    n_slope : float
        The fitted log-log slope of the crossover against N, for the legend.
    title : str
        The figure's title.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: predicted and measured gaps (left), the crossover against N (right).
    """
    fig, (left, right) = subplots(1, 2, height=4)
    eps_line = np.geomspace(1e-6, 1e-1, 60)
    blues = mpl.colormaps["Blues"](np.linspace(0.45, 1, len(by_n)))
    shade = {n: mpl.colors.to_hex(c) for n, c in zip(by_n.index, blues)}
    for n, row in by_n.iterrows():
        left.loglog(eps_line, row["a1_rms"] * np.sqrt(eps_line) + row["a2"] * eps_line, color=shade[n],
                    label=f"N = {n:,}")
        left.plot(row["crossover"], 2 * row["a2"] * row["crossover"], "o", ms=5, color=shade[n])
    for (n, paths), marker in zip(measured.items(), ("^", "v")):
        for path in paths:
            _signed_scatter(left, path["eps"], path["gap"], shade[n], marker=marker, s=16)
    left.set(xlabel=EPS_LABEL, ylabel="typical |gap| (nats)",
             title="random errors: predicted (lines), measured (markers)")
    left.legend(fontsize=8)
    right.loglog(by_n.index, by_n["crossover"], "o-", color=COLORS["random"], label=f"crossover (slope {n_slope:.2f})")
    right.loglog(by_n.index, by_n["crossover"].iloc[0] * by_n.index[0] / by_n.index, ls="--", color=COLORS["bound"],
                 label="$\\propto 1/N$")
    right.set(xlabel="contexts $N$", ylabel="crossover $\\epsilon_c$ (nats)",
              title="where $\\epsilon$ takes over from $\\sqrt{\\epsilon}$")
    right.legend(fontsize=8)
    fig.suptitle(title, fontsize=9)
    return fig


def coverage_effect(cov, title):
    """Figure 4.7 of chapter 4: gaps at one eps, and the coverage the models need, against gamma.

    Parameters
    ----------
    cov : pandas.DataFrame
        One row per (task, model kind), k rows, with columns ``gamma``, ``kind`` (``"adversarial"``
        or ``"random"``), ``bound - tau``, ``gap`` (the fixed classifier's gap over tau),
        ``effective`` and ``refined`` (the coverages of ``synthetic.refined_coverage`` and
        ``E_L KL / E_T KL``).
    title : str
        The figure's title.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: the gaps on log-log axes (left), the coverages against gamma (right).
    """
    fig, (left, right) = subplots(1, 2, height=4)
    adv = cov[cov["kind"] == "adversarial"]
    left.loglog(adv["gamma"], adv["bound - tau"], color=COLORS["bound"], label="bound $-\\ \\tau$ (slope $-0.5$)")
    for kind, rows in cov.groupby("kind"):
        color, label = COLORS[kind], KIND_LABELS[kind]
        left.loglog(rows["gamma"], np.abs(rows["gap"].to_numpy()), "-", color=color, label=f"{label} |gap|")
        _signed_scatter(left, rows["gamma"], rows["gap"], color, s=16)
        right.plot(rows["gamma"], rows["refined"], "s--", ms=4, color=color, label=f"refined, {label}")
        right.plot(rows["gamma"], rows["effective"], "o-", ms=4, color=color, alpha=0.6, label=f"effective, {label}")
    right.plot([0, 1], [0, 1], color="0.3", lw=1, label="$\\gamma$ itself")
    left.set_ylim(1e-5, 30)
    left.set(xlabel="coverage $\\gamma$", ylabel="loss $-\\ \\tau$ (nats)", title="gaps at $\\epsilon = 10^{-3}$")
    right.set(xlabel="coverage $\\gamma$", ylabel="coverage", title="what the models actually need",
              xlim=(0, 1.02), ylim=(0, 1.05))
    left.legend(loc="upper right")
    right.legend(fontsize=8)
    fig.suptitle(title, fontsize=9)
    return fig
