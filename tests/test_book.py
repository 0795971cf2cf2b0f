"""Structure of the book: the table of contents and the chapter pages' required parts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())


def _toc_files(node) -> list[str]:
    out = []
    if isinstance(node, dict):
        if "file" in node:
            out.append(node["file"])
        if "root" in node:
            out.append(node["root"])
        for value in node.values():
            out += _toc_files(value)
    elif isinstance(node, list):
        for item in node:
            out += _toc_files(item)
    return out


TOC_FILES = _toc_files(TOC)


def _resolve(stem: str) -> Path | None:
    for ext in (".ipynb", ".md"):
        if (ROOT / f"{stem}{ext}").exists():
            return ROOT / f"{stem}{ext}"
    return None


def test_every_toc_entry_exists():
    missing = [f for f in TOC_FILES if _resolve(f) is None]
    assert not missing, f"_toc.yml lists files that do not exist: {missing}"


def test_every_notebook_is_in_the_toc():
    notebooks = {str(p.relative_to(ROOT).with_suffix("")) for p in ROOT.glob("chapters/**/*.ipynb")
                 if ".ipynb_checkpoints" not in p.parts}
    assert notebooks, "no notebooks found under chapters/"
    assert notebooks - set(TOC_FILES) == set(), "notebooks missing from _toc.yml"


def _text(path: Path) -> str:
    if path.suffix == ".ipynb":
        nb = json.loads(path.read_text())
        return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    return path.read_text()


CHAPTERS = [f for f in TOC_FILES if re.match(r"chapters/0[1-7]_", f)]


@pytest.mark.parametrize("stem", CHAPTERS)
def test_chapter_pages_have_the_required_parts(stem):
    path = _resolve(stem)
    text = _text(path)
    lower = text.lower()
    prose = re.sub(r"^(```|~~~).*?^\1", "", text, flags=re.M | re.S)  # drop fenced code
    assert len(re.findall(r"^# ", prose, flags=re.M)) == 1, "exactly one H1 title"
    if "faq" not in stem:
        assert "objectives" in lower, "learning objectives"
    assert "summary" in lower, "a summary"
    assert "references" in lower, "references"
    n_solutions = len(re.findall(r":class:\s*dropdown", text))
    assert n_solutions >= 3, f"at least three exercises with hidden solutions; got {n_solutions}"


@pytest.mark.parametrize("nb", sorted(ROOT.glob("chapters/**/*.ipynb")), ids=lambda p: p.name)
def test_notebooks_have_outputs_and_import_rnnlab(nb):
    cells = json.loads(nb.read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    assert all(c.get("outputs") is not None and c.get("execution_count") for c in code), \
        "every code cell executed, outputs committed"
    assert any("rnnlab" in "".join(c["source"]) for c in code)
