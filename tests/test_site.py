"""The built site in a real browser: headless Chromium opens every page of `_build/html` (the book
built once per session by conftest.py, or LMTHEORY_BUILT_BOOK) through a local web server, waits for
MathJax, and checks what a reader would see: no missing image, script or stylesheet, no broken
internal link or anchor, no error output, no raw TeX, a title on every page. It saves a screenshot
of every page of the table of contents into screenshots/ (kept out of git by .gitignore).

Needs the Debian packages chromium and chromium-driver (.ci/run installs them) and selenium.
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from conftest import ROOT, toc_entries
from selenium.webdriver.support.ui import WebDriverWait

pytestmark = pytest.mark.book

SHOTS = ROOT / "screenshots"
MATHJAX_WAIT_S = 30
# Text that MathJax should have turned into math: $...$, \( \), \[ \], \begin{...}, or a TeX command.
RAW_TEX = re.compile(r"\$[^$\s][^$\n]{0,200}\$|\\\(|\\\[|\\begin\{|\\(mathbb|mathcal|mathrm|frac|sqrt|epsilon|"
                     r"lVert|rVert|operatorname|sum|top|le|ge|infty|log|exp|Phi|tau|gamma)\b")
# Console errors of the book's toolchain that do the reader no harm (anything else fails the test):
# Jupyter Book 1 writes sphinx-thebe's config script twice on notebook pages (thebe stays unused:
# the launch buttons go to Colab), and pydata-sphinx-theme complains once about a fresh browser's
# empty light/dark setting before resetting it to auto.
HARMLESS_CONSOLE = re.compile(r"Identifier 'THEBE_JS_URL' has already been declared|Got invalid theme mode")

# Runs in the page once MathJax is done: everything the checks need, in one round trip.
COLLECT = r"""
const skip = "pre, code, script, style, textarea, mjx-container, .highlight, .MathJax";
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
const texts = [];
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  const parent = node.parentElement;
  if (parent && !parent.closest(skip) && node.textContent.trim()) texts.push(node.textContent);
}
const errors = [...document.querySelectorAll(
  ".cell_output .traceback, .cell_output .error, .output.traceback, .output.error, .system-message")]
  .map(e => e.textContent.trim().slice(0, 300));
return {
  title: document.title,
  h1: (document.querySelector("article.bd-article") || document.querySelector("main") || document.body)
    .querySelectorAll("h1").length,
  images: [...document.images].map(i => [i.getAttribute("src"), i.complete, i.naturalWidth]),
  links: [...document.querySelectorAll("a[href]")].map(a => a.getAttribute("href")),
  resources: [...document.querySelectorAll("script[src], link[rel=stylesheet][href]")]
    .map(e => e.getAttribute("src") || e.getAttribute("href")),
  math: document.querySelectorAll(".math, mjx-container").length,
  typeset: document.querySelectorAll("mjx-container").length,
  merrors: [...document.querySelectorAll("mjx-merror")].map(e => e.textContent.slice(0, 100)),
  errors: errors,
  texts: texts,
};
"""

WAIT_FOR_MATHJAX = r"""
const done = arguments[arguments.length - 1];
const started = Date.now();
(function poll() {
  const mj = window.MathJax;
  if (!document.querySelector("script[src*='tex-mml-chtml']")) {
    done(document.querySelector(".math") ? "math on the page but no MathJax script" : "no math");
  } else if (mj && mj.startup && mj.startup.promise) {
    mj.startup.promise.then(() => done("ok"), e => done("error: " + e));
  } else if (Date.now() - started > arguments_timeout) {
    done("MathJax never loaded");
  } else {
    setTimeout(poll, 100);
  }
})();
""".replace("arguments_timeout", str(MATHJAX_WAIT_S * 1000 - 2000))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(html):
    """A web server on localhost for the built site (fonts and scripts behave as on a real host)."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(html)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium driven by the Debian chromium-driver (no driver download)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver_path = shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        pytest.fail("headless Chromium is missing: apt-get install chromium chromium-driver (.ci/run does this)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1280,1600", "--hide-scrollbars"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "SEVERE"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(MATHJAX_WAIT_S)
    yield driver
    driver.quit()


def page_ids(path: Path, cache: dict = {}) -> set[str]:  # noqa: B006 (a deliberate per-process cache)
    if path not in cache:
        text = path.read_text(encoding="utf-8", errors="replace")
        cache[path] = set(re.findall(r'\s(?:id|name)="([^"]+)"', text))
    return cache[path]


def broken_link(html: Path, page: str, href: str) -> str | None:
    """Why an internal ``href`` on ``page`` (a path relative to ``html``) is broken, or None."""
    if not href or urlsplit(href).scheme or href.startswith("//"):
        return None  # external (https:, mailto:, data:, javascript:) links are not checked offline
    target = urlsplit(urljoin(f"http://site/{page}", href))
    path = html / unquote(target.path.lstrip("/"))
    if target.path.endswith("/"):
        path = path / "index.html"
    if not path.is_file():
        return f"{href}: no file {path.relative_to(html)}"
    anchor = unquote(target.fragment)
    if anchor and path.suffix == ".html" and anchor not in page_ids(path):
        return f"{href}: no anchor #{anchor} in {path.relative_to(html)}"
    return None


