"""Run small tensor work on one thread.

The synthetic world's tensors are small (hundreds by hundreds): on them, extra threads only add
synchronisation, and when the cores are shared with other work a second thread can make a sweep
fifty times slower. ``single_thread`` is used as a decorator on the synthetic world's entry
points; the real language models keep all threads.
"""

from __future__ import annotations

import contextlib

import torch
from threadpoolctl import threadpool_limits

__all__ = ["single_thread"]


@contextlib.contextmanager
def single_thread():
    """Limit torch and the BLAS libraries (numpy, scipy) to one thread inside the block.

    Example: ``with single_thread(): sweep(world, task, grid)``, or ``@single_thread()`` on a function.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(before)
