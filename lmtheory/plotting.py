"""One figure style for the whole book, and the log-log slope fits its figures use.

Every figure of the book is as wide as the page's text column and no wider, so that the rendered
page shows it at its own size: a font of ``x`` points is ``x * 96 / 72`` pixels on the page. The
book's pages (sphinx-book-theme at a 1366-pixel-wide window) have a text column of
:data:`CONTENT_WIDTH_PX` pixels. :func:`use_book_style` (called by ``lmtheory.setup``) sets the sizes,
fonts and an opaque white background; :func:`subplots` and :func:`figure` make figures of that width
with at most 2 x 2 panels; :func:`smallest_font_px` measures a figure's smallest text as the reader
sees it (tests/test_figures.py holds every figure of the book to :data:`MIN_FONT_PX`). Every chapter
draws its figures with these.
"""

from __future__ import annotations

import io

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure
from matplotlib.text import Text

__all__ = ["use_book_style", "subplots", "subplot_mosaic", "figure", "smallest_font_px", "fit_loglog_slope",
           "COLORS", "MODEL_COLORS", "KIND_LABELS", "CONTENT_WIDTH_PX", "FIGURE_DPI", "FIGURE_WIDTH_IN",
           "MIN_FONT_PX", "MAX_PANELS"]

#: Width in CSS pixels of a figure's room on a chapter page in Chromium at a 1366-pixel-wide window,
#: measured on the built book (sphinx-book-theme 1.3.0): 757 for a cell's output, 741 inside a
#: numbered figure.
CONTENT_WIDTH_PX = 740
#: Dots per inch of every figure: the browser's 96 pixels per inch, so a PNG is shown at its own size.
FIGURE_DPI = 96
#: Width of every figure in inches: the text column at :data:`FIGURE_DPI`.
FIGURE_WIDTH_IN = CONTENT_WIDTH_PX / FIGURE_DPI
#: The smallest text a figure may show, in pixels as rendered on the page.
MIN_FONT_PX = 10.0
#: At most this many rows and columns of panels per figure.
MAX_PANELS = (2, 2)

#: Colours by role, used the same way in every chapter.
COLORS = {
    "bound": "#444444",
    "adversarial": "#d62728",  # error kinds of synthetic.eps_optimal_model
    "margin": "#ff7f0e",
    "random": "#1f77b4",
    "orthogonal": "#17becf",
    "tau": "#2ca02c",
    "fixed": "#d62728",
    "refit": "#9467bd",
}


#: One colour per kind of pretrained model (chapters 8 and 9): cross-entropy, Quad, Quad with Phi fixed.
MODEL_COLORS = {"ce": "#1f77b4", "quad": "#ff7f0e", "quad, fixed Phi": "#2ca02c"}


#: How figures name the error kinds of ``synthetic.eps_optimal_model``.
KIND_LABELS = {
    "adversarial": "adversary (reads labels)",
    "margin": "label-free adversary",
    "random": "random",
    "orthogonal": "orthogonal (constructed)",
}


def use_book_style() -> None:
    """Apply the book's matplotlib settings (width, fonts, white background); safe to call many times.

    Every default font is at least 8 points, 10.7 pixels on the page. Example: ``use_book_style()``.
    """
    mpl.rcParams.update(
        {
            "figure.figsize": (FIGURE_WIDTH_IN, 3.6),
            "figure.dpi": FIGURE_DPI,
            "savefig.dpi": "figure",
            "savefig.pad_inches": 0.04,  # Jupyter crops to the drawing: keep the PNG as wide as the figure
            "figure.facecolor": "white",  # opaque, so that a dark page theme keeps dark text readable
            "savefig.facecolor": "white",
            "axes.facecolor": "white",
            "figure.constrained_layout.use": True,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "font.size": 9,
            "axes.titlesize": 10,
            "figure.titlesize": 10,
            "axes.labelsize": 9,
            "xtick.labelsize": 8.5,
            "ytick.labelsize": 8.5,
            "legend.fontsize": 8.5,
            "legend.title_fontsize": 9,
            "legend.frameon": False,
        }
    )


