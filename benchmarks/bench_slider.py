"""How fast is the eps slider of chapter 4?  Run: ``python benchmarks/bench_slider.py``.

Measures, on the chapter's default world (N = 400 contexts, V = 200 words, d = 16) and task
(``make_task(world, B=8.0, gamma=0.5)``):

(a) one slider update: ``evaluate(world, task, eps, "adversarial")`` (new eps -> new eps-optimal model ->
    excess loss, bound, downstream loss with the classifier fixed and refitted), median over 20 random
    eps, log-uniform in [1e-5, 1e-1]; target 0.3 s;
(b) a 20-point eps sweep for one kind, ``sweep(world, task, grid, kinds=("adversarial",))``; target 5 s;
(c) for information, one full redraw of the live widget: (a) plus drawing ``widgets.eps_figure`` and
    encoding it as PNG (the task's sweep already cached), median over the same eps; target 0.3 s.

Prints each time next to its target and exits with status 1 if a target is missed.
"""

from __future__ import annotations

import io
import os
import sys
import time

import numpy as np
import torch

from lmtheory import synthetic, widgets

TARGETS = {"slider update": 0.3, "20-point sweep": 5.0, "widget redraw": 0.3}


def timed(fn, *args, **kwargs) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def redraw(world, task, eps):
    fig = widgets.eps_figure(world, eps, task=task)
    fig.savefig(io.BytesIO(), format="png", dpi=100)


def main() -> int:
    world = synthetic.make_world(400, 200, 16, seed=0)
    task = synthetic.make_task(world, B=8.0, gamma=0.5)
    eps_values = 10 ** np.random.default_rng(0).uniform(-5, -1, 20)
    grid = np.geomspace(1e-5, 1e-1, 20)
    synthetic.evaluate(world, task, 1e-3, "adversarial")  # warm up (first calls load kernels)
    widgets.cached_sweep(world, task)  # what the widget computes once per (B, gamma)

    results = {
        "slider update": float(np.median([timed(synthetic.evaluate, world, task, e, "adversarial")
                                          for e in eps_values])),
        "20-point sweep": timed(synthetic.sweep, world, task, grid, kinds=("adversarial",)),
        "widget redraw": float(np.median([timed(redraw, world, task, e) for e in eps_values])),
    }
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"world N=400, V=200, d=16 | torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} CPUs, load average {load:.1f}")
    missed = []
    for name, seconds in results.items():
        ok = seconds <= TARGETS[name]
        missed += [] if ok else [name]
        print(f"{name:15s} {seconds:7.3f} s   target {TARGETS[name]:4.1f} s   {'ok' if ok else 'MISSED'}")
    if missed:
        print(f"missed: {', '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
