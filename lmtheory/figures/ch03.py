"""The figures of chapter 3 (cross-entropy, KL and eps-optimal models), one function per figure.

* :func:`world_overview`: Figure 3.1, the synthetic world's ``p_L``, three ``p*(s)`` and entropies;
* :func:`corpus_estimates`: corpus estimates of cross-entropy converging to the exact value;
* :func:`eps_model_scatter`: Figure 3.2, model against true probabilities at several eps;
* :func:`pinsker_panels`: Figure 3.3, Pinsker's inequality on pairs and on eps-optimal models.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure

from .. import core
from ..plotting import COLORS, subplot_mosaic, subplots

__all__ = ["world_overview", "corpus_estimates", "eps_model_scatter", "pinsker_panels"]

_PICK_COLORS = ("#d62728", "#1f77b4", "#2ca02c")  # the three contexts of world_overview
_SOURCE_COLORS = ("#7f7f7f", "#ff7f0e", COLORS["random"])  # the kinds of pairs of pinsker_panels


def _context_distribution(ax, world) -> None:
    """``p_L`` sorted, against the uniform distribution."""
    N = world.n_contexts
    ax.plot(np.arange(1, N + 1), np.sort(world.p_L.numpy())[::-1], color="black")
    ax.axhline(1 / N, color="gray", ls="--", label=f"uniform, 1/N = {1 / N:.4f}")
    H_L = float(core.entropy(world.p_L))
    ax.set(yscale="log", xlabel="context rank (most frequent first)", ylabel="$p_L(s)$",
           title=f"$p_L$: entropy {H_L:.2f} nats\n(log N = {math.log(N):.2f})")
    ax.legend()


def _next_word_distributions(ax, world, picks: dict, H_star) -> None:
    """The sorted ``p*(s)`` of the picked contexts."""
    V = world.vocab_size
    for (label, ctx), color in zip(picks.items(), _PICK_COLORS):
        probs = np.sort(world.p_star[ctx].numpy())[::-1]
        ax.plot(np.arange(1, V + 1), probs, color=color,
                label=f"s = {ctx} ({label}): H = {float(H_star[ctx]):.2f} nats")
    ax.axhline(1 / V, color="gray", ls="--", label="uniform, 1/V")
    ax.set(yscale="log", xlabel="word rank (most likely first)", ylabel="$p^*(s)_w$",
           title="next-word distributions of three contexts")
    ax.legend(fontsize=8)


def _entropy_histogram(ax, world, H_star) -> None:
    """Histogram of ``H(p*(s))`` over contexts, with its ``p_L``-average ``L*`` and ``log V``."""
    L_star = float(core.expected(world.p_L, H_star))
    V = world.vocab_size
    ax.hist(H_star.numpy(), bins=30, color="#7f7f7f")
    ax.axvline(L_star, color="black", label=f"average $L^*$ = {L_star:.3f}")
    ax.axvline(math.log(V), color="gray", ls="--", label=f"log V = {math.log(V):.3f}")
    ax.set(xlabel="$H(p^*(s))$ (nats)", ylabel="number of contexts", title="entropy of $p^*(s)$\nover contexts",
           ylim=(0, 1.25 * ax.get_ylim()[1]))
    ax.legend(fontsize=8)


def world_overview(world, picks: dict, title: str = "") -> Figure:
    """Figure 3.1 of chapter 3: what the synthetic world's distributions look like.

    Parameters
    ----------
    world : synthetic.World
        ``p_L`` of shape (N,), ``p_star`` of shape (N, V).
    picks : dict
        Up to three entries ``label -> context index`` whose ``p*(s)`` are drawn (bottom panel).
    title : str
        The figure's title.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels: sorted ``p_L`` (top left), the entropies ``H(p*(s))`` over contexts (top right),
        the sorted ``p*(s)`` of the picked contexts (bottom).

    Example: ``world_overview(world, {"lowest entropy": 3}, "default world")``.
    """
    if not 1 <= len(picks) <= len(_PICK_COLORS):
        raise ValueError(f"picks must name 1 to {len(_PICK_COLORS)} contexts, got {len(picks)}")
    H_star = core.entropy(world.p_star)
    fig, axes = subplot_mosaic([["p_L", "H"], ["p*", "p*"]], height=6.4)
    _context_distribution(axes["p_L"], world)
    _next_word_distributions(axes["p*"], world, picks, H_star)
    _entropy_histogram(axes["H"], world, H_star)
    fig.suptitle(title)
    return fig


def corpus_estimates(corpus, exact: dict, title: str = "") -> Figure:
    """Corpus estimates of cross-entropy with their standard errors, against the exact values.

    The figure of chapter 3's section "Estimating cross-entropy from a corpus".

    Parameters
    ----------
    corpus : pandas.DataFrame
        One row per (corpus size, model), with columns ``n``, ``model``, ``estimate`` and ``se`` (nats).
    exact : dict
        ``model -> exact cross-entropy`` for one or two models named in ``corpus.model``.
    title : str
        The panel's title.

    Returns
    -------
    matplotlib.figure.Figure
        One panel; each model's points are shifted a little along n so their error bars do not overlap.

    Example: ``corpus_estimates(corpus, {"the truth p*": 3.9}, "default world")``.
    """
    if not 1 <= len(exact) <= 2:
        raise ValueError(f"exact must name one or two models, got {len(exact)}: {list(exact)}")
    fig, ax = subplots()
    for (name, value), color, shift in zip(exact.items(), [COLORS["tau"], COLORS["random"]], [0.93, 1.07]):
        part = corpus[corpus.model == name]
        if part.empty:
            raise ValueError(f"corpus has no rows for model {name!r}; its models are {sorted(set(corpus.model))}")
        ax.errorbar(part.n * shift, part.estimate, yerr=part.se, fmt="o", capsize=3, color=color,
                    label=f"{name}: estimate ± 1 s.e.")
        ax.axhline(value, color=color, ls="--", lw=1, label=f"{name}: exact L = {value:.3f}")
    ax.set(xscale="log", xlabel="corpus size n (tokens)", ylabel="cross-entropy (nats)", title=title)
    ax.legend(fontsize=8)
    return fig


def eps_model_scatter(world, models, contexts, title: str = "") -> Figure:
    """Figure 3.2 of chapter 3: a model's next-word probabilities against the true ones, per eps.

    Parameters
    ----------
    world : synthetic.World
        ``p_star`` of shape (N, V).
    models : sequence of synthetic.Model
        One to four models (``m.p`` of shape (N, V), ``m.eps`` in nats), one panel each.
    contexts : tensor of shape (k,)
        Indices of the contexts drawn: each panel shows all their ``k * V`` probabilities.
    title : str
        The figure's title.

    Returns
    -------
    matplotlib.figure.Figure
        A 2 x 2 grid of log-log panels sharing their axes, with the diagonal ``y = x``.

    Example: ``eps_model_scatter(world, [eps_optimal_model(world, 0.1)], torch.arange(40))``.
    """
    if not 1 <= len(models) <= 4:
        raise ValueError(f"models must hold one to four models (2 x 2 panels), got {len(models)}")
    fig, axes = subplots(2, 2, height=6.4, sharex=True, sharey=True)
    x = world.p_star[contexts].flatten().numpy()
    for ax, m in zip(axes.flat, models):
        ax.scatter(x, m.p[contexts].flatten().numpy(), s=3, alpha=0.3, color=COLORS["random"], rasterized=True)
        ax.plot([1e-12, 1], [1e-12, 1], color="black", lw=1)
        ax.set(xscale="log", yscale="log", xlim=(1e-9, 1), ylim=(1e-9, 1),
               title=f"eps = {m.eps:.3g} nats (perplexity x{math.exp(m.eps):.3f})")
    for ax in axes.flat[len(models):]:
        ax.set_axis_off()
    for ax in axes[1]:
        ax.set_xlabel("true probability $p^*(s)_w$")
    for ax in axes[:, 0]:
        ax.set_ylabel("model probability $p_f(s)_w$")
    fig.suptitle(title)
    return fig


def _pinsker_pairs(ax, pairs) -> None:
    """Left panel: ``||p - q||_1`` against ``sqrt(2 KL)`` for every pair, by source."""
    sources = list(dict.fromkeys(pairs.source))  # in order of appearance
    if len(sources) > len(_SOURCE_COLORS):
        raise ValueError(f"pairs has {len(sources)} sources, at most {len(_SOURCE_COLORS)} can be told apart")
    for source, color in zip(sources, _SOURCE_COLORS):
        part = pairs[pairs.source == source]
        ax.scatter(part.bound, part.l1, s=4, alpha=0.35, color=color, label=f"{source} ({len(part):,})",
                   rasterized=True)
    line = np.logspace(-6, 2, 50)
    ax.plot(line, line, color="black", lw=1.2, label="y = x (Pinsker's bound)")
    ax.axhline(2, color="black", ls=":", lw=1, label=r"$\|p - q\|_1 \leq 2$ always")
    ax.set(xscale="log", yscale="log", xlim=(1e-5, 50), ylim=(1e-5, 5),
           xlabel=r"$\sqrt{2\,\mathrm{KL}(p\,\|\,q)}$ (KL in nats)", ylabel=r"$\|p - q\|_1$",
           title=f"Pinsker's inequality\non {len(pairs):,} pairs")


def _pinsker_averages(ax, averages, slope: float, title: str) -> None:
    """Right panel: the corollary's chain of inequalities, averaged over contexts, against eps."""
    ax.plot(averages.eps, averages["sqrt(2 eps)"], color=COLORS["bound"],
            label=r"$\sqrt{2\epsilon}$ (the corollary's bound)")
    ax.plot(averages.eps, averages["E sqrt(2 KL)"], "s--", ms=4, color="#ff7f0e",
            label=r"$E_{p_L}\sqrt{2\,\mathrm{KL}}$")
    ax.plot(averages.eps, averages["E l1"], "o-", ms=4, color=COLORS["random"],
            label=rf"$E_{{p_L}}\|p_f - p^*\|_1$ (slope {slope:.2f})")
    ax.set(xscale="log", yscale="log", xlabel=r"$\epsilon$ (nats)", ylabel=r"$\ell_1$ distance", title=title)
    ax.legend(fontsize=8, loc="lower right")