@pytest.fixture(scope="module")
def visits(html, server, browser) -> dict[str, dict]:
    """Open every page of the site once; page (relative path) -> what the page showed."""
    pages = sorted(str(p.relative_to(html)) for p in html.rglob("*.html")
                   if not {"_static", "_sources", "_images"} & set(p.relative_to(html).parts))
    assert pages, f"no pages in {html}"
    shots = {f"{entry}.html" for entry in toc_entries()}
    SHOTS.mkdir(exist_ok=True)
    seen = {}
    for name in pages:
        browser.get_log("browser")  # drop what earlier pages logged
        browser.get(server + name)
        if browser.execute_script("return !!document.querySelector('meta[http-equiv=Refresh i]')"):
            WebDriverWait(browser, 10).until(lambda b: b.current_url != server + name)  # a redirect page
        page = unquote(urlsplit(browser.current_url).path.lstrip("/")) or name  # after any redirect
        if page != name and not (html / page).is_file():
            pytest.fail(f"{name} redirects to {page}, which does not exist")
        status = browser.execute_async_script(WAIT_FOR_MATHJAX)
        info = browser.execute_script(COLLECT)
        info["mathjax"] = status
        info["console"] = [e["message"] for e in browser.get_log("browser")
                           if "favicon" not in e["message"] and not HARMLESS_CONSOLE.search(e["message"])]
        if page in shots:
            browser.save_screenshot(str(SHOTS / (page.removesuffix(".html").replace("/", "__") + ".png")))
        seen[name] = dict(info, shown=page)
    summary = "\n".join(seen)
    (SHOTS / "pages_checked.txt").write_text(f"{len(seen)} pages checked in a headless browser:\n{summary}\n")
    print(f"\nthe browser checked {len(seen)} pages of {html}")
    return seen


def _report(problems: dict[str, list]) -> str:
    return "\n".join(f"{page}:\n  " + "\n  ".join(map(str, found)) for page, found in problems.items() if found)


def test_every_toc_page_was_opened(visits):
    missing = [e for e in toc_entries() if f"{e}.html" not in visits]
    assert not missing, f"pages of _toc.yml missing from the site: {missing}"


def test_no_missing_images_scripts_or_stylesheets(visits, html):
    problems = {}
    for page, info in visits.items():
        found = [f"image {src} did not load" for src, complete, width in info["images"] if not complete or width == 0]
        found += [why for res in info["resources"] if (why := broken_link(html, info["shown"], res))]
        found += [f"console: {message}" for message in info["console"]]
        problems[page] = found
    assert not any(problems.values()), "missing images or resources:\n" + _report(problems)


def test_no_broken_internal_links(visits, html):
    problems = {page: sorted({why for href in info["links"] if (why := broken_link(html, info["shown"], href))})
                for page, info in visits.items()}
    assert not any(problems.values()), "broken internal links:\n" + _report(problems)


def test_no_error_outputs(visits):
    problems = {page: info["errors"] for page, info in visits.items()}
    assert not any(problems.values()), "error outputs on the page:\n" + _report(problems)


def test_math_is_rendered_and_no_raw_tex_is_left(visits):
    problems = {}
    for page, info in visits.items():
        found = [f"MathJax: {info['mathjax']}"] if info["mathjax"] not in ("ok", "no math") else []
        if info["math"] and not info["typeset"]:
            found.append(f"{info['math']} math elements but none typeset by MathJax")
        found += [f"TeX error: {text}" for text in info["merrors"]]
        found += [f"raw TeX {match.group(0)!r} in {text.strip()[:120]!r}"
                  for text in info["texts"] for match in [RAW_TEX.search(text)] if match]
        problems[page] = found
    assert not any(problems.values()), "math not rendered:\n" + _report(problems)


def test_chapter_pages_have_math_rendered_by_a_local_mathjax(visits):
    chapters = [f"{e}.html" for e in toc_entries() if (ROOT / f"{e}.ipynb").exists()]
    for page in chapters:
        info = visits[page]
        assert info["mathjax"] == "ok" and info["typeset"] > 0, f"{page}: no math typeset ({info['mathjax']})"
        local = [r for r in info["resources"] if "tex-mml-chtml.js" in r]
        assert local and not urlsplit(local[0]).scheme, f"{page}: MathJax is not served by the site: {local}"


def test_every_page_has_a_title(visits):
    untitled = [page for page, info in visits.items() if not info["title"].strip() or "<no title>" in info["title"]]
    assert not untitled, f"pages without a title: {untitled}"
    toc_pages = [f"{e}.html" for e in toc_entries()]
    wrong = {page: visits[page]["h1"] for page in toc_pages if visits[page]["h1"] != 1}
    assert not wrong, f"pages of the book should have exactly one top heading (# Title): {wrong}"


def test_a_screenshot_of_every_toc_page(visits):
    for entry in toc_entries():
        shot = SHOTS / (entry.replace("/", "__") + ".png")
        assert shot.is_file() and shot.stat().st_size > 10_000, f"no screenshot of {entry} at {shot}"


def test_the_notation_page_is_one_click_from_every_page(visits, html):
    notation = next((f"{e}.html" for e in toc_entries() if e.endswith("/notation")), None)
    assert notation, "_toc.yml has no notation page"
    far = []
    for page, info in visits.items():
        targets = {urlsplit(urljoin(f"http://site/{info['shown']}", href)).path.lstrip("/") for href in info["links"]}
        if page != notation and page in {f"{e}.html" for e in toc_entries()} and notation not in targets:
            far.append(page)
    assert not far, f"pages without a link to {notation}: {far}"
