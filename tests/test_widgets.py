"""The live eps explorer (``lmtheory.widgets.eps_explorer``) under the installed ipywidgets.

Without a notebook kernel nothing is drawn on a screen, so the tests watch what the sliders cause: each
move redraws the figure once, with the sliders' values, and shows it as a PNG image. The environment's
ipywidgets is 8.x; tests/test_colab.py runs this file again under Colab's 7.7.1.
"""

from __future__ import annotations

import math

import ipywidgets
import pytest

from lmtheory import synthetic, widgets


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
