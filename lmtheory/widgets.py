"""Interactive pieces of the book, each with a static twin.

Sliders that redraw a figure live run in Jupyter and Colab (inline backend), not in the rendered book;
so each widget draws through a plain function returning a ``Figure``, which the book shows instead.

>>> from lmtheory import synthetic, widgets
>>> world = synthetic.make_world(seed=0)
>>> fig = widgets.eps_figure(world, eps=1e-3, gamma=0.5, B=8.0)  # static
>>> box = widgets.eps_explorer(world)  # live: the last expression of a notebook cell

Chapter 2's zero-shot explorer (:func:`zero_shot_explorer`: a prompt and words per class typed in,
the accuracy printed) has a table as its twin: :func:`zero_shot_grid`, the same computation
(:func:`lmtheory.zero_shot.explore`) for a grid of prompts and word lists.
"""

from __future__ import annotations

import io
import math
import weakref

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from . import plotting, synthetic
from .checks import check_int, check_number
from .plotting import COLORS, KIND_LABELS

__all__ = ["cached_task", "cached_sweep", "draw_eps_panels", "eps_figure", "eps_strip", "eps_explorer",
           "zero_shot_grid", "zero_shot_explorer"]

KINDS = ("margin", "random")  # the label-free adversary (its refit is honest) and random errors
GRID_POINTS = 12  # eps values per curve: enough for a picture, cheap to redo when gamma or B moves
GAMMA_SLIDER = (0.05, 1.0)  # the explorer's coverage slider, ends included
B_SLIDER = (1.0, 16.0)  # the explorer's word-weight slider
_label = "synthetic world: N = {0.n_contexts} contexts, V = {0.vocab_size} words, d = {0.dim}".format
_TASKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # world -> {(B, gamma): Task}
_SWEEPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # task -> {grid: DataFrame}


def _check_range(eps_range) -> tuple[float, float]:
    """``eps_range`` as two floats ``0 < low < high``, or a ValueError naming it."""
    try:
        low, high = map(float, eps_range)
    except (TypeError, ValueError):
        raise ValueError(f"eps_range must be two numbers (low, high), got {eps_range!r}") from None
    if not 0 < low < high:
        raise ValueError(f"eps_range = {eps_range!r} must satisfy 0 < low < high (a log axis)")
    return low, high


def cached_task(world, B: float = 8.0, gamma: float = 0.5, *, task=None):
    """``synthetic.make_task(world, B=B, gamma=gamma)``, planted once per ``(world, B, gamma)``.

    A ``task`` you pass is stored (under its own ``B`` and ``gamma``) and returned.
    Example: ``cached_task(world, 8.0, 0.5).tau``.
    """
    store = _TASKS.setdefault(world, {})
    B, gamma = (task.B, task.gamma) if task is not None else (B, gamma)
    key = (round(float(B), 6), round(float(gamma), 6))
    if task is not None or key not in store:
        store[key] = task if task is not None else synthetic.make_task(world, B=B, gamma=gamma)
    return store[key]


def cached_sweep(world, task, kinds=KINDS, eps_range=(1e-5, 1e-1), n_grid: int = GRID_POINTS):
    """``synthetic.sweep`` on ``n_grid`` log-spaced eps in ``eps_range``, computed once per task.

    Returns its DataFrame, ``len(kinds) * n_grid`` rows. Example: ``cached_sweep(world, task)``.
    """
    low, high = _check_range(eps_range)
    n_grid = check_int(n_grid, "n_grid", low=2)
    store = _SWEEPS.setdefault(task, {})
    key = (tuple(kinds), (low, high), n_grid)
    if key not in store:
        store[key] = synthetic.sweep(world, task, np.geomspace(*eps_range, int(n_grid)), kinds=kinds)
    return store[key]


