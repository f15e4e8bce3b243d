"""Figures that stay interactive on the book's website, where no Python kernel runs.

The sliders of :mod:`lmtheory.widgets` recompute as they move, so they need Jupyter or Colab. Here the
same numbers are computed ahead of time over a grid, and the page's plotly.js redraws from them as the
reader drags: nothing runs in Python once the page is built. Chapter 4 (*The √ε theorem*, section
"Move ε yourself") explains what :func:`eps_slider_figure` shows, and chapter 2 (*Natural tasks*) what
:func:`zero_shot_figure` shows. The site serves plotly.js itself
(``tools/sphinx_local_plotly.py``); elsewhere the figure shows a one-line note instead.

plotly (a dependency; Colab has it) is imported only when a figure is built, so ``import lmtheory``
stays quick.

>>> from lmtheory import sitefigures, synthetic
>>> world = synthetic.make_world(seed=0)
>>> sitefigures.eps_slider_figure(world)  # the last expression of a notebook cell
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .plotting import COLORS, KIND_LABELS
from .widgets import GRID_POINTS, KINDS, cached_sweep, cached_task

__all__ = ["PageFigure", "eps_slider_figure", "zero_shot_figure"]

#: What a page shows in place of the figure when plotly.js is not loaded (Jupyter, Colab).
NO_PLOTLY = ("This figure moves on the book's website, which serves plotly.js; "
             "in Jupyter or Colab, use the live explorer above.")
BAR_NAMES = ("τ", "fixed v", "refit on Φp_f", "bound")
#: The zero-shot figure's bars: a column of :func:`lmtheory.zero_shot.explore_grid` -> (name, colour).
ZERO_SHOT_BARS = {"accuracy": ("accuracy", "#1f77b4"), "AUC": ("AUC", "#9467bd"),
                  "predicted positive": ("share predicted positive", "#bbbbbb")}


@dataclass(frozen=True, repr=False)
class PageFigure:
    """A Plotly figure that a notebook cell shows as HTML drawn by the page's own plotly.js.

    ``figure`` is the ``plotly.graph_objects.Figure``; :meth:`html` is what the page holds: a ``div``
    with the class ``plotly-graph-div`` that says :data:`NO_PLOTLY`, and a script that draws the
    figure in its place when the page has plotly.js. Example: ``PageFigure(fig).html()``.
    """

    figure: object

    def html(self) -> str:
        """The figure as an HTML fragment; its ``id`` is a hash of the figure, so a rebuild gives the same page."""
        spec = json.dumps(self.figure.to_plotly_json(), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        spec = spec.replace("</", "<\\/")  # no text of the figure can close the script early
        div = "lmtheory-figure-" + hashlib.sha256(spec.encode()).hexdigest()[:12]
        config = {"responsive": True, "displayModeBar": False}
        height = self.figure.layout.height or 450
        return (f'<div id="{div}" class="plotly-graph-div" style="width:100%;">{NO_PLOTLY}</div>\n'
                f"<script>(function () {{\n"
                f'  var div = document.getElementById("{div}"), fig = {spec};\n'
                f"  if (!window.Plotly) return;\n"
                f'  div.textContent = ""; div.style.height = "{height}px";\n'
                f"  Plotly.newPlot(div, fig.data, fig.layout, {json.dumps(config)});\n"
                f"}})();</script>")

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:  # short: a notebook stores it beside the HTML (the figure's own repr is its JSON)
        return f"PageFigure({len(self.figure.data)} traces; draw it with .html() or as a cell's last expression)"


def _grid(values, name: str) -> tuple[float, ...]:
    """``values`` as a non-empty tuple of distinct numbers, or a ValueError naming ``name``."""
    wrong = ValueError(f"{name} must be a non-empty list of numbers, got {values!r}")
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        raise wrong
    try:
        grid = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        raise wrong from None
    if len(set(grid)) != len(grid):
        raise ValueError(f"{name} = {values!r} repeats a value")
    return grid


def _log_range(values) -> list[float]:
    """A log axis's range (in powers of ten) that holds every positive one of ``values``, with a margin."""
    positive = np.asarray([v for v in values if v > 0])
    return [math.log10(positive.min()) - 0.15, math.log10(positive.max()) + 0.15]


