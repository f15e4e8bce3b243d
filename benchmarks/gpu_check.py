"""The GPU paths of lmtheory in one short run.  Run: ``python benchmarks/gpu_check.py``.

Prepared for a session that has a GPU for a few minutes (it also runs on a CPU, as a dry run of
the script itself, with ``--device cpu``). It checks, and prints one line for each:

1. **placement**: ``load_model()`` puts the model on the GPU in reduced precision
   (bfloat16 where supported, else float16), and the features come back as float32 numpy arrays;
2. **agreement**: the same sentences in float32 and in reduced precision give features whose
   largest difference, relative to the largest entry, is small (reported, and checked below 5%);
3. **throughput**: sentences per second of ``extract_features`` in float32 and in reduced precision,
   for the offline model (or GPT-2 with the Hub) and for a GPT-2-size model (the 124M-parameter
   GPT-2 architecture, random weights: throughput does not depend on the weights);
4. **out of memory**: with the GPU's memory capped to a sliver, extraction halves its batch and
   still returns the same features.

Options: ``--n 800`` sentences (Rotten Tomatoes snippets, as in bench_features.py), ``--device``.
Exits with status 1 if a check fails.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch
from bench_features import PROMPT, rotten_tomatoes
from transformers import GPT2Config, GPT2LMHeadModel

import lmtheory
from lmtheory.features import extract_features
from lmtheory.models import default_dtype, from_model, load_model

RELATIVE_TOLERANCE = 0.05


def rate(lm, texts: list[str], batch_size: int | None = None) -> tuple[float, np.ndarray]:
    """Sentences per second of extract_features on ``lm`` (cache off), and the features f."""
    extract_features(lm, texts[:16], prompt=PROMPT, cache=False, progress=False)  # warm-up
    if lm.device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    feats = extract_features(lm, texts, prompt=PROMPT, cache=False, progress=False, batch_size=batch_size)
    if lm.device.type == "cuda":
        torch.cuda.synchronize()
    return len(texts) / (time.perf_counter() - start), feats.f


def gpt2_size(tokenizer, device, dtype):
    """The GPT-2 small architecture (12 layers, width 768) with random weights, as an lmtheory model."""
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=1024, n_embd=768, n_layer=12, n_head=12,
                        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    return from_model(GPT2LMHeadModel(config), tokenizer, "gpt2-size (random weights)",
                      device=device, dtype=dtype)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=800)
    parser.add_argument("--device", default=str(lmtheory.device()))
    args = parser.parse_args()
    device = torch.device(args.device)
    low = default_dtype(device)
    print(f"torch {torch.__version__}, device {device}"
          + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "")
          + f", reduced precision here: {str(low).removeprefix('torch.')}")
    failures = []
    texts = rotten_tomatoes(args.n)

    lm32 = load_model(device=device, dtype=torch.float32)
    lm_low = load_model(device=device)
    placed = {p.device.type for p in lm_low.model.parameters()}, {p.dtype for p in lm_low.model.parameters()}
    print(f"1. placement: default load on {placed[0]} in {placed[1]} (expected {{{device.type!r}}}, {{{low}}})")
    if placed != ({device.type}, {low}):
        failures.append("placement")

    speed32, f32 = rate(lm32, texts)
    speed_low, f_low = rate(lm_low, texts)
    if f_low.dtype != np.float32:
        failures.append("features not float32")
    gap = float(np.abs(f32 - f_low).max() / np.abs(f32).max())
    print(f"2. agreement: max |f32 - f_low| / max |f32| = {gap:.2e} (limit {RELATIVE_TOLERANCE})")
    if gap > RELATIVE_TOLERANCE:
        failures.append("agreement")
    print(f"3. throughput, {lm32.name}, {len(texts)} sentences: float32 {speed32:.0f} sent/s, "
          f"{str(low).removeprefix('torch.')} {speed_low:.0f} sent/s ({speed_low / speed32:.2f}x)")
    big32, big_low = (gpt2_size(lm32.tokenizer, device, dtype) for dtype in (torch.float32, low))
    (g32, _), (g_low, _) = rate(big32, texts), rate(big_low, texts)
    print(f"   throughput, GPT-2 size (124M architecture): float32 {g32:.0f} sent/s, "
          f"{str(low).removeprefix('torch.')} {g_low:.0f} sent/s ({g_low / g32:.2f}x)")

    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.set_per_process_memory_fraction(0.02, device)
        try:
            _, f_small = rate(big32, texts[:256], batch_size=256)
        finally:
            torch.cuda.set_per_process_memory_fraction(1.0, device)
        same = float(np.abs(f_small - rate(big32, texts[:256], batch_size=8)[1]).max())
        print(f"4. out of memory: 256 sentences in one batch under a 2% memory cap came back; "
              f"max difference from batches of 8: {same:.1e}")
        if same > 1e-3:
            failures.append("out-of-memory retry")
    else:
        print("4. out of memory: skipped (no GPU; tests/test_models.py simulates it on the CPU)")
    print("all checks passed" if not failures else f"FAILED: {', '.join(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
