"""Figures a reader can read: the book's figure style (``lmtheory.plotting``) on the page.

A figure is saved as Jupyter saves it (a PNG at the figure's dpi, cropped to its drawing) and shown on
the page at its own width, or shrunk to the text column if wider (``CONTENT_WIDTH_PX`` at a 1366-pixel
window). A text of ``s`` points then measures ``s * dpi / 72 * shown width / PNG width`` pixels, and it
must be at least ``MIN_FONT_PX``. The unit tests measure that on every figure the package draws, from
small inputs; the chapters' own figure cells are checked from their source (the style's width, no
font below the floor, at most 2 x 2 panels); the ``book`` test opens the built chapters in headless
Chromium at 1366 pixels and compares each figure's PNG width with its shown width.
"""

from __future__ import annotations

import io
import json
import re

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
from conftest import ROOT, notebook_entries
from PIL import Image
from test_site import browser, server  # noqa: F401 (fixtures: the site's web server and headless Chromium)

from lmtheory import plotting, seedplots, synthetic, widgets
from lmtheory.plotting import CONTENT_WIDTH_PX, MIN_FONT_PX, smallest_font_px


@pytest.fixture(autouse=True)
def book_style():
    """Every test draws in the book's style (what ``lmtheory.setup`` applies), and closes its figures."""
    with matplotlib.rc_context():
        plotting.use_book_style()
        yield
        plt.close("all")


@pytest.fixture(scope="module")
def world():
    return synthetic.make_world(n_contexts=60, vocab_size=40, dim=8, seed=0)


def png(fig) -> Image.Image:
    """The PNG Jupyter would show for ``fig`` (IPython's inline backend: ``bbox_inches="tight"``)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi, bbox_inches="tight")
    return Image.open(io.BytesIO(buffer.getvalue()))


def assert_readable(fig, name: str):
    """The figure fills the text column without being shrunk, its smallest text is >= MIN_FONT_PX, its
    background is opaque white."""
    image = png(fig)
    width = image.size[0]
    assert 0.9 * CONTENT_WIDTH_PX <= width <= 1.02 * CONTENT_WIDTH_PX, (
        f"{name}: PNG {width} px wide, the text column is {CONTENT_WIDTH_PX} px")
    size, text = smallest_font_px(fig)
    assert size >= MIN_FONT_PX, f"{name}: {text!r} renders at {size:.1f} px (< {MIN_FONT_PX} px) on the page"
    corner = image.convert("RGBA").getpixel((1, 1))
    assert corner == (255, 255, 255, 255), f"{name}: background {corner} is not opaque white (dark mode)"


def test_the_measure_fails_on_small_or_shrunk_text():
    fig, ax = plotting.subplots()
    ax.plot([1, 2], [1, 2])
    ax.set_title("readable")
    assert smallest_font_px(fig)[0] >= MIN_FONT_PX
    ax.text(1.5, 1.5, "tiny", fontsize=6)  # 6 pt at 96 dpi: 8 px
    assert smallest_font_px(fig) == pytest.approx((8.0, "tiny"))
    wide = plt.figure(figsize=(13, 4), dpi=plotting.FIGURE_DPI)  # 13 inches: shrunk by about 0.6 on the page
    wide.add_subplot().set_title("a title at 10 pt", fontsize=10)
    size, _ = smallest_font_px(wide)
    assert size < MIN_FONT_PX and png(wide).size[0] > CONTENT_WIDTH_PX


def test_the_style_fills_the_text_column_with_readable_text():
    fig, axes = plotting.subplots(2, 2)
    for k, ax in enumerate(axes.flat):
        ax.plot(np.arange(10), np.arange(10) ** k, label=f"power {k}")
        ax.set(xlabel="x (nats)", ylabel="y", title=f"panel {k}", yscale="log")
        ax.legend()
    fig.suptitle("four panels")
    assert_readable(fig, "a 2 x 2 figure")
    fig, axes = plotting.subplot_mosaic([["a", "b"], ["c", "c"]])
    for ax in axes.values():
        ax.bar(["one", "two"], [1, 2])
    assert_readable(fig, "a mosaic")


def test_at_most_two_by_two_panels(world):
    for rows, cols in ((1, 3), (3, 1), (3, 3)):
        with pytest.raises(ValueError, match=f"at most 2 x 2 panels, got {rows} x {cols}"):
            plotting.subplots(rows, cols)
    with pytest.raises(ValueError, match="got 1 x 3"):
        plotting.subplot_mosaic([["a", "b", "c"]])
    with pytest.raises(ValueError, match="one or two dicts"):
        widgets.eps_strip(world, [{"eps": 1e-4}, {"eps": 1e-3}, {"eps": 1e-2}])


def test_the_eps_explorer_figures_are_readable(world):
    assert_readable(widgets.eps_figure(world, eps=1e-3, n_grid=3), "widgets.eps_figure")
    for settings in ([{"eps": 1e-4}, {"eps": 1e-1}], [{"eps": 1e-2, "gamma": 0.1}]):
        fig = widgets.eps_strip(world, settings, n_grid=3)
        assert len(fig.axes) == 2 * len(settings)
        assert_readable(fig, f"widgets.eps_strip({settings})")


def checkpoints() -> pd.DataFrame:
    """A small table of two seeds' checkpoints, the first far from the rest (as in chapters 8 and 9)."""
    rows = []
    for seed in (0, 1):
        for k, ce in enumerate((8.3, 6.1, 5.9, 5.8)):
            for features in ("f(s)", "Phi p_f(s)"):
                rows.append({"seed": seed, "checkpoint": k, "early": k == 0, "features": features,
                             "held-out CE": ce + 0.05 * seed, "logistic loss": 1.6 - 0.1 * k - 0.01 * seed,
                             "error (%)": 70 - 5 * k + seed})
    return pd.DataFrame(rows)


