"""Build the book as one PDF: `make pdf` runs `python -m tools.build_pdf` -> _build/pdf/book.pdf.

Route: Jupyter Book's single-page HTML (`--builder singlehtml`, the notebooks' outputs come from
the same execution cache as `make book`), printed to PDF by the headless chromium the browser
tests use (tools/browser.py finds it). So the PDF shows what the HTML book shows: maths typeset
by the same MathJax, the same figures, code cells with their text outputs. Before printing, the
page is prepared for paper:

* a title page and a table of contents with page numbers (two passes: the first print's PDF
  outline says on which page each chapter starts), chapters numbered in _toc.yml order (the
  sections of chapter 6 as 6.1, 6.2, ...), every chapter on a new page, page numbers in the footer;
* exercise solutions (the "Solution" dropdowns) move to an appendix, "Solutions to the
  exercises", by chapter; where each stood a line points there;
* the explorers show their initial frame, the slider values as text, and a line saying where
  the live version is (the HTML book, or the notebook on Binder);
* drawing code the HTML book hides (`hide-input`) stays hidden; navigation, sidebars and buttons
  are left out.

Why this route and not Jupyter Book's LaTeX builder: see README.md ("The book as a PDF").
Without a browser it fails with one line naming what to install; `--if-possible` (used by
`make test`) turns that into a notice and exit 0, unless RNNLAB_REQUIRE_PDF=1 (CI).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from pathlib import Path

import yaml

from tools import browser as browsers
from tools.build_book import cdn_config, vendor_mathjax

ROOT = Path(__file__).resolve().parents[1]
SINGLE = ROOT / "_build" / "singlehtml"
OUT = ROOT / "_build" / "pdf" / "book.pdf"
HTML = ROOT / "_build" / "html"
INSTALL = "apt-get install chromium (or: .venv/bin/python -m playwright install chromium)"


def toc_entries() -> tuple[str, list[dict]]:
    """(root docname, [{doc, number, part}]) from _toc.yml, in reading order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    entries: list[dict] = []
    number = 0
    for part in toc.get("parts", []):
        for chapter in part.get("chapters", []):
            number += 1
            entries.append({"doc": chapter["file"], "number": str(number),
                            "part": part.get("caption", "")})
            for k, section in enumerate(chapter.get("sections", []), start=1):
                entries.append({"doc": section["file"], "number": f"{number}.{k}", "part": ""})
    return toc["root"], entries


def binder_url(doc: str) -> str | None:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config["repository"]["url"].rstrip("/").removeprefix("https://github.com/")
    branch = config["repository"].get("branch", "main")
    if not (ROOT / f"{doc}.ipynb").exists():
        return None
    return f"https://mybinder.org/v2/gh/{repo}/{branch}?urlpath=lab/tree/{doc}.ipynb"


def build_singlehtml() -> Path:
    """Jupyter Book's single-page HTML of the whole book; returns the page."""
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb) if jb.exists() else "jupyter-book", "build", str(ROOT),
           "--builder", "singlehtml"]
    if not vendor_mathjax():
        print("notice: Node.js/npm (or the MathJax package) is missing: the PDF's maths needs "
              "MathJax from its CDN.")
        cmd += ["--config", str(cdn_config())]
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    root, _ = toc_entries()
    return SINGLE / f"{root}.html"


