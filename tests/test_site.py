"""The built site in a real browser: headless Chromium opens every page of `_build/html` (the book
built once per session by conftest.py, or LMTHEORY_BUILT_BOOK) through a local web server, waits for
MathJax, and checks what a reader would see: no missing image, script or stylesheet, no broken
internal link or anchor, no error output, no raw TeX, a title on every page, nothing in the browser
console. It saves a screenshot of every page of the table of contents into screenshots/ (kept out of
git by .gitignore).

It also lays the pages out as a phone (390 px wide) and a laptop (1366 px) would: on the phone no page
scrolls sideways, and a click on the header's buttons opens the chapter list and the page contents;
on the laptop the chapter list's button folds the list away and back. On chapter 4 it drags the live
eps slider (``lmtheory.sitefigures``, drawn by the site's own plotly.js) and checks that the plotted
values move, with no kernel behind the page; on chapter 2 it picks another prompt in the zero-shot
figure's menu and checks that the bars change.

Needs the Debian packages chromium and chromium-driver (.ci/run installs them) and selenium.
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from conftest import ROOT, toc_entries
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

pytestmark = pytest.mark.book

SHOTS = ROOT / "screenshots"
MATHJAX_WAIT_S = 30
# Text that MathJax should have turned into math: $...$, \( \), \[ \], \begin{...}, or a TeX command.
RAW_TEX = re.compile(r"\$[^$\s][^$\n]{0,200}\$|\\\(|\\\[|\\begin\{|\\(mathbb|mathcal|mathrm|frac|sqrt|epsilon|"
                     r"lVert|rVert|operatorname|sum|top|le|ge|infty|log|exp|Phi|tau|gamma)\b")

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


def site_pages(html: Path) -> list[str]:
    """Every page of the built site, as paths relative to ``html`` (no assets, no sources)."""
    pages = sorted(str(p.relative_to(html)) for p in html.rglob("*.html")
                   if not {"_static", "_sources", "_images"} & set(p.relative_to(html).parts))
    assert pages, f"no pages in {html}"
    return pages


@pytest.fixture(scope="module")
def visits(html, server, browser) -> dict[str, dict]:
    """Open every page of the site once; page (relative path) -> what the page showed."""
    pages = site_pages(html)
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
        info["console"] = [e["message"] for e in browser.get_log("browser")]
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


# ------------------------------------------------------------------------------- on a phone and a laptop

PHONE, LAPTOP = 390, 1366  # CSS pixels: an iPhone 12 to 15 held upright, and a common laptop screen
MIN_CELL_PADDING = 6  # CSS pixels beside the text of every table cell (Sphinx's default gives 1)

# Runs in the page: how wide the document is against the window and, if it is wider, the outermost
# elements that reach past the window's right edge outside any box of their own that scrolls or clips
# (fixed ones, such as the theme's folded sidebars, do not widen the page); and the smallest padding
# beside the text of a table cell.
SIDEWAYS = r"""
const width = window.innerWidth, scroll = document.documentElement.scrollWidth, wide = [];
const cells = [...document.querySelectorAll(".bd-article :is(td, th)")].map(getComputedStyle);
const padding = Math.min(...cells.map(c => Math.min(parseFloat(c.paddingLeft), parseFloat(c.paddingRight))));
const clipped = el => {
  for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
    if (getComputedStyle(a).overflowX !== "visible") return true;
  }
  return false;
};
const past = el => el.getBoundingClientRect().right > width + 1;
for (const el of scroll > width ? document.body.querySelectorAll("*") : []) {
  if (past(el) && !past(el.parentElement) && !clipped(el) && getComputedStyle(el).position !== "fixed"
      && wide.length < 5) {
    const name = el.tagName.toLowerCase() + [...el.classList].map(c => "." + c).join("");
    const right = Math.round(el.getBoundingClientRect().right);
    wide.push(`${name} reaches ${right} px: ${el.textContent.trim().slice(0, 60)}`);
  }
}
return {width: width, scroll: scroll, wide: wide, padding: cells.length ? padding : null};
"""

# Runs in the page: the targets (href) of the visible links inside the element that arguments[0] selects.
VISIBLE_LINKS = r"""
const box = document.querySelector(arguments[0]);
return box ? [...box.querySelectorAll("a[href]")]
  .filter(a => a.getClientRects().length && getComputedStyle(a).visibility !== "hidden")
  .map(a => a.getAttribute("href")) : [];
