"""Every built HTML page, checked without a browser (so it runs on every machine).

Parses each page of _build/html (run `make book` first; `make test` builds it) and asserts:
a non-empty <title>; exactly one H1 on screen (the theme's print-only copy of the title,
`.onlyprint`, is not shown on screen); no raw TeX left in the text (maths sits in MathJax's
`.math` elements, code in `pre`/`code`); every local link, image, script and stylesheet resolves
to a file of the build, and every `#fragment` into a page of the book names an id on it; no
script, stylesheet, image or frame is loaded from a host outside the book (links *to* Binder,
Colab or GitHub are fine: a reader clicks them, the page does not fetch them).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
# Folders of assets, not pages.
ASSET_DIRS = {"_static", "_sources", "_images", "mathjax", "_screenshots", "_sphinx_design_static"}
PAGES = sorted(str(p.relative_to(HTML)) for p in HTML.rglob("*.html")
               if not ASSET_DIRS & set(p.relative_to(HTML).parts)) if HTML.exists() else []
# Elements whose URL the browser fetches while loading the page.
FETCHED = [("script", "src"), ("link", "href"), ("img", "src"), ("iframe", "src"),
           ("source", "src"), ("video", "src"), ("audio", "src"), ("embed", "src"),
           ("object", "data")]
# <link rel=...> that the browser does not fetch: navigation hints only.
NOT_FETCHED_RELS = {"index", "search", "next", "prev", "canonical", "alternate", "author",
                    "license", "help", "top", "up", "first", "last", "copyright"}
RAW_TEX = re.compile(r"\\\(|\\\[|\$\$|(?<![\w$])\$[^$\s][^$\n]{0,60}\$"
                     r"|\\(?:frac|sum|prod|partial|nabla|mathbf|mathrm|begin|end|left|right|"
                     r"sigma|tanh|alpha|beta|theta|lambda|odot|cdot|top|sqrt|int|hat|tilde)\b")


@cache
def _soup(page: str) -> BeautifulSoup:
    return BeautifulSoup((HTML / page).read_text(encoding="utf-8"), "html.parser")


@cache
def _ids(page: str) -> frozenset[str]:
    return frozenset(e["id"] for e in _soup(page).find_all(id=True))


def _is_redirect(soup: BeautifulSoup) -> bool:
    return soup.find("meta", attrs={"http-equiv": re.compile("refresh", re.I)}) is not None


def _visible(soup: BeautifulSoup) -> BeautifulSoup:
    """A copy without print-only elements."""
    copy = BeautifulSoup(str(soup), "html.parser")
    for e in copy.select(".onlyprint"):
        e.decompose()
    return copy


def _local_target(page: str, url: str) -> tuple[Path, str] | None:
    """(file, fragment) a local URL points at, or None for another host/scheme."""
    parsed = urlparse(url)
    if parsed.scheme or parsed.netloc:
        return None
    base = (HTML / page).parent
    target = (base / unquote(parsed.path)).resolve() if parsed.path else (HTML / page).resolve()
    if target.is_dir():
        target = target / "index.html"
    return target, parsed.fragment


@pytest.fixture(scope="module", autouse=True)
def _built():
    if not PAGES:
        pytest.skip("the book is not built: run make book (make test builds it first)")


@pytest.mark.parametrize("page", PAGES or ["(not built)"])
def test_title_and_one_h1(page):
    soup = _soup(page)
    if _is_redirect(soup):
        meta = soup.find("meta", attrs={"http-equiv": re.compile("refresh", re.I)})
        url = meta["content"].split("url=", 1)[1]
        assert (HTML / page).parent.joinpath(url).exists(), f"{page} redirects to {url}"
        return
    title = soup.title.get_text(strip=True) if soup.title else ""
    assert title, f"{page} has an empty <title>"
    h1s = _visible(soup).find_all("h1")
    names = [h.get_text(strip=True) for h in h1s]
    assert len(h1s) == 1, f"{page}: {len(h1s)} H1s on screen: {names}"
    assert h1s[0].get_text(strip=True), f"{page}: the H1 is empty"


@pytest.mark.parametrize("page", PAGES or ["(not built)"])
def test_no_raw_tex(page):
    body = _visible(_soup(page)).find("main") or _visible(_soup(page)).body
    if body is None:
        return
    for e in body.select("pre, code, script, style, .math, .highlight, .output, textarea"):
        e.decompose()
    text = body.get_text(" ")
    raw = RAW_TEX.findall(text)
    assert raw == [], f"{page}: raw TeX outside maths: {raw[:5]}"


@pytest.mark.parametrize("page", PAGES or ["(not built)"])
def test_local_links_and_assets_resolve(page):
    soup = _soup(page)
    broken = []
    urls = [(a["href"], True) for a in soup.find_all("a", href=True)]
    urls += [(e[attr], False) for tag, attr in FETCHED for e in soup.find_all(tag)
             if e.get(attr)]
    for url, is_link in urls:
        if url.startswith(("data:", "mailto:", "javascript:")):
            continue
        local = _local_target(page, url)
        if local is None:
            continue
        target, fragment = local
        if not target.exists():
            broken.append(url)
        elif is_link and fragment and target.suffix == ".html" and HTML in target.parents:
            if fragment not in _ids(str(target.relative_to(HTML))):
                broken.append(url)
    assert broken == [], f"{page}: local links or files that do not resolve: {broken[:10]}"


@pytest.mark.parametrize("page", PAGES or ["(not built)"])
def test_nothing_is_loaded_from_another_host(page):
    soup = _soup(page)
    outside = []
    for tag, attr in FETCHED:
        for e in soup.find_all(tag):
            url = e.get(attr)
            if not url:
                continue
            if tag == "link" and NOT_FETCHED_RELS & set(e.get("rel") or []):
                continue
            if urlparse(url).netloc or url.startswith("//"):
                outside.append(f"<{tag} {attr}={url}>")
    assert outside == [], f"{page} loads from outside the book (it must work offline): {outside}"


def test_every_toc_page_was_built():
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = re.findall(r"(?:file|root): (\S+)", yaml.safe_dump(toc))
    missing = [f for f in files if f"{f}.html" not in PAGES]
    assert files and missing == [], f"pages in _toc.yml missing from the build: {missing}"