# Runs in the page before printing; `args` comes from Python.
PREPARE = r"""
(args) => {
  const doc = document;
  const style = doc.createElement('style');
  style.textContent = `
    @page { size: A4; margin: 18mm 16mm 18mm 16mm; }
    html { font-size: 10.5pt !important; }
    .bd-header, .bd-header-article, .bd-sidebar-primary, .bd-sidebar-secondary, .bd-footer,
    .bd-footer-article, .bd-footer-content, .prev-next-area, .copybtn, .toggle-button,
    .headerlink, #jb-print-docs-body, .bd-search, .search-button, .skip-link,
    details.above-input, .cell.tag_hide-input .cell_input, .tag_remove-input .cell_input,
    .sd-tab-set > input, .rnnlab-explorer input[type=range], .rnnlab-explorer script,
    #pst-back-to-top, .header-article-items { display: none !important; }
    .bd-main, .bd-content, .bd-article-container, .bd-article, .bd-container, .bd-page-width,
    .bd-container__inner { max-width: none !important; width: auto !important; margin: 0 !important;
      padding: 0 !important; display: block !important; }
    .pdf-chapter-start { break-before: page; }
    .pdf-chapter-start > :is(h1, h2, h3):first-of-type { font-size: 2em; margin-bottom: .8em; }
    h1, h2, h3 { break-after: avoid; }
    figure, img, .cell_output, .highlight, mjx-container[display="true"] { break-inside: avoid; }
    pre { white-space: pre-wrap !important; word-break: break-word; }
    .pdf-title { break-after: page; text-align: center; padding-top: 30%; }
    .pdf-book-title { font-size: 2.4em; font-weight: bold; }
    .pdf-toc-heading { font-size: 2em; font-weight: bold; margin-bottom: 1em; }
    #pdf-toc { break-after: page; }
    #pdf-toc ol { list-style: none; padding-left: 0; }
    #pdf-toc li { display: flex; gap: .4em; margin: .25em 0; }
    #pdf-toc li.pdf-toc-section { padding-left: 2em; }
    #pdf-toc li .pdf-toc-fill { flex: 1; border-bottom: 1px dotted #999; margin-bottom: .3em; }
    #pdf-toc .pdf-toc-part { font-weight: bold; margin-top: .8em; }
    .pdf-note { font-style: italic; color: #444; }
    .admonition.pdf-solution { border-left: 3px solid #888; }
  `;
  doc.head.appendChild(style);
  doc.querySelectorAll('#jb-print-docs-body').forEach(e => e.remove());
  doc.querySelectorAll('details').forEach(d => { d.open = true; });
  const article = doc.querySelector('article.bd-article') || doc.querySelector('main') || doc.body;

  // Chapters: each document's first section starts after <span id="document-NAME">.
  const chapters = [];
  for (const entry of args.entries) {
    const anchor = doc.getElementById('document-' + entry.doc);
    if (!anchor) continue;
    let section = anchor.nextElementSibling;
    while (section && section.tagName !== 'SECTION') section = section.nextElementSibling;
    if (!section) continue;
    // singlehtml nests every document under the landing page: chapter titles are its h2s.
    const h1 = section.querySelector('h1, h2, h3');
    const title = h1 ? h1.textContent.replace('#', '').trim() : entry.doc;
    section.classList.add('pdf-chapter-start');
    section.id = section.id || ('pdf-' + entry.number);
    if (h1) {
      const num = doc.createElement('span');
      num.className = 'pdf-chapter-number';
      num.textContent = entry.number + '  ';
      h1.prepend(num);
    }
    chapters.push({...entry, title, section, id: section.id});
  }

  // Solutions: to an appendix, by chapter.
  const appendix = doc.createElement('section');
  appendix.className = 'pdf-chapter-start';
  appendix.id = 'pdf-solutions';
  appendix.innerHTML = '<h2>Solutions to the exercises</h2>';
  let solutions = 0;
  for (const ch of chapters) {
    const found = Array.from(ch.section.querySelectorAll('.admonition.dropdown, details'))
      .filter(e => {
        const t = e.querySelector('.admonition-title, summary');
        return t !== null && /^\s*solution/i.test(t.textContent);
      });
    if (!found.length) continue;
    const h2 = doc.createElement('h3');
    h2.textContent = ch.number + '  ' + ch.title;
    appendix.appendChild(h2);
    found.forEach((sol, i) => {
      const note = doc.createElement('p');
      note.className = 'pdf-note';
      note.textContent = 'Solution: in the appendix "Solutions to the exercises", chapter ' +
        ch.number + ', solution ' + (i + 1) + '.';
      sol.replaceWith(note);
      sol.classList.remove('dropdown', 'toggle-hidden');
      sol.classList.add('pdf-solution');
      const t = sol.querySelector('.admonition-title, summary');
      if (t) t.textContent = 'Solution ' + (i + 1);
      appendix.appendChild(sol);
      solutions += 1;
    });
  }
  if (solutions) {
    article.appendChild(appendix);
    chapters.push({number: '', title: 'Solutions to the exercises', id: appendix.id,
                   part: 'Appendix', section: appendix});
  }

  // Explorers: the initial frame, the slider values as text, where the live version is.
  let explorers = 0;
  doc.querySelectorAll('.rnnlab-explorer').forEach(ex => {
    const ch = chapters.filter(c => c.section.contains(ex)).pop();
    const note = doc.createElement('p');
    note.className = 'pdf-note';
    const page = ch && ch.doc ? ch.doc + '.html' : 'the HTML book';
    const binder = ch && args.binder[ch.doc];
    note.textContent = 'This is the explorer\'s first frame. The live version, with sliders, ' +
      'is in the HTML book (' + page + ')' +
      (binder ? ' and in the notebook on Binder: ' + binder : '') + '.';
    ex.appendChild(note);
    explorers += 1;
  });

  // Title page and table of contents.
  const front = doc.createElement('div');
  const title = doc.createElement('div');
  title.className = 'pdf-title';
  title.innerHTML = '<p class="pdf-book-title"></p><p></p><p></p>';
  title.querySelector('.pdf-book-title').textContent = args.title;
  title.querySelectorAll('p')[0].textContent = args.author;
  title.querySelectorAll('p')[1].textContent = args.edition;
  const toc = doc.createElement('nav');
  toc.id = 'pdf-toc';
  toc.innerHTML = '<p class="pdf-toc-heading">Contents</p><ol></ol>';
  const list = toc.querySelector('ol');
  let part = null;
  for (const ch of chapters) {
    if (ch.part && ch.part !== part) {
      part = ch.part;
      const li = doc.createElement('li');
      li.className = 'pdf-toc-part';
      li.textContent = part;
      list.appendChild(li);
    }
    const li = doc.createElement('li');
    li.className = ch.number.includes('.') ? 'pdf-toc-section' : 'pdf-toc-chapter';
    const a = doc.createElement('a');
    a.href = '#' + ch.id;
    a.textContent = (ch.number ? ch.number + '  ' : '') + ch.title;
    const fill = doc.createElement('span');
    fill.className = 'pdf-toc-fill';
    const pageno = doc.createElement('span');
    pageno.className = 'pdf-toc-page';
    pageno.textContent = args.pages[ch.title] || '000';
    li.append(a, fill, pageno);
    list.appendChild(li);
  }
  front.append(title, toc);
  article.prepend(front);
  // The root page (the landing page) is the book's preface: it stays first, unnumbered.
  return {chapters: chapters.map(c => ({number: c.number, title: c.title})), solutions, explorers};
}
"""