def draw_eps_panels(ax_gap, ax_loss, world, task, eps: float, *, kinds=KINDS, eps_range=(1e-5, 1e-1),
                    n_grid: int = GRID_POINTS, shown: str = "margin", legend: bool = True) -> dict:
    """Draw the eps explorer's two panels on two given matplotlib axes.

    Left (``ax_gap``, log-log over ``eps_range``): the bound's gap ``sqrt(2 B^2 eps / gamma)`` and the
    gaps ``|l_T(p_f, v) - tau|`` of the task's fixed classifier for each of ``kinds`` (a cached sweep;
    hollow markers where the gap is negative, i.e. the error helped the classifier), stars at ``eps``.
    Right (``ax_loss``), at ``eps`` for the kind ``shown``: tau, the loss with the classifier fixed,
    refitted on ``Phi p_f``, and the bound that applies, named by its theorem (nats). Returns ``synthetic.evaluate``'s
    dict at ``eps``, the one new computation. Example: ``draw_eps_panels(ax1, ax2, world, task, 1e-3)``.
    """
    table = cached_sweep(world, task, kinds, eps_range, n_grid)
    check_number(eps, "eps", low=eps_range[0], high=eps_range[1])  # the star must fall on the picture
    grid = np.geomspace(*eps_range, 100)
    ax_gap.loglog(grid, task.bound(grid) - task.tau, color=COLORS["bound"], label="bound − τ")
    for kind, rows in table.groupby("kind", sort=False):
        gap = (rows["loss_fixed"] - rows["tau"]).to_numpy()
        ax_gap.loglog(rows["eps"], np.abs(gap), "-", lw=1.2, color=COLORS[kind], label=f"{KIND_LABELS[kind]}, |gap|" + " (hollow: < 0)" * bool((gap < 0).any()))
        ax_gap.scatter(rows["eps"], np.abs(gap), s=9, edgecolors=COLORS[kind], zorder=3,
                       facecolors=np.where(gap > 0, COLORS[kind], "white"))
    point = synthetic.evaluate(world, task, eps, shown)
    ax_gap.axvline(point["eps"], color="0.4", lw=0.8, ls=":")
    ax_gap.plot(point["eps"], point["bound"] - task.tau, "*", ms=10, color=COLORS["bound"])
    if point["loss_fixed"] > task.tau:
        ax_gap.plot(point["eps"], point["loss_fixed"] - task.tau, "*", ms=10, color=COLORS[shown])
    ax_gap.set(xlabel="excess cross-entropy ε (nats)", ylabel="loss − τ (nats)")
    ax_gap.set_title(f"gap over τ (B = {task.B:g}, γ = {task.gamma:.2f})", y=1.0)  # fixed y: faster
    for axis in (ax_gap.xaxis, ax_gap.yaxis):
        axis.set_minor_locator(NullLocator())  # dozens of minor ticks per log axis are slow to draw
    if legend:
        ax_gap.legend(loc="lower right")
    values = [task.tau, point["loss_fixed"], point["loss_refit"], point["bound"]]
    top = max(1.0, 1.15 * max(values[:3]))  # the bound often leaves the picture: clip it, say so
    bars = ax_loss.bar(["$\\tau$", "fixed\n$v$", "refit on\n$\\Phi p_f$", f"bound\n(Thm {point['theorem']})"],
                       np.minimum(values, top),
                       color=[COLORS["tau"], COLORS[shown], COLORS["refit"], COLORS["bound"]], width=0.65)
    for bar, value in zip(bars, values):
        ax_loss.text(bar.get_x() + bar.get_width() / 2, min(value, top), f"{value:.3f}" + " ↑" * (value > top),
                     ha="center", va="bottom", fontsize=8)
    ax_loss.axhline(math.log(2), color="0.4", lw=0.8, ls="--")
    ax_loss.text(-0.4, math.log(2), "coin flip, log 2", fontsize=8, va="bottom", color="0.3")
    ax_loss.set(ylim=(0, top * 1.08), ylabel="task loss (nats)")
    ax_loss.set_title(f"at ε = {point['eps']:.1e} ({KIND_LABELS[shown]})", y=1.0)
    ax_loss.tick_params(axis="x", labelsize=8)
    return point


def eps_figure(world, eps: float = 1e-3, gamma: float = 0.5, B: float = 8.0, *, task=None, kinds=KINDS,
               eps_range=(1e-5, 1e-1), n_grid: int = GRID_POINTS, shown: str = "margin") -> Figure:
    """The eps explorer's picture for one setting, as a static figure.

    Parameters
    ----------
    world : synthetic.World
        ``Phi`` (d, V), ``p_L`` (N,), ``p_star`` (N, V).
    eps : float
        Excess cross-entropy (nats) of the model shown, inside ``eps_range``.
    gamma, B : float
        Coverage in (0, 1] and word-weight bound of ``make_task(world, B=B, gamma=gamma)`` (cached),
        or use ``task``. ``kinds``, ``eps_range``, ``n_grid``, ``shown``: see :func:`draw_eps_panels`.

    Returns
    -------
    matplotlib.figure.Figure, 1 x 2 panels. Example: ``eps_figure(world, 1e-2, gamma=0.25)``.
    """
    task = cached_task(world, B, gamma, task=task)
    fig = plotting.figure(3.8, layout="none")  # fixed margins: a layout engine would double the drawing time
    fig.subplots_adjust(left=0.1, right=0.99, bottom=0.14, top=0.85, wspace=0.3)
    draw_eps_panels(*fig.subplots(1, 2, width_ratios=[1.5, 1]), world, task, eps, kinds=kinds,
                    eps_range=eps_range, n_grid=n_grid, shown=shown)
    fig.suptitle(_label(world), fontsize=9)
    return fig


