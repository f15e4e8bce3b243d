"""Sphinx extension: serve plotly.js from the built site itself, for the figures of ``lmtheory.sitefigures``.

When the build starts, this extension makes sure ``plotly.min.js`` of the npm package
``plotly.js-dist-min`` (version below, checked against the registry's sha512) is in
``lmtheory.offline.cache_dir()/plotly.js-VERSION/plotly/`` and adds that folder to ``html_static_path``;
Sphinx copies it to ``_build/html/_static/plotly/plotly.min.js``. Only the pages that hold such a figure
(an element of class ``plotly-graph-div``) load it, in their ``<head>``, before the figure's own
script runs. There is no CDN: if the file cannot be fetched (no network and no cache), the build says
so and the figures show their note instead of the plot (``sitefigures.NO_PLOTLY``).

VERSION is the plotly.js that plotly (the Python package) 7.1 bundles, the one the figures are made
with; ``sitefigures`` uses only long-standing attributes (scatter, bar, sliders, menus, shapes).
"""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

from sphinx.util import logging

VERSION = "4.1.1"
TARBALL = f"https://registry.npmjs.org/plotly.js-dist-min/-/plotly.js-dist-min-{VERSION}.tgz"
SHA512 = "4Jg6n9FKcn5WBuqHESZmueEBYOLjGlsz8ivzMCl03WCX+GAAOgIALvdONwIi54JDMq0tkxbu+vs5Yj7QSPQtgg=="
SCRIPT = "plotly/plotly.min.js"  # inside _static
MARKER = 'class="plotly-graph-div'  # what plotly figures' HTML holds

logger = logging.getLogger(__name__)


def static_folder() -> Path:
    """A folder holding ``plotly/plotly.min.js``, taken once from the npm tarball into the cache."""
    from lmtheory.atomic import atomic_file
    from lmtheory.offline import cache_dir, fetch_url

    root = cache_dir() / f"plotly.js-{VERSION}"
    target = root / SCRIPT
    if not target.is_file():
        with tarfile.open(fetch_url(TARBALL, sha512=SHA512)) as tar:
            script = tar.extractfile("package/plotly.min.js").read()
        with atomic_file(target) as temporary:
            temporary.write_bytes(script)
    return root


def serve_plotly(app) -> None:
    """Add the cached plotly.js to the site's static files (HTML builds only)."""
    app.env.lmtheory_plotly = False
    if app.builder.format != "html":
        return
    try:
        folder = static_folder()
    except Exception as error:  # noqa: BLE001 (any failure: say why, keep building)
        logger.info(f"local plotly.js unavailable ({error}); interactive figures will show a note instead")
        return
    app.config.html_static_path.append(str(folder))
    app.env.lmtheory_plotly = True


def load_on_figure_pages(app, pagename, templatename, context, doctree) -> None:
    """Load plotly.js on a page whose body holds a plotly figure."""
    if getattr(app.env, "lmtheory_plotly", False) and MARKER in context.get("body", ""):
        app.add_js_file(SCRIPT)


def setup(app):
    app.connect("builder-inited", serve_plotly)
    app.connect("html-page-context", load_on_figure_pages)
    return {"version": VERSION, "parallel_read_safe": True, "parallel_write_safe": True}