def wait_for_mathjax(page) -> None:
    page.wait_for_function(
        "() => !window.MathJax || !MathJax.startup || !MathJax.startup.promise ? true : "
        "MathJax.startup.promise.then(() => true)", timeout=120000)


def chapter_pages(pdf: Path, titles: list[str]) -> dict[str, int]:
    """1-based page on which each chapter starts: chapters start on a new page with their
    numbered title as its first line; found in order, after the title page and the contents."""
    from pypdf import PdfReader

    def norm(text: str) -> str:
        # NFKC undoes the ligatures (fi, fl) that text extraction returns.
        return " ".join(unicodedata.normalize("NFKC", text).split())

    heads = [norm(" ".join((page.extract_text() or "").strip().splitlines()[:4]))
             for page in PdfReader(str(pdf)).pages]
    found: dict[str, int] = {}
    start = 2  # page 1 is the title page, page 2 the contents
    for title in titles:
        for index in range(start, len(heads)):
            if norm(title) in heads[index][: len(title) + 16]:
                found[title] = index + 1
                start = index + 1
                break
    return found


def print_pdf(page_html: Path, out: Path, chromium: browsers.Browser) -> dict:
    from playwright.sync_api import sync_playwright

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    _, entries = toc_entries()
    args = {"entries": entries, "title": config["title"], "author": config.get("author", ""),
            "edition": f"PDF edition, {time.strftime('%Y-%m-%d')}",
            "binder": {e["doc"]: binder_url(e["doc"]) for e in entries}, "pages": {}}
    handler = functools.partial(_Quiet, directory=str(SINGLE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    # Jupyter Book writes the single page to chapters/intro.html but links its files (_static/,
    # _images/) relative to the site root: print a copy that sits at the root.
    at_root = SINGLE / "pdf-source.html"
    shutil.copy2(page_html, at_root)
    url = f"http://127.0.0.1:{httpd.server_address[1]}/{at_root.name}"
    footer = ('<div style="font-size:8px;width:100%;text-align:center;color:#555">'
              '<span class="pageNumber"></span></div>')
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium.path, args=browsers.FLAGS)
            page = browser.new_page(viewport={"width": 1000, "height": 1400})
            page.goto(url, wait_until="load", timeout=180000)
            page.wait_for_function("() => Array.from(document.images).every(i => i.complete)",
                                   timeout=180000)
            broken = page.evaluate("() => Array.from(document.images).filter(i => "
                                   "!i.naturalWidth).map(i => i.src.slice(0, 80))")
            if broken:
                raise RuntimeError(f"images that did not load: {broken[:5]}")
            wait_for_mathjax(page)
            info = page.evaluate(PREPARE, args)
            page.emulate_media(media="print")
            options = dict(format="A4", print_background=True, outline=True, tagged=True,
                           display_header_footer=True, header_template="<span></span>",
                           footer_template=footer, prefer_css_page_size=True)
            # First print: where each chapter starts. Second: the contents with those pages
            # (the placeholders have the width of the numbers, so no page moves).
            first = Path(tempfile.mkdtemp()) / "pass1.pdf"
            page.pdf(path=str(first), **options)
            pages = chapter_pages(first, [c["title"] for c in info["chapters"]])
            page.evaluate("""(pages) => document.querySelectorAll('#pdf-toc li').forEach(li => {
                const a = li.querySelector('a'), n = li.querySelector('.pdf-toc-page');
                if (!a || !n) return;
                const title = a.textContent.replace(/^[0-9.]+\\s+/, '');
                if (pages[title]) n.textContent = String(pages[title]); })""",
                          {t: n for t, n in pages.items()})
            page.pdf(path=str(out), **options)
            page.close()
            shutil.rmtree(first.parent, ignore_errors=True)
            args["pages"] = pages
            browser.close()
    finally:
        httpd.shutdown()
    info["pages"] = args["pages"]
    return info


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def link_from_landing_page() -> None:
    """Copy the PDF into the HTML book and show the landing page's PDF link (the placeholder
    `<p id="rnnlab-pdf-link">` in chapters/intro.md), so that the link exists only when the PDF
    does. tools/build_book.py calls this too, after every HTML build."""
    root, _ = toc_entries()
    landing = HTML / f"{root}.html"
    if not OUT.exists() or not landing.exists():
        return
    shutil.copy2(OUT, HTML / "book.pdf")
    rel = os.path.relpath(HTML / "book.pdf", landing.parent)
    text = landing.read_text(encoding="utf-8")
    placeholder = '<p id="rnnlab-pdf-link"></p>'
    built = time.strftime("%Y-%m-%d", time.gmtime(OUT.stat().st_mtime))
    link = (f'<p id="rnnlab-pdf-link">The whole book as one PDF: <a href="{rel}">book.pdf</a> '
            f'({OUT.stat().st_size / 1e6:.1f} MB, built {built}).</p>')
    if placeholder in text:
        landing.write_text(text.replace(placeholder, link), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--if-possible", action="store_true",
                        help="without a browser, say so and exit 0 (unless RNNLAB_REQUIRE_PDF=1)")
    args = parser.parse_args()
    chromium = browsers.find_chromium()
    if chromium is None:
        line = f"make pdf needs a headless chromium: {browsers.why_missing()}; install: {INSTALL}"
        if args.if_possible and os.environ.get("RNNLAB_REQUIRE_PDF") != "1":
            print(f"PDF skipped: {line}")
            return 0
        print(line, file=sys.stderr)
        return 1
    start = time.perf_counter()
    page = build_singlehtml()
    built = time.perf_counter()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    info = print_pdf(page, OUT, chromium)
    from pypdf import PdfReader

    pages = len(PdfReader(str(OUT)).pages)
    link_from_landing_page()
    done = time.perf_counter()
    print(f"\nThe PDF is at {OUT}: {pages} pages, {len(info['chapters'])} chapters, "
          f"{info['solutions']} solutions in the appendix, {info['explorers']} explorers as "
          f"their first frame (single-page HTML {built - start:.0f} s, printing "
          f"{done - built:.0f} s with {chromium.describe()}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
