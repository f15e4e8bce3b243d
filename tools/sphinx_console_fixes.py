"""Sphinx extension: every page lists each of its scripts once, so the browser console stays free of
errors (tests/test_site.py fails on any console error).

sphinx-thebe, which Jupyter Book 1 always loads, adds its configuration as an inline script
(``const THEBE_JS_URL = ...``) once the HTML builder exists. Sphinx 7 then keeps two copies of it (one
registered with the file name ``None``, one with ``''``, which it does not see as equal), so every
page declared the constant twice and the browser reported "Identifier 'THEBE_JS_URL' has already been
declared". Each page's scripts are de-duplicated here, after every other extension has added its own.

The site's front door, ``index.html``, is a redirect to the root page that sphinx-external-toc writes as
one bare ``<meta http-equiv="Refresh">``. With no icon of its own, the browser sometimes asked for
``/favicon.ico`` before it followed the redirect, and logged a 404 (a flaky console error). The redirect
is written here instead, as a whole page: the book's icon, a title, and a link for a reader whose
browser does not follow it.
"""

from __future__ import annotations

import html
from pathlib import Path, PurePosixPath


def _key(script) -> tuple:
    """What makes two of Sphinx's ``_JavaScript`` entries the same script (a missing name is ``''``)."""
    return (script.filename or "", script.priority, tuple(sorted(script.attributes.items())))


def drop_repeated_scripts(app, pagename, templatename, context, doctree) -> None:
    """Keep the first of any scripts of the page that are the same script."""
    scripts = context.get("script_files")
    if scripts:
        unique = {_key(script): script for script in reversed(scripts)}  # the first copy of each wins
        context["script_files"] = [script for script in scripts if unique[_key(script)] is script]


def redirect_page(target: str, title: str, icon: str | None) -> str:
    """The HTML of a page that sends the browser on to ``target`` (a relative URL)."""
    target, title = html.escape(target, quote=True), html.escape(title)
    icon_link = f'  <link rel="icon" href="{html.escape(icon, quote=True)}">\n' if icon else ""
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n  <meta charset="utf-8">\n  <title>{title}</title>\n'
            f'{icon_link}  <meta http-equiv="Refresh" content="0; url={target}">\n</head>\n'
            f'<body>\n  <p>The book starts at <a href="{target}">{title}</a>.</p>\n</body>\n</html>\n')


def write_front_door(app, exception) -> None:
    """Write ``index.html`` at the top of an HTML build whose root page is elsewhere."""
    root = app.config.root_doc
    if exception is not None or app.builder.name != "html" or root == "index":
        return
    favicon = app.config.html_favicon
    icon = f"_static/{PurePosixPath(favicon).name}" if favicon and "://" not in favicon else favicon
    page = redirect_page(f"{root}.html", app.config.html_title, icon)
    Path(app.outdir, "index.html").write_text(page, encoding="utf-8")


def setup(app):
    # after the other extensions' handlers (myst-nb adds a page's own scripts in this event)
    app.connect("html-page-context", drop_repeated_scripts, priority=900)
    # before sphinx-external-toc's handler (priority 500), which then finds the page written
    app.connect("build-finished", write_front_door, priority=400)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
