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


# -- One order for every chapter: ... ## Summary, ## Exercises (solutions in dropdowns), then only
#    ## References may follow (the lead's decision, issue 10). -----------------------------------

def _is_page(p: Path) -> bool:
    """A source page of the book: a notebook or a MyST page, not a generated text mirror."""
    return (p.suffix in (".ipynb", ".md") and not p.name.endswith(".myst.md")
            and ".ipynb_checkpoints" not in p.parts)


CHAPTER_PAGES = sorted(p for p in ROOT.glob("chapters/0[1-6]*/*") if _is_page(p))


def _prose(path: Path) -> str:
    """The page's markdown without fenced code blocks (a '# comment' in code is no heading)."""
    return re.sub(r"^(```|~~~).*?^\1", "", _text(path), flags=re.M | re.S)


def _h2_sections(prose: str) -> list[tuple[str, str]]:
    """(heading, body) for every '## ' section, in order."""
    parts = re.split(r"^## +(.+?)\s*$", prose, flags=re.M)
    return list(zip(parts[1::2], parts[2::2]))


@pytest.mark.parametrize("path", CHAPTER_PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_chapter_ends_with_summary_then_exercises(path):
    headings = [h for h, _ in _h2_sections(_prose(path))]
    if headings and headings[-1] == "References":
        headings = headings[:-1]
    assert headings[-2:] == ["Summary", "Exercises"], (
        f"the last sections must be '## Summary', '## Exercises' (then optionally "
        f"'## References'); got {headings[-3:]}")


@pytest.mark.parametrize("path", CHAPTER_PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_exercise_has_a_dropdown_solution(path):
    body = dict(_h2_sections(_prose(path)))["Exercises"]
    exercises = re.findall(r"^\*\*Exercise\b", body, flags=re.M)
    solutions = re.findall(r"^:class:\s*dropdown", body, flags=re.M)
    assert exercises, "no '**Exercise N (...)**' found in the Exercises section"
    assert len(solutions) == len(exercises), (
        f"{len(exercises)} exercises but {len(solutions)} dropdown solutions")


# -- Every reference listed is cited in the text (author and year), or it is dropped. ----------

ALL_PAGES = sorted(p for p in ROOT.glob("chapters/**/*") if _is_page(p))


def _references(prose: str) -> tuple[str, list[str]]:
    """(the text before '## References', the reference entries, one string each)."""
    match = re.search(r"^## References\s*$", prose, flags=re.M)
    if match is None:
        return prose, []
    rest = prose[match.end():]
    nxt = re.search(r"^#", rest, flags=re.M)
    section = rest[:nxt.start()] if nxt else rest
    entries = [" ".join(e.split()) for e in re.split(r"^- ", section, flags=re.M)[1:]]
    return prose[:match.start()], entries


@pytest.mark.parametrize("path", ALL_PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_listed_reference_is_cited(path):
    before, entries = _references(_prose(path))
    text = " ".join(before.split())
    uncited = []
    for entry in entries:
        surname = entry.split(",")[0].strip()
        year = re.search(r"\((\d{4})[a-z]?\)", entry)
        assert year, f"reference without a (year): {entry[:80]}"
        # cited as "Surname (2013)", "Surname et al. 2013", "Surname, Other & Third (2013)", …
        if not re.search(re.escape(surname) + r".{0,150}?" + year.group(1), text):
            uncited.append(f"{surname} {year.group(1)}")
    assert not uncited, f"listed under References but never cited in the text: {uncited}"


# -- The seed rule (CONTRIBUTING.md): what can be checked mechanically. -----------------------

def _outputs_and_code(nb: dict) -> str:
    out = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        out.append("".join(cell["source"]))
        for o in cell.get("outputs", []):
            out.append("".join(o.get("text", "")))
            out.append("".join(o.get("data", {}).get("text/plain", "")))
    return "\n".join(out)


@pytest.mark.parametrize("nb_path", sorted(ROOT.glob("chapters/**/*.ipynb")), ids=lambda p: p.name)
def test_decimal_numbers_in_the_prose_are_printed_by_a_cell(nb_path):
    """A number with two or more decimals in the prose (exercise solutions and references aside)
    must appear in a code cell or its committed output: a number in the text is computed, not
    typed. (Only catches numbers with >= 2 decimals; '0.5' in a formula is a choice, not a result.)
    """
    nb = json.loads(nb_path.read_text())
    prose = _prose(nb_path)
    prose = re.split(r"^## (?:Exercises|References)\s*$", prose, flags=re.M)[0]
    computed = _outputs_and_code(nb)
    typed = sorted(set(re.findall(r"(?<![\w.^{])(\d+\.\d{2,})(?!\d)", prose)))
    missing = [n for n in typed if n not in computed]
    assert not missing, f"numbers in the prose that no cell prints: {missing}"


EXPERIMENT_RESULTS = sorted((ROOT / "experiments" / "results").glob("*.json"))


def _seed_values(node) -> set:
    seeds = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "seed" and isinstance(value, int):
                seeds.add(value)
            else:
                seeds |= _seed_values(value)
    elif isinstance(node, list):
        for item in node:
            seeds |= _seed_values(item)
    return seeds


@pytest.mark.parametrize("path", EXPERIMENT_RESULTS, ids=lambda p: p.name)
def test_committed_experiments_report_at_least_five_seeds(path):
    """Every trained result is reported over >= 5 seeds, or the results say why not
    (a "fewer_seeds_because" entry in their "meta")."""
    res = json.loads(path.read_text())
    if "fewer_seeds_because" in res.get("meta", {}):
        assert len(res["meta"]["fewer_seeds_because"].strip()) > 20, "give the reason"
        return
    seeds = _seed_values(res.get("results", res))
    assert len(seeds) >= 5, f"results from seeds {sorted(seeds)}: fewer than 5"
