"""lmtheory: the code behind the book *Why Language Models Help*.

Chapters explain an idea once and then call it from here. Start every notebook with
``lmtheory.setup(seed=0)``.
"""

from __future__ import annotations

import importlib
import random

import numpy as np
import torch

from . import bounds, core, offline, plotting, sizes, synthetic, widgets
from .prose import glue, say
from .checks import check_int

# The one place the version is written: pyproject.toml reads it, and every chapter's setup cell
# installs the git tag v<version> (tools/setup_cell.py). Tag each release so that tag exists.
__version__ = "0.1.0"

__all__ = ["setup", "device", "glue", "bounds", "core", "data", "features", "models", "plotting", "probe", "sizes",
           "synthetic", "train", "corpus", "quadratic", "widgets", "__version__"]

#: Modules with heavy imports (scikit-learn, transformers), loaded on first use: ``lmtheory.probe``.
_LAZY = {"corpus", "data", "features", "models", "probe", "quadratic", "train"}


def __getattr__(name: str):
    if name in _LAZY:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'lmtheory' has no attribute {name!r}")


def device() -> torch.device:
    """The best available device: CUDA, then Apple MPS, then the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def setup(seed: int = 0, *, verbose: bool = True) -> torch.device:
    """Seed Python, numpy and torch, apply the book's figure style, and report where we run.

    Returns the device (see :func:`device`). Example: ``lmtheory.setup(seed=0)`` prints
    ``lmtheory 0.1.0 | torch 2.13.0 | device: cpu | sizes: quick | models: offline (SmolLM2-135M-Instruct,
    Q4_1 GGUF de-quantised, HF_HUB_OFFLINE=1)``; the model source is :func:`lmtheory.offline.model_source`
    (at most ~2 s offline).
    """
    seed = check_int(seed, "seed", low=0, high=2**32 - 1)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    plotting.use_book_style()
    where = device()
    if verbose:
        name = torch.cuda.get_device_name(where) if where.type == "cuda" else where.type
        # the models on a second line, itself wrapped: the page is 88 characters wide
        say(f"lmtheory {__version__} | torch {torch.__version__} | device: {name} | sizes: {sizes.mode()}\n"
            f"  | models: {offline.model_source()}")
    return where
