"""benchmarks/gpu_check.py, the script prepared for a lent GPU, runs here at toy sizes on the CPU: a
script that breaks is found before the few minutes of GPU time are spent on it."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT


def test_the_gpu_check_runs_at_toy_sizes_on_the_cpu():
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--tiny", "--device", "cpu",
                          "--n", "48"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, HF_HUB_OFFLINE="1"))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    lines = run.stdout.splitlines()
    assert lines[-1].endswith("all checks passed"), run.stdout
    [size] = [line for line in lines if line.strip().startswith("tiny")]
    assert "agreement" in size and "sent/s" in size and "tok/s" in size and "bfloat16: cosine >=" in size, size
