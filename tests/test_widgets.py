"""The live explorers of ``lmtheory.widgets`` under the installed ipywidgets.

Without a notebook kernel nothing is drawn on a screen, so the tests watch what the sliders cause: each
move redraws the figure once, with the sliders' values, and shows it as a PNG image. Chapter 2's
zero-shot explorer (``widgets.zero_shot_explorer``) prints its result, which the tests read. The
environment's ipywidgets is 8.x; tests/test_colab.py runs this file again under Colab's 7.7.1.
"""

from __future__ import annotations

import math

import ipywidgets
import pytest
from test_zero_shot import make_task

from lmtheory import synthetic, widgets, zero_shot


@pytest.fixture
def explorer(monkeypatch):
    """A small world's explorer, with every redraw (``eps_figure``'s arguments) and every image shown recorded."""
    drawn, shown = [], []
    real = widgets.eps_figure

    def recording_figure(world, eps, gamma, B, **options):
        drawn.append({"eps": eps, "gamma": gamma, "B": B, **options})
        return real(world, eps, gamma, B, **options)

    monkeypatch.setattr(widgets, "eps_figure", recording_figure)
    monkeypatch.setattr("IPython.display.display", shown.append)
    world = synthetic.make_world(n_contexts=60, vocab_size=40, dim=8, seed=0)
    task = synthetic.make_task(world, B=8.0, gamma=0.5)
    box = widgets.eps_explorer(world, task, eps=1e-3, n_grid=3)
    return box, task, drawn, shown


def controls(box) -> dict:
    """The explorer's controls by description."""
    return {w.description: w for row in box.children if isinstance(row, ipywidgets.HBox) for w in row.children}


def test_the_explorer_is_built_from_widgets_this_ipywidgets_has(explorer):
    box, task, drawn, shown = explorer
    assert isinstance(box, ipywidgets.VBox) and isinstance(box.children[-1], ipywidgets.Output)
    sliders = controls(box)
    assert set(sliders) == {"ε (nats)", "coverage γ", "B = max |v_w|", "right panel"}, sliders
    eps = sliders["ε (nats)"]
    assert isinstance(eps, ipywidgets.FloatLogSlider) and (eps.base, eps.min, eps.max) == (10, -5, -1)
    assert math.isclose(eps.value, 1e-3) and not eps.continuous_update
    assert eps.style.description_width == "110px" and eps.layout.width == "420px"
    assert list(sliders["right panel"].options) == ["margin", "random"]
    assert len(drawn) == 1 and drawn[0]["task"] is task, "the explorer must draw once, the given task, when built"


def test_moving_a_slider_redraws_with_its_value(explorer):
    box, task, drawn, shown = explorer
    sliders = controls(box)
    sliders["ε (nats)"].value = 1e-2
    assert len(drawn) == 2 and math.isclose(drawn[-1]["eps"], 1e-2) and drawn[-1]["task"] is task
    sliders["right panel"].value = "random"
    assert len(drawn) == 3 and drawn[-1]["shown"] == "random"
    sliders["coverage γ"].value = 0.25
    assert len(drawn) == 4 and drawn[-1]["gamma"] == 0.25 and drawn[-1]["task"] is None, (
        "with gamma moved, the explorer must plant a new task, not show the given one")
    assert len(shown) == 4, f"{len(shown)} images shown for 4 drawings"
    assert all(type(image).__name__ == "Image" and image.data.startswith(b"\x89PNG") for image in shown)


# -- chapter 2's zero-shot explorer, on a tiny random GPT-2 (fixtures of conftest.py) --------

@pytest.fixture
def sentences(own_cache):
    return make_task()


def test_the_zero_shot_explorer_prints_its_result_and_reports_bad_words(tiny, sentences, capsys):
    rows = [0, 1, 2, 3]
    box = widgets.zero_shot_explorer(tiny, sentences, rows, positive="great", negative="terrible")
    texts = {w.description: w for w in box.children if isinstance(w, ipywidgets.Text)}
    button = next(w for w in box.children if isinstance(w, ipywidgets.Button))
    assert set(texts) == {"prompt", "positive", "negative"} and texts["prompt"].value == sentences.prompt
    assert isinstance(box.children[-1], ipywidgets.Output)
    expected = zero_shot.explore(tiny, sentences, rows, sentences.prompt, "great", "terrible")
    printed = capsys.readouterr().out
    assert f"accuracy {expected['accuracy']:.3f}" in printed and f"AUC {expected['AUC']:.3f}" in printed
    assert all(len(line) <= 88 for line in printed.splitlines()), printed
    texts["negative"].value = " , "
    button.click()
    assert "cannot do that: negative holds no word" in capsys.readouterr().out
    texts["negative"].value = "xqzvbnmplkjh"
    button.click()
    assert "cannot do that: none of the words ['xqzvbnmplkjh'] is a single token" in capsys.readouterr().out


def test_the_zero_shot_grid_is_the_explorer_for_each_prompt_and_pair(tiny, sentences):
    rows, prompts, pairs = [0, 1, 2, 3], [sentences.prompt, ""], [("great", "terrible"), ("great, fun", "bad")]
    grid = widgets.zero_shot_grid(tiny, sentences, rows, prompts, pairs)
    assert grid.shape == (2, 2) and list(grid.columns) == ["great / terrible", "great, fun / bad"]
    assert list(grid.index) == [repr(p) for p in prompts]
    assert grid.iloc[1, 1] == zero_shot.explore(tiny, sentences, rows, "", "great, fun", "bad")["accuracy"]
    with pytest.raises(ValueError, match="at least one prompt and one pair"):
        widgets.zero_shot_grid(tiny, sentences, rows, [], pairs)
