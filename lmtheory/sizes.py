"""Sizes of every experiment, from one place.

``LMTHEORY_QUICK=1`` (what CI uses) picks the quick column and ``LMTHEORY_QUICK=0`` the full column
of the published book. Unset, the choice follows the hardware: full sizes on a CUDA GPU, quick sizes
otherwise, so a reader in Colab without a GPU runtime, or on a laptop, gets chapters that finish.

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
    "intro_probe_train": (200, 1_000),  # chapter 1: a first probe on sentiment sentences
    "intro_probe_test": (100, 500),
    "prefix_texts": (300, 1_500),  # chapter 6: texts whose prefixes are the contexts of the log Z fits
    "prefix_per_text": (12, 16),  # contexts (prefix lengths) drawn per text
    # Chapters 8 and 9 train nine small GPT-2 models (3 seeds x {cross-entropy, Quad, Quad with Phi
    # fixed}); the quick column keeps both chapters to a few minutes on two CPU cores, which is why
    # its models are half as wide (d = 64) as the full ones.
    "lm_steps": (600, 2_000),  # optimiser steps of a small LM trained in chapters 8 and 9
    "lm_batch": (16, 16),  # windows per step
    "lm_block": (64, 128),  # tokens per window (and the model's context length)
    "lm_layers": (2, 3),
    "lm_width": (64, 128),  # d, the feature dimension
    "lm_vocab": (4_096, 4_096),  # BPE vocabulary trained on the corpus
    "lm_checkpoints": (6, 10),  # one early, the others from a tenth of the steps on (chapter 9)
    "lm_eval_tokens": (8_192, 32_768),  # held-out tokens scored at every checkpoint (and by the Quad yardsticks)
    "lm_seeds": (3, 3),  # training seeds per kind of model (each also draws its own probe texts)
}


def quick() -> bool:
    """True when ``LMTHEORY_QUICK=1``, or when it is unset and there is no CUDA GPU."""
    value = os.environ.get("LMTHEORY_QUICK", "").strip()
    if value not in ("", "0", "1"):
        raise ValueError(f"LMTHEORY_QUICK must be 1 (quick sizes), 0 (full sizes) or unset, got {value!r}")
    if value:
        return value == "1"
    import torch  # only when the hardware decides

    return not torch.cuda.is_available()


def mode() -> str:
    """``"quick"`` or ``"full"``."""
    return "quick" if quick() else "full"


def size(name: str) -> int:
    """The size called ``name`` in the current mode. Example: ``size("eps_grid")``."""
    if name not in SIZES:
        raise ValueError(f"unknown size {name!r}; known sizes: {', '.join(sorted(SIZES))}")
    return SIZES[name][0 if quick() else 1]
