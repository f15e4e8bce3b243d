"""One figure style for the whole book, and the log-log slope fits its figures use."""

from __future__ import annotations

import matplotlib as mpl
import numpy as np

__all__ = ["use_book_style", "fit_loglog_slope", "COLORS", "KIND_LABELS"]

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


#: How figures name the error kinds of ``synthetic.eps_optimal_model``.
KIND_LABELS = {
    "adversarial": "adversary (reads labels)",
    "margin": "label-free adversary",
    "random": "random",
    "orthogonal": "orthogonal (constructed)",
}


def use_book_style() -> None:
    """Apply the book's matplotlib settings (size, grid, fonts); safe to call many times."""
    mpl.rcParams.update(
        {
            "figure.figsize": (6.4, 3.8),
            "figure.dpi": 110,
            "savefig.dpi": 150,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 11,
            "axes.labelsize": 10,
            "legend.fontsize": 9,
            "legend.frameon": False,
        }
    )


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