"""


@contextmanager
def viewport(browser, width: int, height: int = 844):
    """Lay pages out ``width`` x ``height`` CSS pixels wide (Chromium's device emulation) inside the block."""
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    try:
        yield
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def visible_button(browser, selector: str):
    """The one button matching ``selector`` that the reader can see (the themes also render hidden ones)."""
    shown = [b for b in browser.find_elements(By.CSS_SELECTOR, selector) if b.is_displayed()]
    width = browser.execute_script("return innerWidth")
    assert len(shown) == 1, f"{len(shown)} visible buttons {selector} at {width} px"
    return shown[0]


def is_open(browser, dialog: str) -> bool:
    """Whether the <dialog> that ``dialog`` selects is open."""
    return browser.execute_script("const d = document.querySelector(arguments[0]); return !!(d && d.open);", dialog)


@pytest.fixture(scope="module")
def chapter_page(html) -> str:
    """A chapter's page (the first notebook of the book), relative to the site's root."""
    chapters = [f"{e}.html" for e in toc_entries() if (ROOT / f"{e}.ipynb").exists()]
    assert chapters and (html / chapters[0]).is_file(), f"no chapter page in {html}"
    return chapters[0]


def test_the_chapter_list_and_the_page_contents_open_on_a_phone(server, browser, chapter_page):
    """At 390 px both sidebars are hidden; a click on their buttons opens each one as a dialog."""
    toc_pages = {f"{e}.html" for e in toc_entries()}
    with viewport(browser, PHONE):
        browser.get(server + chapter_page)
        assert not is_open(browser, "#pst-primary-sidebar-modal"), "the chapter list is open before any click"
        assert not browser.execute_script(VISIBLE_LINKS, "#pst-primary-sidebar"), "the chapter list shows at 390 px"

        visible_button(browser, ".primary-toggle").click()
        WebDriverWait(browser, 5).until(lambda b: is_open(b, "#pst-primary-sidebar-modal"),
                                        "the chapter list did not open")
        shown = {urlsplit(urljoin(server + chapter_page, href)).path.lstrip("/")
                 for href in browser.execute_script(VISIBLE_LINKS, "#pst-primary-sidebar-modal")}
        SHOTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(SHOTS / "phone_chapter_list.png"))
        missing = sorted(toc_pages - shown)
        assert not missing, f"the opened chapter list does not show {missing}"
        browser.switch_to.active_element.send_keys(Keys.ESCAPE)
        WebDriverWait(browser, 5).until(lambda b: not is_open(b, "#pst-primary-sidebar-modal"),
                                        "Escape did not close the chapter list")

        visible_button(browser, ".secondary-toggle").click()
        WebDriverWait(browser, 5).until(lambda b: is_open(b, "#pst-secondary-sidebar-modal"),
                                        "the page contents did not open")
        anchors = [href for href in browser.execute_script(VISIBLE_LINKS, "#pst-secondary-sidebar-modal")
                   if href.startswith("#")]
        browser.save_screenshot(str(SHOTS / "phone_page_contents.png"))
        assert len(anchors) >= 2, f"the opened page contents list {anchors}, not the page's sections"


