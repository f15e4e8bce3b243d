"""Sizes of every experiment, from one place.

``LMTHEORY_QUICK=1`` (what CI and CPU-only readers use) picks the quick column; anything else the
full column of the published book.

>>> size("eps_grid") in (12, 20)
True
"""

from __future__ import annotations

import os

__all__ = ["quick", "mode", "size", "SIZES"]

#: name -> (quick, full)
SIZES = {
    "eps_grid": (12, 20),  # points of an eps sweep
    "n_contexts": (400, 400),  # contexts of the synthetic world
    "vocab_size": (200, 200),
    "dim": (16, 16),
    "n_random_instances": (50, 200),  # random instances behind a numeric check in a chapter
    "probe_train": (400, 1_500),  # texts per task for the linear probes
    "probe_test": (200, 800),  # (the offline BBC test split has 420: capped with a warning)
}


def quick() -> bool:
    """True when ``LMTHEORY_QUICK=1``."""
    return os.environ.get("LMTHEORY_QUICK", "0") == "1"


def mode() -> str:
    """``"quick"`` or ``"full"``."""
    return "quick" if quick() else "full"


def size(name: str) -> int:
    """The size called ``name`` in the current mode. Example: ``size("eps_grid")``."""
    if name not in SIZES:
        raise KeyError(f"unknown size {name!r}; known sizes: {', '.join(sorted(SIZES))}")
    return SIZES[name][0 if quick() else 1]