def eps_strip(world, settings, *, kinds=KINDS, eps_range=(1e-5, 1e-1), n_grid: int = GRID_POINTS,
              shown: str = "margin") -> Figure:
    """Small multiples of :func:`eps_figure`: one column per setting (one or two), its two panels stacked.

    ``settings`` is a list of one or two dicts with keys ``eps``, ``gamma``, ``B`` (defaults 1e-3,
    0.5, 8.0); more would make the panels too small to read at the page's width (call it again).
    Returns a Figure with 2 x len(settings) panels, rows sharing their y axis.
    Example: ``eps_strip(world, [{"eps": e} for e in (1e-4, 1e-2)])``.
    """
    if isinstance(settings, dict) or not isinstance(settings, (list, tuple)) or not 1 <= len(settings) <= 2:
        raise ValueError(f"settings must be a list of one or two dicts with keys eps, gamma, B; got {settings!r}")
    for i, setting in enumerate(settings):
        unknown = set(setting) - {"eps", "gamma", "B"} if isinstance(setting, dict) else None
        if unknown is None or unknown:
            raise ValueError(f"settings[{i}] = {setting!r}: allowed keys are 'eps', 'gamma', 'B'")
    fig = plotting.figure(6.6, layout="constrained")
    axes = np.asarray(fig.subplots(2, len(settings), squeeze=False, sharey="row"))
    for j, setting in enumerate(settings):
        s = {"eps": 1e-3, "gamma": 0.5, "B": 8.0, **setting}
        draw_eps_panels(axes[0, j], axes[1, j], world, cached_task(world, s["B"], s["gamma"]), s["eps"],
                        kinds=kinds, eps_range=eps_range, n_grid=n_grid, shown=shown, legend=j == 0)
        for ax in axes[:, j]:
            ax.title.set_fontsize(9)
            ax.set_ylabel(ax.get_ylabel() if j == 0 else "")
    fig.suptitle(_label(world), fontsize=9)
    return fig


def eps_explorer(world, task=None, *, eps: float = 1e-3, gamma: float = 0.5, B: float = 8.0, kinds=KINDS,
                 eps_range=(1e-5, 1e-1), n_grid: int = GRID_POINTS):
    """Sliders for eps, coverage gamma and B that redraw :func:`eps_figure` live.

    Moving eps costs one ``synthetic.evaluate`` plus drawing (about 0.1 s on 2 cores); moving gamma or
    B plants a task and computes its curves once (``len(kinds) * n_grid`` evaluations), then caches
    both. An ``Output`` widget shows PNGs, so it runs in Colab and Jupyter without ipympl.

    Parameters
    ----------
    world : synthetic.World
    task : synthetic.Task, optional
        Shown while the gamma and B sliders keep its values (otherwise ``make_task(world, B, gamma)``).
    eps, gamma, B : float
        Initial slider values. ``kinds``, ``eps_range``, ``n_grid``: as in :func:`eps_figure`.

    Returns
    -------
    ipywidgets.VBox. Example: ``eps_explorer(world)`` as the last line of a notebook cell.
    """
    import ipywidgets as W
    from IPython.display import Image, display

    B, gamma = (task.B, task.gamma) if task is not None else (B, gamma)
    low, high = _check_range(eps_range)
    # A slider would silently move a value outside its range to the nearest end: refuse it instead.
    eps = check_number(eps, "eps", low=low, high=high)
    gamma = check_number(gamma, "gamma (the coverage slider)", low=GAMMA_SLIDER[0], high=GAMMA_SLIDER[1])
    B = check_number(B, "B (the word-weight slider)", low=B_SLIDER[0], high=B_SLIDER[1])
    opts = {"continuous_update": False, "style": {"description_width": "110px"},
            "layout": W.Layout(width="420px")}
    sliders = {
        "eps": W.FloatLogSlider(value=eps, base=10, min=math.log10(low), max=math.log10(high),
                                step=0.05, readout_format=".1e", description="ε (nats)", **opts),
        "gamma": W.FloatSlider(value=gamma, min=GAMMA_SLIDER[0], max=GAMMA_SLIDER[1], step=0.05,
                               description="coverage γ", **opts),
        "B": W.FloatSlider(value=B, min=B_SLIDER[0], max=B_SLIDER[1], step=0.5, description="B = max |v_w|", **opts),
        "shown": W.ToggleButtons(options=list(kinds), value=kinds[0], description="right panel"),
    }
    start = (sliders["gamma"].value, sliders["B"].value)  # where the sliders show the given task

    def redraw(eps, gamma, B, shown):
        fig = eps_figure(world, eps, gamma, B, task=task if (gamma, B) == start else None, kinds=kinds,
                         eps_range=eps_range, n_grid=n_grid, shown=shown)
        fig.savefig(buffer := io.BytesIO(), format="png")
        display(Image(buffer.getvalue()))

    return W.VBox([W.HBox([sliders["eps"], sliders["gamma"]]), W.HBox([sliders["B"], sliders["shown"]]),
                   W.interactive_output(redraw, sliders)])



