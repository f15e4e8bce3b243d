"""tools/sphinx_kernel_wakeup.py: a reply that has arrived is not waited for (the chapter 4 hang).

The hang, reproduced: nbclient's asyncio poll on a pyzmq socket holding a message, never woken. Here
the same state is made on purpose: a message arrives while a poll waits, and the socket's events are
read through the plain (not asyncio) socket first, which takes the edge-triggered wake-up the poll was
waiting for. The poll then sleeps on; the extension's waker hands it the message within a second.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import zmq
import zmq.asyncio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import sphinx_kernel_wakeup as wakeup  # noqa: E402


async def _missed_wakeup(wake: bool) -> bool:
    """Whether a poll that lost its wake-up still sees the waiting message within 3 seconds."""
    context = zmq.asyncio.Context()
    receiver, sender = context.socket(zmq.PAIR), context.socket(zmq.PAIR)
    try:
        port = receiver.bind_to_random_port("tcp://127.0.0.1")
        sender.connect(f"tcp://127.0.0.1:{port}")
        poll = asyncio.ensure_future(receiver.poll(timeout=3000))
        await asyncio.sleep(0.2)  # the poll is waiting
        await sender.send(b"reply")
        deadline = time.monotonic() + 2
        # the plain socket takes the edge, before the event loop runs again (no await in this loop)
        while not zmq.Socket.get(receiver, zmq.EVENTS) & zmq.POLLIN:
            assert time.monotonic() < deadline, "the message never arrived"
            time.sleep(0.01)
        channels = SimpleNamespace(socket=receiver)
        client = SimpleNamespace(kc=SimpleNamespace(shell_channel=channels, iopub_channel=channels))
        waker = asyncio.ensure_future(wakeup._wake(client)) if wake else None
        try:
            found = await asyncio.wait_for(asyncio.shield(poll), timeout=2.5)
        except asyncio.TimeoutError:
            found = 0
        finally:
            if waker:
                waker.cancel()
            poll.cancel()
        return bool(found)
    finally:
        receiver.close(0)
        sender.close(0)
        context.term()


def test_a_poll_that_lost_its_wakeup_waits_on_without_the_waker():
    """The failure exists: without the waker, the message waits unseen (the test of the fix means something)."""
    assert asyncio.run(_missed_wakeup(wake=False)) is False


def test_the_waker_hands_the_waiting_message_to_the_poll():
    assert asyncio.run(_missed_wakeup(wake=True)) is True


def test_the_book_build_loads_the_waker_once():
    import yaml
    from nbclient import NotebookClient

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert config["sphinx"]["local_extensions"].get("sphinx_kernel_wakeup") == "tools/"
    original = NotebookClient.async_execute_cell  # this session's (conftest.py wraps it too)
    raw = getattr(original, "__wrapped__", original)
    NotebookClient.async_execute_cell = raw
    try:
        wakeup.setup(None)
        wakeup.setup(None)  # Sphinx may set an extension up again: wrapped once
        assert NotebookClient.async_execute_cell.lmtheory_nudged
        assert NotebookClient.async_execute_cell.__wrapped__ is raw
    finally:
        NotebookClient.async_execute_cell = original


def test_notebooks_run_by_the_tests_get_the_waker_too():
    from nbclient import NotebookClient

    assert getattr(NotebookClient.async_execute_cell, "lmtheory_nudged", False)


def test_the_waker_is_frequent_enough_for_short_cells():
    assert 0 < wakeup.WAKE_EVERY_S <= 2, "a lost wake-up costs at most this many seconds per cell"
