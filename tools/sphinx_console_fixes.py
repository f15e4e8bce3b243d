"""Sphinx extension: every page lists each of its scripts once, so the browser console stays free of
errors (tests/test_site.py fails on any console error).

sphinx-thebe, which Jupyter Book 1 always loads, adds its configuration as an inline script
(``const THEBE_JS_URL = ...``) once the HTML builder exists. Sphinx 7 then keeps two copies of it (one
registered with the file name ``None``, one with ``''``, which it does not see as equal), so every
page declared the constant twice and the browser reported "Identifier 'THEBE_JS_URL' has already been
declared". Each page's scripts are de-duplicated here, after every other extension has added its own.
"""

from __future__ import annotations


def _key(script) -> tuple:
    """What makes two of Sphinx's ``_JavaScript`` entries the same script (a missing name is ``''``)."""
    return (script.filename or "", script.priority, tuple(sorted(script.attributes.items())))


def drop_repeated_scripts(app, pagename, templatename, context, doctree) -> None:
    """Keep the first of any scripts of the page that are the same script."""
    scripts = context.get("script_files")
    if scripts:
        unique = {_key(script): script for script in reversed(scripts)}  # the first copy of each wins
        context["script_files"] = [script for script in scripts if unique[_key(script)] is script]


def setup(app):
    # after the other extensions' handlers (myst-nb adds a page's own scripts in this event)
    app.connect("html-page-context", drop_repeated_scripts, priority=900)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
