"""Numbers for the prose: a measured number in a chapter's text comes from the cell that measured it.

A chapter computes a number, stores it with :func:`glue`, and its markdown cites it with myst-nb's
role, ``{glue:text}`name:.3f``` (the format spec after the colon), so a rerun that changes the number
changes the text. The stored value is invisible in the notebook and in Colab; only the built book
reads it. ``tests/test_prose.py`` flags decimal numbers typed by hand into markdown.

>>> tau = glue("ch4_tau", 0.4261)  # returns the value, so it can be used on
"""

from __future__ import annotations

import numbers
import textwrap

__all__ = ["glue", "how_often", "say", "LINE_WIDTH"]

#: Characters per line of what the book prints: a wider line is cut off on a phone and in a narrow
#: column (tests/test_reader_budget.py holds the built pages to it).
LINE_WIDTH = 88

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


def how_often(flags, unit: str = "seed") -> str:
    """How many of ``flags`` are true, in words for the prose: "in every seed", "in none of the seeds"
    or "in 2 of the 3 seeds".

    Shapes: ``flags (n,)`` booleans, n >= 1. Example: ``how_often([True, False, True])`` is
    ``"in 2 of the 3 seeds"``.
    """
    values = [bool(v) for v in flags]
    if not values:
        raise ValueError("how_often needs at least one flag, got none")
    k, n = sum(values), len(values)
    return f"in every {unit}" if k == n else f"in none of the {unit}s" if k == 0 else f"in {k} of the {n} {unit}s"


def say(text: str) -> None:
    """Print ``text`` with each of its lines wrapped at :data:`LINE_WIDTH` characters.

    A wrapped line continues on the next with a two-space indent. Example: ``say(task.summary())``.
    """
    for line in str(text).split("\n"):
        print(textwrap.fill(line, LINE_WIDTH, subsequent_indent="  ", break_on_hyphens=False) if line else "")