def pinsker_panels(pairs, averages, slope: float, title: str = "eps-optimal models") -> Figure:
    """Figure 3.3 of chapter 3: Pinsker's inequality on pairs (left) and averaged over contexts (right).

    Parameters
    ----------
    pairs : pandas.DataFrame
        One row per pair of distributions, with columns ``source`` (up to three kinds), ``l1``
        (``||p - q||_1``) and ``bound`` (``sqrt(2 KL(p || q))``).
    averages : pandas.DataFrame
        One row per eps-optimal model, with columns ``eps``, ``E l1``, ``E sqrt(2 KL)`` and
        ``sqrt(2 eps)``.
    slope : float
        Log-log slope of ``E l1`` against ``eps``, shown in the legend.
    title : str
        The right panel's title.

    Returns
    -------
    matplotlib.figure.Figure
        Two log-log panels; the left panel's legend sits below the figure.

    Example: ``pinsker_panels(pairs, averages, slope=0.5)``.
    """
    fig, (left, right) = subplots(1, 2, height=5.2)
    _pinsker_pairs(left, pairs)
    fig.legend(*left.get_legend_handles_labels(), loc="outside lower center", ncol=2, fontsize=8,
               title="left panel")
    _pinsker_averages(right, averages, slope, title)
    return fig