def zero_shot_grid(lm, task, rows, prompts, pairs):
    """The zero-shot explorer's static twin: its accuracy for every prompt and pair of word lists.

    Parameters
    ----------
    lm : LanguageModel
    task : Task
        A two-class task, class 0 negative and class 1 positive.
    rows : list of int
        The explorer's texts (rows of ``task``).
    prompts : list of str, length r
    pairs : list of (str, str), length c
        ``(positive words, negative words)``, each comma-separated (``"great, good"``).

    Returns
    -------
    pandas.DataFrame, shape (r, c)
        Accuracies, rows indexed by ``repr(prompt)``, columns named ``"<positive> / <negative>"``.

    Example: ``zero_shot_grid(lm, sent, rows, [" This movie is", ""], [("great", "terrible")])``.
    """
    import pandas as pd

    from . import zero_shot  # scikit-learn and transformers: loaded on first use, as lmtheory does

    prompts, pairs = list(prompts), list(pairs)
    accuracy = zero_shot.explore_grid(lm, task, rows, prompts, pairs)["accuracy"]  # prompts outer, pairs inner
    return pd.DataFrame(accuracy.to_numpy().reshape(len(prompts), len(pairs)),
                        index=pd.Index([repr(p) for p in prompts], name="prompt"),
                        columns=[f"{pos} / {neg}" for pos, neg in pairs])


def zero_shot_explorer(lm, task, rows, *, prompt: str | None = None, positive: str = "great, good",
                       negative: str = "terrible, bad"):
    """Text boxes for a prompt and comma-separated words per class, and a button that prints the zero-shot result.

    The button runs :func:`lmtheory.zero_shot.explore` on the texts ``rows`` of ``task``: a new prompt
    runs the model on them once (cached), new words are instant. A word that is not a single token,
    or an empty list, prints why instead of an accuracy. The result is printed once when built.

    Parameters
    ----------
    lm : LanguageModel
    task : Task
        A two-class task, class 0 negative and class 1 positive.
    rows : list of int
        The explorer's texts.
    prompt : str, optional
        The initial prompt; default the task's.
    positive, negative : str
        The initial words.

    Returns
    -------
    ipywidgets.VBox. Example: ``zero_shot_explorer(lm, sent, rows)`` as the last line of a notebook cell.
    """
    import ipywidgets as W

    from . import zero_shot

    boxes = {"prompt": W.Text(value=task.prompt if prompt is None else prompt, description="prompt"),
             "positive": W.Text(value=positive, description="positive"),
             "negative": W.Text(value=negative, description="negative")}
    button = W.Button(description="classify", button_style="primary")
    output = W.Output()

    def on_click(_):
        with output:
            output.clear_output()
            values = {name: box.value for name, box in boxes.items()}
            try:
                r = zero_shot.explore(lm, task, rows, **values)
            except ValueError as error:
                print(f"cannot do that: {error}")
                return
            print(f"{lm.name}, {task.name} test, {len(rows)} sentences, prompt {values['prompt']!r}:")
            print(f"accuracy {r['accuracy']:.3f} (chance {r['chance']:.2f}), "
                  f"predicted positive {r['predicted positive']:.2f}, AUC {r['AUC']:.3f}")

    button.on_click(on_click)
    on_click(None)
    return W.VBox([*boxes.values(), button, output])