def test_the_chapter_list_folds_away_on_a_laptop(server, browser, chapter_page):
    """At 1366 px the chapter list and the page contents are shown; the list's button hides and shows it."""
    with viewport(browser, LAPTOP, 900):
        browser.get(server + chapter_page)
        assert browser.execute_script(VISIBLE_LINKS, "#pst-primary-sidebar"), "no chapter list at 1366 px"
        assert [href for href in browser.execute_script(VISIBLE_LINKS, "#pst-secondary-sidebar")
                if href.startswith("#")], "no page contents at 1366 px"
        toggle = visible_button(browser, ".primary-toggle")
        toggle.click()
        WebDriverWait(browser, 5).until(lambda b: not b.execute_script(VISIBLE_LINKS, "#pst-primary-sidebar"),
                                        "the chapter list did not fold away")
        assert not is_open(browser, "#pst-primary-sidebar-modal"), "a dialog opened instead of the list folding"
        toggle.click()
        WebDriverWait(browser, 5).until(lambda b: b.execute_script(VISIBLE_LINKS, "#pst-primary-sidebar"),
                                        "the chapter list did not come back")


def test_no_page_scrolls_sideways_on_a_phone_and_tables_have_padding(html, server, browser):
    """At 390 px no page is wider than the screen (wide tables and equations scroll in their own box,
    long inline code and links wrap), and no table cell's text touches its neighbour's. Saves what a
    phone shows first of every page of the table of contents (screenshots/phone__<page>.png)."""
    problems = {}
    shots = {f"{entry}.html" for entry in toc_entries()}
    SHOTS.mkdir(exist_ok=True)
    with viewport(browser, PHONE):
        for name in site_pages(html):
            browser.get(server + name)
            browser.execute_async_script(WAIT_FOR_MATHJAX)  # typeset math has its final width
            if name in shots:
                browser.save_screenshot(str(SHOTS / ("phone__" + name.removesuffix(".html").replace("/", "__") + ".png")))
            found = browser.execute_script(SIDEWAYS)
            assert found["width"] == PHONE, f"the window is {found['width']} px wide, not {PHONE}"
            problems[name] = [f"{found['scroll']} px wide"] + found["wide"] if found["scroll"] > PHONE else []
            if found["padding"] is not None and found["padding"] < MIN_CELL_PADDING:
                problems[name].append(f"a table cell with {found['padding']:.1f} px of padding beside its text")
    assert not any(problems.values()), f"pages wider than {PHONE} px or with cramped tables:\n" + _report(problems)


# ------------------------------------------------------------------------------- chapter 4's live eps slider

# Runs in the page: where the live figure's slider and menu stand, and what its shown traces plot.
PLOT_STATE = r"""
const gd = document.querySelector(".plotly-graph-div");
if (!gd || !gd._fullLayout || !gd._fullLayout.sliders) return null;
const shown = gd.data.filter(t => t.visible === true);
return {
  slider: gd._fullLayout.sliders[0].active,
  steps: gd.layout.sliders[0].steps.length,
  menu: gd._fullLayout.updatemenus[0].active,
  bars: shown.filter(t => t.type === "bar").map(t => Array.from(t.y)),
  stars: shown.filter(t => t.marker && t.marker.symbol === "star").map(t => Array.from(t.x)),
  scripts: [...document.querySelectorAll("script[src*='plotly']")].map(s => s.getAttribute("src")),
};
"""