def test_the_seed_figures_are_readable():
    curve = checkpoints()
    fig, axes = plotting.subplots(1, 2)
    seedplots.lines_by_seed(axes[0], curve[curve.features == "f(s)"], "held-out CE", "logistic loss", hollow="early")
    axes[0].legend()
    seedplots.bars_by_seed(axes[1], curve, "features", "error (%)")
    assert_readable(fig, "lines_by_seed and bars_by_seed")


def test_chapter_8s_figures_are_readable(world):
    from lmtheory import core
    from lmtheory.figures import ch08

    f_quad = core.quad_minimiser(world.Phi, world.p_star)
    ts = np.linspace(-1, 2, 31)
    line = f_quad[0] + torch.tensor(ts)[:, None] * (world.f_opt[0] - f_quad[0])
    p = world.p_star[0].expand(len(ts), -1)
    fig = ch08.losses_along_a_line(ts, core.quad_context_loss(line, world.Phi, p),
                                   core.softmax_context_loss(line, world.Phi, p), vocab_size=40, dim=8)
    assert len(fig.axes) == 2 and "V = 40, d = 8" in fig._suptitle.get_text()
    assert_readable(fig, "figure 8.1")

    kinds = list(plotting.MODEL_COLORS)
    curves = pd.DataFrame([{"model": k, "seed": s, "tokens": t, "held-out CE": 8 - t / 1e3 - i,
                            "held-out Quad": -t / 1e3} for i, k in enumerate(kinds) for s in (0, 1)
                           for t in (100, 1000, 3000)])
    fig = ch08.training_curves(curves, title="test models")
    assert [len(ax.lines) for ax in fig.axes] == [6, 6]
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == kinds  # one entry per kind
    assert_readable(fig, "figure 8.2")

    rng = np.random.default_rng(0)
    results = pd.DataFrame([{"task": task, "model": k, "features": f, "seed": s, "accuracy": rng.uniform(0.3, 0.9),
                             "logistic loss": rng.uniform(0.5, 1.5)}
                            for task in ("bbc", "rt2") for k in kinds for f in ("f(s)", "Phi p_f(s)")
                            for s in (0, 1, 2)])
    fig = ch08.probe_bars(results, {"bbc": (400, 200, 5), "rt2": (400, 200, 2)}, {"bbc": 0.24, "rt2": 0.5},
                          title="test models")
    assert len(fig.axes) == 4 and all(len(ax.patches) == 6 for ax in fig.axes)
    assert fig.axes[2].get_lines()[-1].get_ydata()[0] == pytest.approx(np.log(5))  # uninformed level, log K
    assert_readable(fig, "figure 8.3")


def test_chapter_9s_figures_are_readable():
    from lmtheory.figures import ch09

    curve = checkpoints().assign(chance=0.24)
    fig = ch09.probes_against_ce(curve, uniform=np.log(5), topic="bbc", title="test models")
    axes = fig.axes
    assert len(axes) == 4 and axes[0].xaxis_inverted()  # training lowers the CE: the axis runs right
    assert all(ax.get_xlim()[0] < 6.3 for ax in axes)  # fitted to the later checkpoints, not to 8.3
    assert "8.30 to 8.35, off the axis" in axes[2].get_xlabel()
    assert_readable(fig, "figure 9.1")
    with pytest.raises(ValueError, match="would not be off the axis"):
        ch09.probes_against_ce(curve.assign(early=curve.checkpoint == 2), uniform=1.0, topic="bbc", title="")

    later = curve[~curve.early]
    fits = {kind: {"a": 2.0, "b": -0.5, "c": 5.0} for kind in ("f(s)", "Phi p_f(s)")}
    fig = ch09.sqrt_fits(later, fits, topic="bbc", title="test models")
    assert len(fig.axes[0].lines) == 4 and fig.axes[0].get_xscale() == "log"
    assert_readable(fig, "figure 9.2")


