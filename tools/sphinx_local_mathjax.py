"""Sphinx extension: serve MathJax 3 from the built site itself, so the math renders without a CDN.

``_config.yml`` sets ``mathjax_path: mathjax/tex-mml-chtml.js`` (a path inside ``_static``). When the
build starts, this extension makes sure the npm package ``mathjax`` (version below, checked against
the registry's sha512) is unpacked in ``lmtheory.offline.cache_dir()/mathjax-VERSION`` and adds that
folder to ``html_static_path``; Sphinx then copies it into ``_build/html/_static/mathjax``. The site
works the same online and offline. If the package cannot be fetched (no network and no cache), the
build says so and falls back to the CDN, so it never fails for that reason alone.
"""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

from sphinx.util import logging

VERSION = "3.2.2"
TARBALL = f"https://registry.npmjs.org/mathjax/-/mathjax-{VERSION}.tgz"
SHA512 = "Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw=="
CDN = f"https://cdn.jsdelivr.net/npm/mathjax@{VERSION}/es5/tex-mml-chtml.js"
# From the package's es5/ folder: the combined file Sphinx loads, and the folders it loads on demand
# (fonts, TeX extensions such as \boldsymbol, the menu and accessibility parts).
KEEP_FILES = {"tex-mml-chtml.js"}
KEEP_DIRS = {"a11y", "adaptors", "input", "output", "sre", "ui"}

logger = logging.getLogger(__name__)


def static_folder() -> Path:
    """A folder holding ``mathjax/`` (the kept part of ``es5/``), unpacked once into the cache."""
    from lmtheory.offline import cache_dir, fetch_url

    root = cache_dir() / f"mathjax-{VERSION}"
    done = root / "mathjax" / "tex-mml-chtml.js"
    if done.is_file():
        return root
    partial = root.with_name(root.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    with tarfile.open(fetch_url(TARBALL, sha512=SHA512)) as tar:
        for member in tar.getmembers():
            parts = Path(member.name).parts  # package/es5/<first>/...
            if member.isfile() and len(parts) > 2 and parts[1] == "es5" and (
                    (len(parts) == 3 and parts[2] in KEEP_FILES) or parts[2] in KEEP_DIRS):
                target = partial / "mathjax" / Path(*parts[2:])
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(tar.extractfile(member).read())
    shutil.rmtree(root, ignore_errors=True)
    partial.replace(root)  # complete or absent, never half unpacked
    return root


def use_local_mathjax(app) -> None:
    if app.builder.format != "html" or "://" in (app.config.mathjax_path or "://"):
        return
    try:
        folder = static_folder()
    except Exception as error:  # noqa: BLE001 (any failure: fall back, say why, keep building)
        logger.info(f"local MathJax unavailable ({error}); the site loads MathJax from {CDN}")
        app.config.mathjax_path = CDN
        return
    app.config.html_static_path.append(str(folder))


def setup(app):
    app.connect("builder-inited", use_local_mathjax)
    return {"version": VERSION, "parallel_read_safe": True, "parallel_write_safe": True}