def test_chapter_4s_eps_slider_moves_the_figure_without_a_kernel(html, server, browser):
    """The built chapter 4 page, served as plain files (no kernel anywhere), draws the precomputed figure
    of ``lmtheory.sitefigures`` with the site's own plotly.js. A click at the right end of its slider
    moves eps to the grid's largest value, and the bars (the adversary's loss grows) and the stars move;
    picking another (gamma, B) in its menu changes tau's bar."""
    page = next(f"{e}.html" for e in toc_entries() if e.endswith("ch04_sqrt_eps"))
    with viewport(browser, LAPTOP, 900):
        browser.get(server + page)
        WebDriverWait(browser, 20).until(lambda b: b.execute_script(PLOT_STATE), "the live figure was not drawn")
        before = browser.execute_script(PLOT_STATE)
        assert before["scripts"] and not any(urlsplit(src).scheme for src in before["scripts"]), \
            f"plotly.js is not served by the site: {before['scripts']}"
        assert len(before["bars"]) == 1 and before["slider"] < before["steps"] - 1, before

        rail = browser.find_element(By.CSS_SELECTOR, ".plotly-graph-div .slider-rail-touch-rect")
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", rail)
        ActionChains(browser).move_to_element_with_offset(rail, rail.size["width"] // 2 - 2, 0).click().perform()
        WebDriverWait(browser, 5).until(lambda b: b.execute_script(PLOT_STATE)["slider"] == before["steps"] - 1,
                                        "a click at the slider's right end did not move it there")
        after = browser.execute_script(PLOT_STATE)
        SHOTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(SHOTS / "ch04_live_slider.png"))
        tau, fixed = before["bars"][0][:2]
        assert after["bars"][0][0] == tau and after["bars"][0][1] > fixed, (before["bars"], after["bars"])
        assert after["stars"][0][0] > before["stars"][0][0], (before["stars"], after["stars"])

        ActionChains(browser).click(browser.find_element(By.CSS_SELECTOR, ".plotly-graph-div .updatemenu-header")
                                    ).perform()
        ActionChains(browser).click(browser.find_elements(By.CSS_SELECTOR, ".plotly-graph-div .updatemenu-dropdown-button")[0]
                                    ).perform()
        WebDriverWait(browser, 5).until(lambda b: b.execute_script(PLOT_STATE)["menu"] == 0,
                                        "choosing the menu's first (gamma, B) did nothing")
        other = browser.execute_script(PLOT_STATE)
        assert len(other["bars"]) == 1 and other["bars"][0][0] != tau, (after["bars"], other["bars"])


# ------------------------------------------------------------------------------- chapter 2's live zero-shot grid

# Runs in the page: the zero-shot figure's menu entry and what its bars plot.
MENU_STATE = r"""
const gd = document.querySelector(".plotly-graph-div");
if (!gd || !gd._fullLayout || !gd._fullLayout.updatemenus) return null;
return {menu: gd._fullLayout.updatemenus[0].active, entries: gd.layout.updatemenus[0].buttons.length,
        bars: gd.data.filter(t => t.type === "bar").map(t => Array.from(t.y))};
"""


def test_chapter_2s_zero_shot_menu_changes_the_bars_without_a_kernel(html, server, browser):
    """The built chapter 2 page draws the precomputed zero-shot grid; picking the menu's last prompt (no
    prompt at all) changes the bars, with no kernel behind the page. At phone width the figure fits."""
    page = next(f"{e}.html" for e in toc_entries() if e.endswith("ch02_natural_tasks"))
    for width in (PHONE, LAPTOP):
        with viewport(browser, width, 900):
            browser.get(server + page)
            WebDriverWait(browser, 20).until(lambda b: b.execute_script(MENU_STATE), "the zero-shot figure was not drawn")
            before = browser.execute_script(MENU_STATE)
            assert before["menu"] == 0 and before["entries"] >= 2 and len(before["bars"]) == 3, before
            header = browser.find_element(By.CSS_SELECTOR, ".plotly-graph-div .updatemenu-header")
            browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", header)
            ActionChains(browser).click(header).perform()
            ActionChains(browser).click(browser.find_elements(
                By.CSS_SELECTOR, ".plotly-graph-div .updatemenu-dropdown-button")[-1]).perform()
            WebDriverWait(browser, 5).until(lambda b: b.execute_script(MENU_STATE)["menu"] == before["entries"] - 1,
                                            "choosing the menu's last prompt did nothing")
            after = browser.execute_script(MENU_STATE)
            assert after["bars"] != before["bars"], (before["bars"], after["bars"])
            assert all(0 <= y <= 1 for bars in after["bars"] for y in bars), after["bars"]
            figure = browser.find_element(By.CSS_SELECTOR, ".plotly-graph-div")
            assert figure.size["width"] <= width, f"the figure is {figure.size['width']} px wide at {width} px"
            SHOTS.mkdir(exist_ok=True)
            browser.save_screenshot(str(SHOTS / f"ch02_live_zero_shot_{width}.png"))
