"""Sphinx extension: a chapter's execution never waits forever on a reply that has already arrived.

nbclient waits for a kernel's replies with asyncio polls on pyzmq sockets, which wake on an
edge-triggered file descriptor. When the machine is busy (other kernels running beside the build),
that wake-up is sometimes missed: the kernel has answered and sits idle, the reply lies in the
client's socket (``EVENTS`` shows ``POLLIN``), and the build waits until the cell's timeout (40
minutes) or for ever. Asking an asyncio socket for its ``EVENTS`` is pyzmq's remedy: it hands any
waiting message to the pending poll. While a cell runs, :func:`nudged` asks every second.

Reproduced on 2 cores (chapter 4 executed beside chapters 3, 5 and 10 and the unit tests): a cell of
a few seconds still waiting after a minute, with ``POLLIN`` on the shell and IOPub sockets; asking for
``EVENTS`` let it finish at once.
"""

from __future__ import annotations

import asyncio
import functools

import zmq
from nbclient import NotebookClient

#: Seconds between two wake-ups while a cell runs.
WAKE_EVERY_S = 1.0


async def _wake(client: NotebookClient) -> None:
    """Every :data:`WAKE_EVERY_S`, ask the shell and IOPub sockets for their events (waking their polls)."""
    while True:
        await asyncio.sleep(WAKE_EVERY_S)
        for channel in (client.kc.shell_channel, client.kc.iopub_channel):
            socket = getattr(channel, "socket", None)
            if socket is not None and not socket.closed:
                socket.get(zmq.EVENTS)


def nudged(execute_cell):
    """``NotebookClient.async_execute_cell``, with :func:`_wake` running beside each cell."""
    if getattr(execute_cell, "lmtheory_nudged", False):
        return execute_cell

    @functools.wraps(execute_cell)
    async def execute(self, *args, **kwargs):
        waker = asyncio.ensure_future(_wake(self))
        try:
            return await execute_cell(self, *args, **kwargs)
        finally:
            waker.cancel()

    execute.lmtheory_nudged = True
    return execute


def setup(app):
    NotebookClient.async_execute_cell = nudged(NotebookClient.async_execute_cell)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
