"""The figures of chapter 6 (when the features themselves suffice: a quadratic log-partition).

* :func:`r2_by_radius`: Figure 6.1, how affine ``Phi p_theta`` is in ``theta`` for Gaussian embeddings.
* :func:`real_model_fit`: Figure 6.2, the affine fit of ``Phi p_f`` and the quadratic fit of ``log Z``
  on a real model's held-out contexts.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from ..plotting import COLORS, subplot_mosaic, subplots

__all__ = ["r2_by_radius", "real_model_fit"]

#: One colour per vocabulary size of Figure 6.1, smallest first.
VOCAB_COLORS = (COLORS["adversarial"], COLORS["random"], COLORS["tau"])
#: The columns Figure 6.1 reads.
GAUSS_COLUMNS = ("V", "radius r", "held-out R2")


def r2_by_radius(gauss, *, title: str) -> Figure:
    """Figure 6.1 of chapter 6: held-out R² of ``Phi p_theta ~ A theta + b`` against the radius of theta.

    Parameters
    ----------
    gauss : pandas.DataFrame
        One row per (vocabulary size, radius), with the columns ``"V"`` (at most three sizes, one line
        each), ``"radius r"`` (> 0, the x axis, logarithmic) and ``"held-out R2"``.
    title : str
        The panel's title.

    Returns
    -------
    matplotlib.figure.Figure
        One panel, one line per vocabulary size, with a tick at every radius.

    Example: ``r2_by_radius(gauss, title="Gaussian embeddings, d = 16")``.
    """
    missing = [c for c in GAUSS_COLUMNS if c not in gauss.columns]
    if missing:
        raise ValueError(f"gauss has no column(s) {missing}; its columns are {list(gauss.columns)}")
    vocabs = sorted(gauss["V"].unique())
    if len(vocabs) > len(VOCAB_COLORS):
        raise ValueError(f"at most {len(VOCAB_COLORS)} vocabulary sizes, got {len(vocabs)}: {vocabs}")
    radii = sorted(gauss["radius r"].unique())
    fig, ax = subplots(height=3.4)
    for V, color in zip(vocabs, VOCAB_COLORS):
        part = gauss[gauss["V"] == V]
        ax.plot(part["radius r"], part["held-out R2"], "o-", color=color, label=f"V = {V:,}")
    ax.set(xscale="log", xlabel=r"largest $\|\theta\|$ (radius $r$)",
           ylabel=r"held-out $R^2$ of $\Phi p_\theta \approx A\theta + b$", title=title)
    ax.set_xticks(radii, [str(r) for r in radii])
    ax.xaxis.set_minor_locator(NullLocator())  # the radii are the only ticks
    ax.legend()
    return fig


def real_model_fit(affine, log_z_fit, f_test, mean_test, log_z_test, *, coordinate: int, title: str) -> Figure:
    """Figure 6.2 of chapter 6: how affine ``Phi p_f`` and how quadratic ``log Z`` are on held-out contexts.

    Top: the histogram of the per-coordinate held-out R² of ``Phi p_f ~ A f + b``. Bottom left: one
    coordinate of ``Phi p_f`` against its affine prediction. Bottom right: ``log Z(f)`` against its
    quadratic fit.

    Parameters
    ----------
    affine : lmtheory.quadratic.AffineFit
        The fit of ``Phi p_f(s)`` on ``f(s)`` (``r2``, ``r2_per_output`` of shape (d,), ``predict``).
    log_z_fit : lmtheory.quadratic.LogPartitionFit
        The fit of ``log Z(f(s))`` whose quadratic part is drawn (``k``, ``design``, ``quadratic``).
    f_test : ndarray, shape (n, d)
        Features ``f(s)`` of the held-out contexts.
    mean_test : ndarray, shape (n, d)
        Their conditional mean features ``Phi p_f(s)``.
    log_z_test : ndarray, shape (n,)
        Their ``log Z(f(s))`` in nats.
    coordinate : int
        The coordinate drawn bottom left (0 <= coordinate < d); the chapter takes the most variable one.
    title : str
        The figure's title.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels: one across the top, two below.

    Example: ``real_model_fit(affine, fits[16], P.f[test], P.mean[test], P.log_z[test], coordinate=3,
    title="held-out contexts")``.
    """
    f_test, mean_test, log_z_test = np.asarray(f_test), np.asarray(mean_test), np.asarray(log_z_test)
    if f_test.ndim != 2 or mean_test.shape != f_test.shape or log_z_test.shape != f_test.shape[:1]:
        raise ValueError(f"f_test and mean_test must have the same shape (n, d) and log_z_test shape (n,); got "
                         f"{f_test.shape}, {mean_test.shape} and {log_z_test.shape}")
    if isinstance(coordinate, bool) or not isinstance(coordinate, (int, np.integer)) \
            or not 0 <= coordinate < f_test.shape[1]:
        raise ValueError(f"coordinate must be an integer from 0 to d - 1 = {f_test.shape[1] - 1}, got {coordinate!r}")
    fig, axes = subplot_mosaic([["R2", "R2"], ["coordinate", "log Z"]], height=6.2)
    _r2_histogram(axes["R2"], affine)
    j = int(coordinate)
    _against_fit(axes["coordinate"], mean_test[:, j], affine.predict(f_test)[:, j], COLORS["tau"])
    axes["coordinate"].set(xlabel=rf"$(\Phi p_f(s))_{{{j}}}$", ylabel=rf"$(A f(s) + b)_{{{j}}}$",
                           title=f"most variable coordinate\n$R^2$ = {affine.r2_per_output[j]:.2f}")
    quadratic = log_z_fit.quadratic
    _against_fit(axes["log Z"], log_z_test, quadratic.predict(log_z_fit.design(f_test))[:, 0], COLORS["adversarial"])
    axes["log Z"].set(xlabel=r"$\log Z(f(s))$ (nats)", ylabel="quadratic fit (nats)",
                      title=f"log Z, top {log_z_fit.k} components\n$R^2$ = {quadratic.r2:.3f}")
    fig.suptitle(title, fontsize=9)
    return fig


def _r2_histogram(ax, affine) -> None:
    """The per-coordinate held-out R² of an affine fit, with the R² over all coordinates dashed."""
    ax.hist(affine.r2_per_output, bins=40, color=COLORS["random"])
    ax.axvline(affine.r2, color=COLORS["bound"], ls="--", label=f"all coordinates: {affine.r2:.2f}")
    ax.set(xlabel="held-out $R^2$ of one coordinate", ylabel="coordinates",
           title=r"$\Phi p_f \approx A f + b$, per coordinate")
    ax.legend(fontsize=8)


def _against_fit(ax, truth, prediction, color) -> None:
    """A scatter of predictions against the truth, with the diagonal dashed."""
    ax.scatter(truth, prediction, s=3, alpha=0.3, color=color)
    lims = [truth.min(), truth.max()]
    ax.plot(lims, lims, color=COLORS["bound"], lw=1, ls="--")
