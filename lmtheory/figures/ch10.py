"""The figure of chapter 10 (what the theory does not explain).

* :func:`vacuous_range`: Figure 10.1, the bound of Theorem 4.1 against the loss of a hedging model.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure

from ..plotting import COLORS, subplots

__all__ = ["vacuous_range"]


def vacuous_range(task, model_eps, model_loss, eps_vac: float, eps_coin: float, title: str = "") -> Figure:
    """Figure 10.1 of chapter 10: where the bound says nothing, and how a simple model fares there.

    Parameters
    ----------
    task : synthetic.Task
        Its ``bound(eps)``, ``tau`` (nats) give the bound's curve and the floor.
    model_eps, model_loss : array of shape (n,)
        A family of models: each one's excess cross-entropy (> 0, increasing) and its downstream
        logistic loss with the task's classifier, in nats.
    eps_vac : float
        Where the bound reaches ``log 2``; the range from it on is shaded.
    eps_coin : float
        Where the models' loss reaches ``log 2`` (marked with a dot).
    title : str
        The panel's title.

    Returns
    -------
    matplotlib.figure.Figure
        One panel, logarithmic in eps from ``1e-7`` to twice the largest ``model_eps``.

    Example: ``vacuous_range(task, [1e-6, 1e-2, 4.0], [0.2, 0.3, 0.8], 1e-4, 2.0)``.
    """
    model_eps, model_loss = np.asarray(model_eps, dtype=float), np.asarray(model_loss, dtype=float)
    if model_eps.shape != model_loss.shape or model_eps.ndim != 1 or not (model_eps > 0).all():
        raise ValueError(f"model_eps (positive) and model_loss must be 1-D of the same length, got shapes "
                         f"{model_eps.shape} and {model_loss.shape}")
    largest = model_eps[-1]
    fig, ax = subplots()
    eps_grid = np.geomspace(1e-7, largest, 200)
    ax.plot(eps_grid, task.bound(eps_grid), color=COLORS["bound"], label=r"bound $\tau + \sqrt{2B^2\epsilon/\gamma}$")
    ax.plot(model_eps, model_loss, color=COLORS["fixed"], label="hedging model, task's classifier")
    ax.plot([eps_coin], [math.log(2)], "o", color=COLORS["fixed"])
    ax.axhline(math.log(2), color="gray", ls="--", lw=1, label=r"$\log 2$, a coin flip")
    ax.axhline(task.tau, color=COLORS["tau"], ls=":", label=r"$\tau$")
    ax.axvspan(eps_vac, 2 * largest, color="gray", alpha=0.12, lw=0, label="the bound says nothing")
    ax.set(xscale="log", xlim=(1e-7, 2 * largest), ylim=(task.tau - 0.05, 0.95),
           xlabel=r"excess cross-entropy $\epsilon$ (nats)", ylabel="downstream logistic loss (nats)")
    ax.set_title(title, fontsize=9)
    ax.legend(loc="upper left", fontsize=8)
    return fig