def _check_grid(nrows: int, ncols: int) -> None:
    if not (1 <= nrows <= MAX_PANELS[0] and 1 <= ncols <= MAX_PANELS[1]):
        raise ValueError(f"a book figure has at most {MAX_PANELS[0]} x {MAX_PANELS[1]} panels, got {nrows} x {ncols}: "
                         "split it into several figures")


def subplots(nrows: int = 1, ncols: int = 1, *, height: float | None = None, **kwargs):
    """``plt.subplots`` at the page's width, with constrained layout; at most 2 x 2 panels.

    ``height`` in inches (default 3.6 per row, 6.4 for two rows); other keyword arguments go to
    ``plt.subplots``. Returns ``(fig, axes)`` as ``plt.subplots`` does.
    Example: ``fig, (left, right) = subplots(1, 2, height=3.4)``.
    """
    import matplotlib.pyplot as plt

    _check_grid(nrows, ncols)
    height = (3.6 if nrows == 1 else 6.4) if height is None else height
    return plt.subplots(nrows, ncols, figsize=(FIGURE_WIDTH_IN, height), layout="constrained", **kwargs)


def subplot_mosaic(mosaic, *, height: float | None = None, **kwargs):
    """``plt.subplot_mosaic`` at the page's width (a grid of at most 2 x 2 cells; a panel may span two).

    Returns ``(fig, axes)``, axes a dict by label. Example: ``subplot_mosaic([["a", "b"], ["c", "c"]])``.
    """
    import matplotlib.pyplot as plt

    rows = [list(row) for row in mosaic]  # a list of rows of labels ("." leaves a cell empty)
    _check_grid(len(rows), max(len(row) for row in rows))
    height = (3.6 if len(rows) == 1 else 6.4) if height is None else height
    return plt.subplot_mosaic(rows, figsize=(FIGURE_WIDTH_IN, height), layout="constrained", **kwargs)


def figure(height: float = 3.6, **kwargs) -> Figure:
    """A ``matplotlib.figure.Figure`` (no pyplot state) at the page's width and the book's dpi.

    For figure functions that return their figure (``widgets.eps_figure``). Example: ``figure(3.8)``.
    """
    return Figure(figsize=(FIGURE_WIDTH_IN, height), dpi=FIGURE_DPI, facecolor="white", **kwargs)


def smallest_font_px(fig, content_width_px: float = CONTENT_WIDTH_PX) -> tuple[float, str]:
    """The smallest text of ``fig`` in pixels as the page shows it, and that text.

    The figure is saved as Jupyter saves it (PNG at ``fig.dpi``, cropped to its drawing); a page shows
    that PNG at its own width, or shrunk to ``content_width_px`` if wider. A text of ``s`` points then
    measures ``s * dpi / 72 * shown width / PNG width`` pixels. Only visible, non-empty texts inside
    the figure count. Example: ``smallest_font_px(fig)`` -> ``(11.3, 'seed 0')``.
    """
    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi, bbox_inches="tight")
    natural = Image.open(io.BytesIO(buffer.getvalue())).size[0]
    scale = fig.dpi / 72 * min(natural, content_width_px) / natural
    sizes = [(t.get_fontsize() * scale, t.get_text()) for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip() and t.get_window_extent().overlaps(fig.bbox)]
    if not sizes:
        raise ValueError("the figure has no visible text")
    return min(sizes)


def fit_loglog_slope(x, y) -> float:
    """Least-squares slope of ``log y`` against ``log x``: the exponent ``a`` in ``y ~ c x^a``.

    Shapes: ``x (n,)``, ``y (n,)`` with positive entries -> float.
    Example: ``fit_loglog_slope([1, 4, 9], [1, 2, 3])`` is 0.5.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 2:
        raise ValueError(f"x and y must be 1-D of the same length >= 2, got shapes {x.shape} and {y.shape}")
    for name, values in (("x", x), ("y", y)):
        if not (values > 0).all():  # nan fails too
            bad = values[~(values > 0)][0]
            raise ValueError(f"a log-log slope needs positive {name}; got {name} = {bad:g} (allowed: > 0)")
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])
