"""Atomic writes to the cache: an entry appears complete under its final name, or not at all.

Every file and folder that lmtheory writes into its cache (features, the de-quantised offline model,
downloaded and extracted data, the tokenizer, token streams and training runs) goes through here.
The content is written under a temporary name unique to this process, in the target's own folder
(so the final rename stays within one file system), flushed to disk, and then renamed. Two processes
that build the same entry at once both succeed: for a file the last rename wins, for a folder the
first one does and the other keeps what it built in memory. A crash mid-write leaves at most a
temporary name behind, never a truncated entry under the final name.

A cache that cannot be written (a read-only folder, another user's cache, a full disk) is not an
error for the reader: :func:`cache_write_failed` warns once per folder, naming it and
``LMTHEORY_CACHE``, and the caller goes on with what it computed.

>>> from pathlib import Path; import tempfile
>>> target = Path(tempfile.mkdtemp()) / "numbers.txt"
>>> with atomic_file(target) as temporary:
...     _ = temporary.write_text("1 2 3")
>>> target.read_text()
'1 2 3'
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import warnings
from pathlib import Path

__all__ = ["atomic_file", "atomic_folder", "one_at_a_time", "cache_write_failed"]

_WARNED: set[str] = set()


@contextlib.contextmanager
def atomic_file(path):
    """Write a file atomically: yields a temporary path beside ``path``; on success it becomes ``path``.

    Parameters
    ----------
    path : str or Path
        The final file; its folder is created if needed.

    Yields
    ------
    Path
        Write the content here (any way: ``np.savez``, ``tokenizer.save``, ``write_bytes``).

    Example: ``with atomic_file(target) as tmp: np.savez(tmp, x=x)``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        with open(temporary, "rb+") as written:  # flushed to disk before the rename makes it visible
            os.fsync(written.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_folder(path):
    """Build a folder atomically: yields a temporary folder beside ``path``; on success it becomes ``path``.

    If ``path`` appeared meanwhile (another process finished the same entry first), that one is kept
    and this one discarded. An existing ``path`` is never deleted here.

    Example: ``with atomic_folder(target) as tmp: model.save_pretrained(tmp)``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
    try:
        yield temporary
        for written in temporary.rglob("*"):
            if written.is_file():
                with open(written, "rb+") as handle:
                    os.fsync(handle.fileno())
        try:
            os.rename(temporary, path)
        except OSError:
            if not path.is_dir():  # not a lost race: a real failure
                raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


@contextlib.contextmanager
def one_at_a_time(path):
    """Build the cache entry ``path`` in one process at a time: a second process asking for it waits
    here until the first is done, then finds the entry built instead of building it again.

    An exclusive lock on a small file beside ``path`` (``.<name>.lock``), released when the block ends
    or the process dies. Where no lock can be taken (a cache folder we cannot write to, a system
    without ``fcntl`` such as Windows) it does not wait; the atomic writes still keep entries whole.

    Example: ``with one_at_a_time(folder): build(folder) if not folder.is_dir() else None``.
    """
    path = Path(path)
    try:
        import fcntl

        path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(path.parent / f".{path.name}.lock", "a+")
    except (ImportError, OSError):
        lock = None
    if lock is None:
        yield
        return
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def cache_write_failed(path, error: BaseException) -> None:
    """Warn, once per folder, that a cache entry could not be written; the caller carries on without it.

    Example: ``except OSError as error: cache_write_failed(path, error)``.
    """
    folder = str(Path(path).parent)
    if folder in _WARNED:
        return
    _WARNED.add(folder)
    warnings.warn(f"could not write to the cache folder {folder} ({type(error).__name__}: {error}); going on "
                  f"without caching there. Set LMTHEORY_CACHE to a folder you can write to, to keep results "
                  f"between runs.", stacklevel=3)