def _add_curves(fig, task, table, kinds, eps_range, visible: bool) -> list[float]:
    """Add one task's fixed curves to the left panel: the bound's gap over tau and each kind's
    ``|loss_fixed - tau|`` (hollow markers where negative). Returns the panel's y range (powers of ten)."""
    dense = np.geomspace(*eps_range, 60)
    bound_gap = task.bound(dense) - task.tau
    fig.add_scatter(x=dense.tolist(), y=bound_gap.tolist(), mode="lines", name="bound − τ", visible=visible,
                    line={"color": COLORS["bound"]}, row=1, col=1)
    gaps = []
    for kind in kinds:
        rows = table[table["kind"] == kind]
        gap = (rows["loss_fixed"] - rows["tau"]).to_numpy()
        gaps.extend(np.abs(gap))
        fig.add_scatter(x=rows["eps"].tolist(), y=np.abs(gap).tolist(), customdata=gap.tolist(),
                        mode="lines+markers", name=KIND_LABELS[kind], visible=visible,
                        line={"color": COLORS[kind], "width": 1.5},
                        marker={"color": COLORS[kind], "size": 7,
                                "symbol": ["circle" if g > 0 else "circle-open" for g in gap]},
                        hovertemplate="ε = %{x:.1e}<br>loss − τ = %{customdata:.4f}", row=1, col=1)
    return _log_range([*bound_gap, *gaps])


def _at_eps(row, left: list[float], top: float, label: str) -> tuple[list, list, list]:
    """What the stars, the eps line and the bars show at one row of a sweep: their x, y and text, each a
    list of three (one per trace). ``left``: the left panel's y range; ``top``: the right panel's."""
    values = [row.tau, row.loss_fixed, row.loss_refit, row.bound]
    stars = [row.bound - row.tau, row.loss_fixed - row.tau if row.loss_fixed > row.tau else None]
    labels = [f"{v:.3f}" + " ↑" * (v > top) for v in values]
    labels[3] += f" (Thm {row.theorem})"
    return ([[row.eps, row.eps], [row.eps, row.eps], list(BAR_NAMES)],
            [stars, [10 ** left[0], 10 ** left[1]], [min(v, top) for v in values]],
            [["bound − τ", f"{label} − τ"], ["", ""], labels])