def test_a_far_off_early_checkpoint_sits_at_the_edge_of_the_axis():
    part = checkpoints().query("features == 'f(s)'")
    fig, ax = plotting.subplots()
    ax.invert_xaxis()  # training lowers the cross-entropy: it runs to the right
    seedplots.lines_by_seed(ax, part, "held-out CE", "logistic loss", hollow="early", x_range=(5.7, 6.2))
    assert ax.get_xlim() == (6.2, 5.7)
    edge = [line for line in ax.lines if line.get_marker() == "<"]  # pointing left, off the axis
    assert len(edge) == 2 and all(list(line.get_xdata()) == [6.2] for line in edge)
    assert sorted(line.get_ydata()[0] for line in edge) == sorted(part[part.early]["logistic loss"])
    assert_readable(fig, "lines_by_seed with x_range")
    with pytest.raises(ValueError, match="leaves out joined points"):
        seedplots.lines_by_seed(ax, part, "held-out CE", "logistic loss", hollow="early", x_range=(5.9, 6.2))

# --- the chapters' own figure cells ---------------------------------------------------------------

# A figure made without the style's width, or a font set below the floor (8 points: 10.7 px).
WIDE = re.compile(r"plt\.(subplots|figure|subplot_mosaic)\(|figsize\s*=")
SMALL_FONT = re.compile(r"(?:fontsize|labelsize)\s*=\s*(?:([0-9.]+)|[\"'](?:x+-)?small[\"'])")
# 8 points is 10.7 px at the page's own size: room for a PNG a few pixels wider than the column.
FLOOR_PT = 8.0


def chapter_code(entry: str):
    cells = json.loads((ROOT / f"{entry}.ipynb").read_text(encoding="utf-8"))["cells"]
    return [(i, "".join(c["source"])) for i, c in enumerate(cells) if c["cell_type"] == "code"]


def style_problems(sources) -> list[str]:
    """What in ``sources`` (``(where, code)`` pairs) leaves the book's figure style."""
    problems = []
    for where, source in sources:
        for line in source.splitlines():
            if WIDE.search(line):
                problems.append(f"{where}: {line.strip()!r} (use lmtheory.plotting.subplots: the page's width)")
            for match in SMALL_FONT.finditer(line):
                if match.group(1) is None or float(match.group(1)) < FLOOR_PT:  # "small" or a number below
                    problems.append(f"{where}: {match.group(0)!r} is below {FLOOR_PT:g} pt ({MIN_FONT_PX:g} px)")
    return problems


@pytest.mark.parametrize("entry", notebook_entries())
def test_chapter_figures_use_the_style(entry):
    problems = style_problems((f"cell {i}", source) for i, source in chapter_code(entry))
    assert not problems, f"{entry}:\n  " + "\n  ".join(problems)


FIGURE_MODULES = sorted((ROOT / "lmtheory" / "figures").glob("ch*.py"))


@pytest.mark.parametrize("module", FIGURE_MODULES, ids=[p.stem for p in FIGURE_MODULES])
def test_the_chapters_figure_modules_use_the_style(module):
    problems = style_problems([(module.name, module.read_text(encoding="utf-8"))])
    assert not problems, "\n  ".join(problems)


# --- the built site -------------------------------------------------------------------------------

# Every figure a chapter shows (code cell outputs): its PNG width, shown width, and the text column's.
FIGURES = r"""
return [...document.querySelectorAll("article.bd-article .cell_output img")].map(img => [
  img.getAttribute("src"), img.naturalWidth, img.getBoundingClientRect().width,
  img.closest(".cell_output").getBoundingClientRect().width]);
"""


@pytest.mark.book
def test_figures_on_the_page_are_shown_at_their_own_width(server, browser):  # noqa: F811 (fixtures)
    """At a 1366-pixel window, every figure fills the text column without being shrunk, so that its
    smallest font (``FLOOR_PT``, from the style and the chapters' source) is at least MIN_FONT_PX."""
    browser.set_window_size(1366, 900)
    problems, columns = [], []
    for entry in notebook_entries():
        browser.get(f"{server}{entry}.html")
        for src, natural, shown, column in browser.execute_script(FIGURES):
            columns.append(column)
            smallest = FLOOR_PT * plotting.FIGURE_DPI / 72 * min(1.0, shown / natural)
            if smallest < MIN_FONT_PX:
                problems.append(f"{entry}: {src} is {natural} px wide but shown at {shown:.0f} px: "
                                f"{FLOOR_PT:g}-point text renders at {smallest:.1f} px")
            elif natural < 0.85 * column:
                problems.append(f"{entry}: {src} is {natural} px wide in a {column:.0f}-pixel column")
    assert columns, "no figures found on the chapter pages"
    assert abs(np.median(columns) - CONTENT_WIDTH_PX) <= 0.03 * CONTENT_WIDTH_PX, (
        f"the text column is {np.median(columns):.0f} px wide at 1366 px: set plotting.CONTENT_WIDTH_PX to it")
    assert not problems, "figures shrunk or narrow on the page:\n  " + "\n  ".join(problems)
