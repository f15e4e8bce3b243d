"""Numbers for the prose: a measured number in a chapter's text comes from the cell that measured it.

A chapter computes a number, stores it with :func:`glue`, and its markdown cites it with myst-nb's
role, ``{glue:text}`name:.3f``` (the format spec after the colon), so a rerun that changes the number
changes the text. The stored value is invisible in the notebook and in Colab; only the built book
reads it. ``tests/test_prose.py`` flags decimal numbers typed by hand into markdown.

>>> tau = glue("ch4_tau", 0.4261)  # returns the value, so it can be used on
"""

from __future__ import annotations

import numbers

__all__ = ["glue"]

#: The mime prefix under which myst-nb looks for glued values (its ``GLUE_PREFIX``).
_PREFIX = "application/papermill.record/"


def _plain(value):
    """Numbers as Python ``int``/``float`` (``repr(np.float64(x))`` is not a number), others unchanged."""
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value


class _Quiet:
    """Mixin: a value that a notebook does not echo when a cell ends with ``glue(...)``."""

    def _ipython_display_(self):
        pass


class _QuietFloat(_Quiet, float):
    pass


class _QuietInt(_Quiet, int):
    pass


class _QuietStr(_Quiet, str):
    pass


def glue(name: str, value):
    """Store ``value`` under ``name`` for the book's markdown, without showing it; return ``value``.

    ``name`` must be an identifier (by convention ``chN_what``); ``value`` a number or a short string.
    Numbers keep full precision: the markdown chooses the format (``{glue:text}`ch4_tau:.3f```).
    The value comes back as a plain ``float``, ``int`` or ``str`` (a subclass that a notebook does not
    echo, so a cell may end with ``glue(...)``).
    """
    if not (isinstance(name, str) and name.isidentifier()):
        raise ValueError(f"a glue name must be an identifier such as 'ch4_tau', got {name!r}")
    plain = _plain(value)
    if not isinstance(plain, (int, float, str)):
        raise TypeError(f"glue {name!r}: a number or a string is expected, got {type(value).__name__}")
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # plain Python: nothing reads glued values there
        return plain
    if get_ipython() is not None:
        text = plain if isinstance(plain, str) else repr(plain)
        display({_PREFIX + "text/plain": text}, raw=True,
                metadata={"scrapbook": {"name": name, "mime_prefix": _PREFIX}})
    quiet = {bool: None, int: _QuietInt, float: _QuietFloat, str: _QuietStr}[type(plain)]
    return value if quiet is None else quiet(plain)