def eps_slider_figure(world, *, gammas=(1.0, 0.5, 0.25), Bs=(4.0, 8.0, 16.0), kinds=KINDS,
                      eps_range=(1e-5, 1e-1), n_grid: int = GRID_POINTS, shown: str = "margin") -> PageFigure:
    """Chapter 4's eps explorer, precomputed, as a figure whose slider works in the browser alone.

    For every coverage in ``gammas`` and word-weight bound in ``Bs`` it plants the task
    (:func:`widgets.cached_task`) and sweeps ``n_grid`` log-spaced eps over ``eps_range`` for each of
    ``kinds`` (:func:`widgets.cached_sweep`, so the chapter's static figures and this one share the
    work): ``len(gammas) * len(Bs) * len(kinds) * n_grid`` calls of ``synthetic.evaluate``.

    The figure has the two panels of :func:`widgets.eps_figure`. Left, log-log: the bound's gap over
    tau, ``sqrt(2 B^2 eps / gamma)``, and ``|loss_fixed - tau|`` for each kind (hollow markers where
    the gap is negative), with stars at the slider's eps. Right, at the slider's eps for the kind
    ``shown``: tau, the loss of the task's fixed classifier, the loss refitted on ``Phi p_f``, and the
    bound (nats; a bar taller than the panel is cut, its label keeps the value). A slider moves eps
    over the grid; a menu picks (gamma, B). The menu starts at the middle entry of each grid and the
    slider at the grid's eps nearest 1e-3.

    Parameters
    ----------
    world : synthetic.World
        ``Phi`` (d, V), ``p_L`` (N,), ``p_star`` (N, V).
    gammas, Bs : sequences of float
        Coverages in (0, 1] and bounds B > 0; every pair is one entry of the menu.
    kinds, eps_range, n_grid, shown :
        As in :func:`widgets.eps_figure`; ``shown`` must be one of ``kinds``.

    Returns
    -------
    PageFigure
        Its ``figure`` holds, per (gamma, B), ``len(kinds) + 4`` traces (bound curve, one curve per
        kind, stars, the eps line, the bars); ``figure.layout.sliders[0].steps`` has ``n_grid`` steps,
        each restyling the stars, line and bars of every (gamma, B) at once.
        Example: ``eps_slider_figure(world, gammas=(1.0, 0.1), Bs=(8.0,), n_grid=6)``.
    """
    from plotly.subplots import make_subplots  # only here: the rest of lmtheory runs without plotly

    gammas, Bs = _grid(gammas, "gammas"), _grid(Bs, "Bs")
    kinds = tuple(kinds)
    if shown not in kinds:
        raise ValueError(f"shown = {shown!r} must be one of kinds = {kinds!r}")
    unknown = [kind for kind in kinds if kind not in KIND_LABELS]
    if unknown:
        raise ValueError(f"kinds {unknown!r} unknown; allowed: {sorted(KIND_LABELS)!r}")
    settings = [(gamma, B) for gamma in gammas for B in Bs]
    first = settings.index((gammas[len(gammas) // 2], Bs[len(Bs) // 2]))

    tasks = [cached_task(world, B, gamma) for gamma, B in settings]
    tables = [cached_sweep(world, task, kinds, eps_range, n_grid) for task in tasks]  # the computing
    eps_grid = np.geomspace(*eps_range, int(n_grid))  # the sweeps' requested eps: the slider's steps
    start = int(np.argmin(np.abs(np.log10(eps_grid) + 3)))
    steps = [{"x": [], "y": [], "text": []} for _ in eps_grid]  # per step: every setting's moving traces
    moving, menu = [], []
    fig = make_subplots(rows=1, cols=2, column_widths=[0.58, 0.42], horizontal_spacing=0.12)
    for number, ((gamma, B), task, table) in enumerate(zip(settings, tasks, tables)):
        visible = number == first
        left = _add_curves(fig, task, table, kinds, eps_range, visible)
        rows = table[table["kind"] == shown]
        top = max(1.0, 1.15 * float(rows[["tau", "loss_fixed", "loss_refit"]].to_numpy().max()))
        at_steps = [_at_eps(row, left, top, KIND_LABELS[shown]) for row in rows.itertuples()]
        for step, (x, y, text) in zip(steps, at_steps):
            step["x"] += x
            step["y"] += y
            step["text"] += text
        (x_stars, x_line, x_bars), (y_stars, y_line, y_bars), (t_stars, _, t_bars) = at_steps[start]
        fig.add_scatter(x=x_stars, y=y_stars, text=t_stars, mode="markers", visible=visible,
                        name="slider's ε", marker={"symbol": "star", "size": 14,
                                                   "color": [COLORS["bound"], COLORS[shown]]},
                        hovertemplate="%{text}: %{y:.4f}<extra></extra>", row=1, col=1)
        fig.add_scatter(x=x_line, y=y_line, mode="lines", visible=visible, showlegend=False, hoverinfo="skip",
                        line={"color": "#666666", "width": 1, "dash": "dot"}, row=1, col=1)
        fig.add_bar(x=x_bars, y=y_bars, text=t_bars, textposition="outside", constraintext="none",
                    cliponaxis=False, visible=visible, showlegend=False, hoverinfo="skip",
                    marker={"color": [COLORS["tau"], COLORS[shown], COLORS["refit"], COLORS["bound"]]},
                    row=1, col=2)
        moving += [len(fig.data) - 3, len(fig.data) - 2, len(fig.data) - 1]
        menu.append({"label": f"γ = {gamma:g}, B = {B:g}", "ranges": (left, [0, top * 1.12])})

    per_setting = len(kinds) + 4
    buttons = []
    for number, entry in enumerate(menu):
        shows = [number == trace // per_setting for trace in range(len(fig.data))]
        buttons.append({"label": entry["label"], "method": "update",
                        "args": [{"visible": shows}, {"yaxis.range": entry["ranges"][0],
                                                      "yaxis2.range": entry["ranges"][1]}]})
    fig.update_layout(
        template="plotly_white", paper_bgcolor="white", height=520, font={"size": 12},
        margin={"l": 60, "r": 20, "t": 100, "b": 20},
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom", "font": {"size": 11}},
        updatemenus=[{"buttons": buttons, "active": first, "x": 0, "xanchor": "left", "y": 1.2,
                      "yanchor": "bottom", "direction": "down"}],
        sliders=[{"active": start, "currentvalue": {"prefix": "ε = ", "suffix": " nats"}, "pad": {"t": 55},
                  "steps": [{"label": f"{eps:.0e}", "method": "restyle", "args": [step, moving]}
                            for eps, step in zip(eps_grid, steps)]}],
        shapes=[{"type": "line", "xref": "x2 domain", "yref": "y2", "x0": 0, "x1": 1,
                 "y0": math.log(2), "y1": math.log(2), "line": {"color": "#666666", "width": 1, "dash": "dash"}}],
        annotations=[{"xref": "x2 domain", "yref": "y2", "x": 0, "y": math.log(2), "text": "coin flip, log 2",
                      "showarrow": False, "xanchor": "left", "yanchor": "bottom", "font": {"size": 11}}],
    )
    fig.update_xaxes(type="log", title_text="excess cross-entropy ε (nats)", exponentformat="power", row=1, col=1)
    fig.update_yaxes(type="log", title_text="|loss − τ| (nats)", range=menu[first]["ranges"][0],
                     exponentformat="power", row=1, col=1)
    fig.update_yaxes(title_text="task loss (nats)", range=menu[first]["ranges"][1],
                     row=1, col=2)
    return PageFigure(fig)


def _prompt_label(prompt: str) -> str:
    """How the menu names a prompt: quoted, a trailing space said in words (a menu barely shows it); the
    empty one in words."""
    if not prompt:
        return "no prompt"
    return repr(prompt) + (" (trailing space)" if prompt != prompt.rstrip() else "")


def zero_shot_figure(table) -> PageFigure:
    """Chapter 2's zero-shot explorer, precomputed, as a figure whose menu works in the browser alone.

    Bars for each pair of word lists (x): the zero-shot accuracy, the ROC AUC of the score and the
    share of texts predicted positive, for the prompt picked in the menu (it starts at the first);
    a dashed line marks one half: chance for the accuracy and the AUC, no lean for the share.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`lmtheory.zero_shot.explore_grid`'s result: one row per (prompt, pair), prompts outer, with
        columns ``prompt``, ``positive``, ``negative``, ``accuracy``, ``AUC``, ``predicted positive``,
        ``chance``.

    Returns
    -------
    PageFigure
        Three bar traces; ``figure.layout.updatemenus[0].buttons`` has one entry per prompt, each
        restyling the three traces' heights. Example: ``zero_shot_figure(zero_shot.explore_grid(...))``.
    """
    import plotly.graph_objects as go  # only here: the rest of lmtheory runs without plotly

    needed = ["prompt", "positive", "negative", "chance", *ZERO_SHOT_BARS]
    missing = [column for column in needed if column not in getattr(table, "columns", ())]
    if missing or len(table) == 0:
        raise ValueError(f"table must be zero_shot.explore_grid's result, with rows and the columns {needed}; "
                         f"missing {missing}, {len(table) if hasattr(table, '__len__') else 0} rows")
    prompts = list(dict.fromkeys(table["prompt"]))
    by_prompt = [table[table["prompt"] == prompt] for prompt in prompts]
    pairs = [list(zip(rows["positive"], rows["negative"])) for rows in by_prompt]
    if any(these != pairs[0] for these in pairs):
        raise ValueError("table must hold the same pairs of word lists, in the same order, for every prompt")
    words = [f"{pos} /<br>{neg}" for pos, neg in pairs[0]]

    fig = go.Figure()
    for column, (name, colour) in ZERO_SHOT_BARS.items():
        fig.add_bar(x=words, y=by_prompt[0][column].tolist(), name=name, marker={"color": colour},
                    hovertemplate=f"{name}: %{{y:.3f}}<extra></extra>")
    buttons = [{"label": _prompt_label(prompt), "method": "restyle",
                "args": [{"y": [rows[column].tolist() for column in ZERO_SHOT_BARS]}, list(range(len(ZERO_SHOT_BARS)))]}
               for prompt, rows in zip(prompts, by_prompt)]
    chance = float(table["chance"].max())
    fig.update_layout(
        template="plotly_white", paper_bgcolor="white", height=500, font={"size": 12}, barmode="group",
        margin={"l": 60, "r": 20, "t": 60, "b": 20},
        legend={"orientation": "h", "x": 0, "y": -0.2, "yanchor": "top", "font": {"size": 11}},
        updatemenus=[{"buttons": buttons, "active": 0, "x": 0.14, "xanchor": "left", "y": 1.04,
                      "yanchor": "bottom", "direction": "down"}],
        shapes=[{"type": "line", "xref": "x domain", "yref": "y", "x0": 0, "x1": 1, "y0": chance, "y1": chance,
                 "line": {"color": "#666666", "width": 1, "dash": "dash"}}],
        annotations=[{"xref": "x domain", "yref": "y", "x": 1, "y": chance, "text": "chance; no lean", "showarrow": False,
                      "xanchor": "right", "yanchor": "bottom", "font": {"size": 11}},
                     {"xref": "paper", "yref": "paper", "x": 0.13, "y": 1.06, "xanchor": "right", "yanchor": "bottom",
                      "text": "prompt:", "showarrow": False}],  # grows to the left, into the margin
    )
    fig.update_yaxes(range=[0, 1.05], title_text="share / AUC")
    return PageFigure(fig)
