"""The built book in a real browser (Playwright driving Debian's headless chromium).

Serves _build/html on 127.0.0.1 and visits every page with every non-local request blocked
(the book must be readable offline). On each page: no console errors, no failed requests, every
image loaded, maths typeset, title and previous/next navigation present. The search page finds
results, and the chapter 4, 5 and 6 (attention) explorers' sliders change the figure. Screenshots
of the landing page and the chapter 4 explorer are saved into _build/html/_screenshots/.

Needs `make book` first (make test builds it). The browser is a system chromium, or else the one
Playwright manages (tools/browser.py says which ran: it is in pytest's header). Without any, the
tests are collected and skip with one line naming what to install, unless RNNLAB_REQUIRE_BROWSER=1
(CI), which makes a missing browser a failure (tests/optional_parts.py).
"""

from __future__ import annotations

import functools
import http.server
import re
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml
from optional_parts import require

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tools import browser as browsers  # noqa: E402

HTML = ROOT / "_build" / "html"


def _pages() -> list[str]:
    """HTML paths of every page in _toc.yml, in reading order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            for key in ("root", "file"):
                if key in node:
                    files.append(node[key])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return [f + ".html" for f in files]


PAGES = _pages()

@pytest.fixture(scope="module")
def chromium() -> browsers.Browser:
    """The browser to drive; skips (or fails under RNNLAB_REQUIRE_BROWSER=1) when there is none.

    Checked before anything else, so that a machine without a browser skips every test here with
    the same one line."""
    found = browsers.find_chromium()
    require("browser", found is not None, browsers.why_missing())
    return found


@pytest.fixture(scope="module")
def server(chromium):
    require("browser", (HTML / "index.html").exists(), "the book is not built (run make book)")
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser(chromium, server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium.path, args=browsers.FLAGS, headless=True)
        yield b
        b.close()


class PageWatch:
    """A page whose console errors, failed and blocked requests are recorded."""

    def __init__(self, browser, server):
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.errors: list[str] = []
        self.failed: list[str] = []
        self.blocked: list[str] = []
        host = urlparse(server).netloc

        def route(r):
            if urlparse(r.request.url).netloc in (host, "") or r.request.url.startswith("data:"):
                r.continue_()
            else:
                self.blocked.append(r.request.url)
                r.abort()

        self.page.route("**/*", route)
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.failed.append(r.url))
        self.page.on("response", self._response)

    def _response(self, response) -> None:
        if response.status >= 400:
            self.failed.append(f"{response.status} {response.url}")

    def goto(self, url: str) -> None:
        self.page.goto(url, wait_until="load")
        self.page.wait_for_load_state("networkidle")


def _wait_for_mathjax(page) -> None:
    page.wait_for_function(
        "() => !window.MathJax || !MathJax.startup || !MathJax.startup.promise ? true : "
        "MathJax.startup.promise.then(() => true)", timeout=30000)


@pytest.mark.parametrize("path", PAGES)
def test_page(browser, server, path):
    w = PageWatch(browser, server)
    w.goto(f"{server}/{path}")
    page = w.page
    _wait_for_mathjax(page)
    assert page.title().strip(), "the page has a title"
    assert page.locator("h1").count() >= 1
    # every image has loaded
    broken = page.evaluate("""() => Array.from(document.images)
        .filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.src.slice(0, 80))""")
    assert broken == [], f"images that did not load: {broken}"
    # maths typeset: MathJax output present where the source had maths, no raw delimiters left
    has_math = page.locator(".math").count() > 0
    if has_math:
        assert page.locator("mjx-container").count() > 0, "MathJax output present"
    text = page.evaluate("""() => { const c = document.querySelector('main') || document.body;
        const clone = c.cloneNode(true);
        clone.querySelectorAll('pre, code, script, style, .highlight, mjx-container, .output')
             .forEach(e => e.remove());
        return clone.innerText; }""")
    raw = re.findall(r"\\\(|\\\[|\$\$|(?<![\w$])\$[^$\s][^$\n]{0,60}\$", text)
    assert raw == [], f"raw maths left in the page: {raw[:5]}"
    # previous / next navigation
    nav = page.locator(".prev-next-area a")
    index = PAGES.index(path)
    expected = (index > 0) + (index < len(PAGES) - 1)
    assert nav.count() >= expected, "previous/next links"
    if (ROOT / path.replace(".html", ".ipynb")).exists():
        # launch buttons (Binder, Colab) and the .ipynb download, derived from _config.yml
        repo = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
        slug = urlparse(repo).path.strip("/")
        hrefs = page.evaluate("() => Array.from(document.querySelectorAll('a')).map(a => a.href)")
        nb = path.replace(".html", ".ipynb")
        assert any("mybinder.org" in h and slug in h and nb in h for h in hrefs), "Binder"
        assert any("colab.research.google.com" in h and slug in h and nb in h for h in hrefs), \
            "Colab"
        assert any(h.endswith("_sources/" + nb) for h in hrefs), "download .ipynb"
    assert w.blocked == [], f"non-local requests (the book must work offline): {w.blocked}"
    assert w.failed == [], f"failed requests: {w.failed}"
    assert w.errors == [], f"console errors: {w.errors}"
    if index == 0:
        shots = HTML / "_screenshots"
        shots.mkdir(exist_ok=True)
        page.screenshot(path=str(shots / "landing.png"), full_page=False)
    page.close()


def test_search_page_finds_results(browser, server):
    w = PageWatch(browser, server)
    w.goto(f"{server}/search.html?q=gradient")
    w.page.wait_for_selector("#search-results li, ul.search li", timeout=30000)
    assert w.page.locator("#search-results li, ul.search li").count() > 0
    assert w.errors == [] and w.blocked == [] and w.failed == []


def _explorer_page(path: str) -> str:
    return next(p for p in PAGES if p.startswith(path))


# chapter 5's explorer is on its first page, lstm_gru (deep_bidirectional sorts before it)
@pytest.mark.parametrize("chapter", ["chapters/04_", "chapters/05_lstm_gru/lstm_gru",
                                     "chapters/06_applications/attention"])
def test_static_explorer_slider_changes_the_figure(browser, server, chapter):
    w = PageWatch(browser, server)
    w.goto(f"{server}/{_explorer_page(chapter)}")
    explorer = w.page.locator(".rnnlab-explorer").first
    assert explorer.count() == 1, "the explorer's static frames are on the page"
    explorer.scroll_into_view_if_needed()
    img = explorer.locator("img")
    before_src = img.get_attribute("src")
    before_png = img.screenshot()
    slider = explorer.locator('input[type="range"]').first
    slider.focus()
    value = int(slider.input_value())
    slider.press("ArrowLeft" if value > 0 else "ArrowRight")
    w.page.wait_for_function("(el) => el.getAttribute('data-frame') !== null",
                             arg=img.element_handle())
    after_src = img.get_attribute("src")
    after_png = img.screenshot()
    assert after_src != before_src, "moving the slider shows another frame"
    assert after_png != before_png, "and the pixels on screen change"
    if chapter == "chapters/04_":
        shots = HTML / "_screenshots"
        shots.mkdir(exist_ok=True)
        explorer.screenshot(path=str(shots / "chapter4_explorer.png"))
    assert w.errors == [] and w.blocked == [] and w.failed == []


# Every element a reader could take for a search box or button.
SEARCH_CONTROLS = ".search-button-field, .search-button, form.bd-search, input[type=search]"


@pytest.mark.parametrize("width", [1280, 1600])
@pytest.mark.parametrize("chapter", ["chapters/intro", "chapters/02_"])
def test_page_header_has_one_search_and_no_empty_band(browser, server, width, chapter):
    """sphinx-book-theme's layout: one search field (in the sidebar), no top bar that holds
    nothing else (pydata-sphinx-theme 0.17 adds one unless navbar_persistent is set)."""
    w = PageWatch(browser, server)
    w.page.set_viewport_size({"width": width, "height": 900})
    w.goto(f"{server}/{_explorer_page(chapter)}")
    found = w.page.evaluate("""(selector) => {
        const shown = e => { const r = e.getBoundingClientRect(), s = getComputedStyle(e);
            return r.width > 0 && r.height > 0 && s.display !== 'none'
                && s.visibility !== 'hidden' && s.opacity !== '0'; };
        const isSearch = e => e.matches(selector) || e.closest(selector) !== null;
        const searches = Array.from(document.querySelectorAll(selector)).filter(shown)
            .filter(e => !e.parentElement.closest(selector));
        const bands = Array.from(document.querySelectorAll(
                'header, .bd-header, .bd-header__inner, .bd-header-article'))
            .filter(shown).map(band => {
                const items = Array.from(band.querySelectorAll('a, button, input, img, svg'))
                    .filter(shown).filter(e => !isSearch(e));
                return {cls: band.className, height: band.getBoundingClientRect().height,
                        items: items.length};
            });
        return {searches: searches.map(e => e.className), bands};
    }""", SEARCH_CONTROLS)
    assert len(found["searches"]) == 1, f"visible search controls at {width}px: {found}"
    empty = [b for b in found["bands"] if b["items"] == 0]
    assert empty == [], f"header bands with nothing but search (or nothing) at {width}px: {empty}"
    assert w.errors == [] and w.blocked == [] and w.failed == []
    w.page.close()
