"""The book as a PDF (`make pdf` -> _build/pdf/book.pdf), read back with pypdf.

Every chapter title in _toc.yml order after the contents, maths typeset (no raw TeX in the
text), every figure of a sample chapter embedded as an image on its pages, the explorers' first
frame with the line saying where the live version is, the solutions in their appendix.
`make test` builds the PDF first where a headless chromium is found; elsewhere these tests skip
with one line, unless RNNLAB_REQUIRE_PDF=1 (CI).
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest
import yaml
from optional_parts import require

ROOT = Path(__file__).resolve().parents[1]
PDF = ROOT / "_build" / "pdf" / "book.pdf"
HTML = ROOT / "_build" / "html"
SAMPLE = "chapters/02_forward_pass/forward_pass"


def _norm(text: str) -> str:
    """Whitespace collapsed; NFKC undoes the ligatures (fi, fl) of extracted text."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def _toc_docs() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return re.findall(r"\bfile: (\S+)", yaml.safe_dump(toc, sort_keys=False))


def _source_title(doc: str) -> str:
    """The first '# ' heading of a chapter's source (notebook or MyST file)."""
    path = ROOT / f"{doc}.ipynb"
    if path.exists():
        cells = json.loads(path.read_text())["cells"]
        text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    else:
        text = (ROOT / f"{doc}.md").read_text()
    match = re.search(r"^# (.+)$", text, re.M)
    assert match, f"{doc} has no title"
    return re.sub(r"[*_`]", "", match.group(1)).strip()


@pytest.fixture(scope="module")
def reader():
    require("pdf", PDF.exists(), "no _build/pdf/book.pdf: `make pdf` builds it (make test does "
            "where a headless chromium is found)")
    from pypdf import PdfReader

    return PdfReader(str(PDF))


@pytest.fixture(scope="module")
def pages(reader) -> list[str]:
    return [_norm(page.extract_text() or "") for page in reader.pages]


def _chapter_starts(pages: list[str]) -> dict[str, int]:
    """0-based page where each toc document's numbered title opens a page, after the contents."""
    starts: dict[str, int] = {}
    at = 2
    for doc in _toc_docs():
        title = _norm(_source_title(doc))
        for index in range(at, len(pages)):
            if title in pages[index][: len(title) + 12]:
                starts[doc] = at = index
                break
    return starts


def test_page_count_is_plausible(reader):
    assert 40 <= len(reader.pages) <= 400, len(reader.pages)


def test_contents_then_every_chapter_in_order(pages):
    assert pages[1].startswith("Contents")
    starts = _chapter_starts(pages)
    missing = [d for d in _toc_docs() if d not in starts]
    assert missing == [], f"chapters whose numbered title opens no page, in order: {missing}"
    order = [starts[d] for d in _toc_docs()]
    assert order == sorted(order) and len(set(order)) == len(order)
    # The contents list the chapters with the pages they start on.
    for doc in _toc_docs():
        title = _norm(_source_title(doc))
        assert re.search(re.escape(title) + rf" {starts[doc] + 1}\b", pages[1]), title


def _toc_numbers() -> dict[str, str]:
    """Each toc document's number as the book prints it: chapters 1, 2, … across the parts, their
    sections 5.1, 5.2, … (read from _toc.yml's structure, so a new section needs no edit here)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    numbers: dict[str, str] = {}
    chapters = [c for part in toc["parts"] for c in part["chapters"]]
    for n, chapter in enumerate(chapters, start=1):
        numbers[chapter["file"]] = str(n)
        for k, section in enumerate(chapter.get("sections", []), start=1):
            numbers[section["file"]] = f"{n}.{k}"
    return numbers


def test_chapters_are_numbered(pages):
    starts = _chapter_starts(pages)
    numbers = _toc_numbers()
    assert sorted(numbers) == sorted(_toc_docs())
    assert any("." in n for n in numbers.values())  # sections are checked too
    for doc, number in numbers.items():
        assert pages[starts[doc]].startswith(f"{number} "), (doc, number, pages[starts[doc]][:60])


def test_maths_is_typeset(pages):
    text = " ".join(pages)
    for raw in ("$$", "\\frac", "\\(", "\\[", "\\begin{", "\\mathbf"):
        assert raw not in text, f"raw TeX {raw!r} in the PDF's text"


def test_every_figure_of_a_sample_chapter_is_embedded(reader, pages):
    from bs4 import BeautifulSoup

    page = HTML / f"{SAMPLE}.html"
    require("pdf", page.exists(), "the HTML book is not built (make book)")
    article = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser").select_one("main")
    figures = [img for img in article.find_all("img")
               if not img.find_parent(class_="dropdown")]  # solutions move to the appendix
    assert figures, "the sample chapter has figures"
    starts = _chapter_starts(pages)
    docs = _toc_docs()
    first = starts[SAMPLE]
    last = starts[docs[docs.index(SAMPLE) + 1]]
    embedded = sum(len(reader.pages[i].images) for i in range(first, last))
    assert embedded >= len(figures), f"{embedded} images on its pages, {len(figures)} figures"


def test_explorers_show_where_the_live_version_is(pages):
    text = " ".join(pages)
    explorers = sum((p.read_text(encoding="utf-8").count('class="rnnlab-explorer"')
                     for p in HTML.rglob("chapters/**/*.html")), 0)
    require("pdf", explorers > 0, "the HTML book is not built (make book)")
    lines = text.count("This is the explorer's first frame. The live version, with sliders, is "
                       "in the HTML book")
    assert lines == explorers
    assert "mybinder.org/v2/gh/" in text


def test_solutions_are_in_their_appendix(pages):
    text = " ".join(pages)
    pointers = text.count("Solution: in the appendix")
    assert pointers > 10
    appendix = next(i for i, p in enumerate(pages) if p.startswith("Solutions to the exercises"))
    assert appendix > _chapter_starts(pages)[_toc_docs()[-1]]
    assert " ".join(pages[appendix:]).count("Solution ") >= pointers
