"""The figure of chapter 1 (language models and their features).

* :func:`top_tokens`: Figure 1.1, the most likely next tokens after one or two contexts.
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from ..checks import check_matrix
from ..plotting import COLORS, subplots

__all__ = ["top_tokens"]


def top_tokens(p, tokenizer, contexts, *, model: str, k: int = 10) -> Figure:
    """Figure 1.1 of chapter 1: the ``k`` most likely next tokens of each context, as bars.

    Parameters
    ----------
    p : torch.Tensor, shape (n, V)
        Next-word distributions ``p_f(s)`` of ``n`` contexts (one or two), each row summing to 1.
    tokenizer
        Anything with ``decode(list of token ids) -> str`` (the model's tokenizer); a token's text is
        shown with ``repr``, so a leading space stays visible.
    contexts : list of str, length n
        The contexts, for the panels' titles.
    model : str
        The model's name, for the title.
    k : int
        Tokens per panel, 1 <= k <= V.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per context, side by side.

    Example: ``top_tokens(p[1:3], lm.tokenizer, PROMPTS[1:3], model=lm.name)``.
    """
    check_matrix(p, "p")
    if not 1 <= len(p) <= 2 or len(contexts) != len(p):
        raise ValueError(f"p must hold one or two distributions (rows) and contexts one text per row; got "
                         f"{len(p)} rows and {len(contexts)} contexts")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= p.shape[1]:
        raise ValueError(f"k must be an integer from 1 to V = {p.shape[1]}, got {k!r}")
    fig, axes = subplots(1, len(p), height=3.4, squeeze=False)
    values, ids = p.topk(k, dim=-1)
    for ax, context, probs, row in zip(axes[0], contexts, values, ids):
        words = [repr(tokenizer.decode([int(i)])) for i in row]
        ax.barh(range(k)[::-1], 100 * probs.to(torch.float64).cpu().numpy(), color=COLORS["tau"])
        ax.set_yticks(range(k)[::-1], words)
        ax.set(xlabel=r"$p_f(s)_w$ (%)", title=f"after {context!r}")
    fig.suptitle(f"The {k} most likely next tokens under {model} (V = {p.shape[1]:,})", fontsize=10)
    return fig
