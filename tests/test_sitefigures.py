"""Chapter 4's eps slider for the website (``lmtheory.sitefigures``): what the precomputed figure holds.

The slider's steps are what plotly.js applies in the browser (tests/test_site.py drags it there); here
we check them in Python: they move the plotted values with eps and hold synthetic's own numbers.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from lmtheory import sitefigures, synthetic, widgets

GAMMAS, BS, N_GRID = (1.0, 0.25), (8.0,), 5  # eps 1e-5, 1e-4, ..., 1e-1


@pytest.fixture(scope="module")
def world():
    return synthetic.make_world(n_contexts=60, vocab_size=40, dim=8, seed=0)


@pytest.fixture(scope="module")
def page(world):
    return sitefigures.eps_slider_figure(world, gammas=GAMMAS, Bs=BS, n_grid=N_GRID)


def bars(page, step: int, setting: int) -> list[float]:
    """The bar heights (tau, fixed, refit, bound, cut at the panel's top) that slider step ``step`` draws
    for the menu's entry ``setting`` (whose bars are its last trace)."""
    restyle, traces = page.figure.layout.sliders[0].steps[step].args
    bar = (setting + 1) * (len(widgets.KINDS) + 4) - 1
    assert page.figure.data[bar].type == "bar"
    return restyle["y"][traces.index(bar)]


def test_one_slider_step_per_eps_and_one_menu_entry_per_setting(page):
    fig = page.figure
    steps = fig.layout.sliders[0].steps
    assert len(steps) == N_GRID
    assert fig.layout.sliders[0].active == 2  # the grid's eps nearest 1e-3, the chapter's default
    assert [b.label for b in fig.layout.updatemenus[0].buttons] == ["γ = 1, B = 8", "γ = 0.25, B = 8"]
    per_setting = len(widgets.KINDS) + 4
    assert len(fig.data) == len(GAMMAS) * len(BS) * per_setting
    for number, button in enumerate(fig.layout.updatemenus[0].buttons):  # each shows its own traces only
        assert button.args[0]["visible"] == [t // per_setting == number for t in range(len(fig.data))]


def test_the_plotted_values_move_with_eps(page):
    heights = np.array([bars(page, step, setting=0) for step in range(N_GRID)])  # (N_GRID, 4)
    assert np.ptp(heights[:, 0]) == 0  # tau does not depend on eps
    assert np.all(np.diff(heights[:, 1]) > 0)  # the adversary's fixed loss grows with eps
    assert np.all(np.diff(heights[:, 3]) >= 0) and heights[-1, 3] > heights[0, 3]  # so does the bound
    stars = [page.figure.layout.sliders[0].steps[s].args[0]["x"][0][0] for s in range(N_GRID)]
    assert np.all(np.diff(stars) > 0)  # the stars walk right


def test_a_grid_point_holds_synthetics_numbers(page, world):
    eps = 1e-3
    task = widgets.cached_task(world, 8.0, GAMMAS[1])
    point = synthetic.evaluate(world, task, eps, "margin")
    tau, fixed, refit, bound = bars(page, 2, setting=1)
    assert (tau, fixed, refit) == pytest.approx([task.tau, point["loss_fixed"], point["loss_refit"]], abs=1e-9)
    assert bound == pytest.approx(point["bound"], abs=1e-9) or bound < point["bound"]  # cut at the top
    texts = page.figure.layout.sliders[0].steps[2].args[0]["text"]
    assert f"{point['bound']:.3f}" in " ".join(t for trace in texts for t in trace)


def test_the_html_draws_with_the_pages_plotly_or_says_why_not(page):
    html = page.html()
    assert 'class="plotly-graph-div"' in html and "Plotly.newPlot" in html and sitefigures.NO_PLOTLY in html
    assert "<script src" not in html and "cdn" not in html.lower()  # plotly.js comes from the site
    assert html == page.html()  # the same figure gives the same page (a hash for its id)
    spec = html.split("fig = ", 1)[1].split(";\n", 1)[0]
    assert len(json.loads(spec)["data"]) == len(page.figure.data)
    assert len(repr(page)) < 88  # what a notebook stores as the output's plain text


@pytest.mark.parametrize("options, message", [
    ({"gammas": ()}, "gammas must be a non-empty list"),
    ({"Bs": "8"}, "Bs must be a non-empty list"),
    ({"Bs": (8.0, None)}, "Bs must be a non-empty list"),
    ({"gammas": (0.5, 0.5)}, "repeats"),
    ({"shown": "adversarial"}, "shown = 'adversarial' must be one of kinds"),
    ({"kinds": ("margin", "sideways")}, "kinds \\['sideways'\\] unknown"),
    ({"eps_range": (1e-1, 1e-5)}, "eps_range"),
    ({"gammas": (1.5,)}, "gamma"),
])
def test_bad_input_is_refused_with_its_name(world, options, message):
    with pytest.raises(ValueError, match=message):
        sitefigures.eps_slider_figure(world, **{"n_grid": 2, **options})



# -- chapter 2's zero-shot explorer: the grid of explore_grid, with a menu of prompts ---------------

def zero_shot_table(prompts=("p1", "p1 ", ""), pairs=(("great", "bad"), ("a, b", "c"))):
    """A table shaped as zero_shot.explore_grid's, with distinct made-up numbers in every cell."""
    import pandas as pd

    rows = [{"prompt": prompt, "positive": pos, "negative": neg, "chance": 0.5,
             "accuracy": 0.5 + 0.1 * i + 0.01 * j, "AUC": 0.6 + 0.1 * i + 0.01 * j,
             "predicted positive": 0.3 + 0.1 * i + 0.01 * j}
            for i, prompt in enumerate(prompts) for j, (pos, neg) in enumerate(pairs)]
    return pd.DataFrame(rows)


def test_the_zero_shot_menu_restyles_the_bars_to_each_prompts_numbers():
    table = zero_shot_table()
    fig = sitefigures.zero_shot_figure(table).figure
    assert [trace.type for trace in fig.data] == ["bar"] * 3
    assert list(fig.data[0].x) == ["great /<br>bad", "a, b /<br>c"]
    buttons = fig.layout.updatemenus[0].buttons
    assert [b.label for b in buttons] == ["'p1'", "'p1 ' (trailing space)", "no prompt"]
    for button, prompt in zip(buttons, ["p1", "p1 ", ""]):
        restyle, traces = button.args
        rows = table[table["prompt"] == prompt]
        assert list(traces) == [0, 1, 2]
        assert restyle["y"] == [rows[c].tolist() for c in ("accuracy", "AUC", "predicted positive")]
    assert list(fig.data[0].y) == buttons[0].args[0]["y"][0], "the figure starts at the menu's first prompt"
    assert buttons[0].args[0]["y"] != buttons[1].args[0]["y"]
    assert fig.layout.shapes[0].y0 == 0.5


def test_the_zero_shot_figure_of_a_real_grid(tiny, own_cache):
    from test_zero_shot import make_task

    from lmtheory import zero_shot

    task = make_task()
    table = zero_shot.explore_grid(tiny, task, [0, 1, 2, 3], [task.prompt, ""], [("great", "terrible")])
    assert len(table) == 2 and table.loc[1, "accuracy"] == zero_shot.explore(tiny, task, [0, 1, 2, 3], "", "great",
                                                                              "terrible")["accuracy"]
    html = sitefigures.zero_shot_figure(table).html()
    assert "Plotly.newPlot" in html and sitefigures.NO_PLOTLY in html


@pytest.mark.parametrize("table, message", [
    (zero_shot_table().drop(columns="AUC"), r"missing \['AUC'\]"),
    (zero_shot_table().iloc[:0], "with rows"),
    (zero_shot_table().iloc[:5], "the same pairs of word lists"),
    ("not a table", "explore_grid's result"),
])
def test_a_table_that_is_not_a_grid_is_refused(table, message):
    with pytest.raises(ValueError, match=message):
        sitefigures.zero_shot_figure(table)
