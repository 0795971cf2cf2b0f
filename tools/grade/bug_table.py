"""The teacher page's table of common bugs: `python -m tools.grade.bug_table DIR | --build`.

DIR is a course in which every fixture of tests/fixtures/assignments was graded under its own
name (tests/test_assignments.py builds one; so does `--build`). Prints the Markdown table of
chapters/08_teaching/teachers.md: what each bug costs and what the student is told.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

from tools import make_assignment_fixtures as mf
from tools import release_assignments as ra


def _visible_and_hidden(name: str) -> dict[str, bool]:
    nb = nbformat.read(ra.source_notebook(name), as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: mf.HIDDEN_BEGIN in c.source for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade")
            and not c.metadata["nbgrader"].get("solution")}


def table(course: Path) -> str:
    rows: dict[tuple[str, str], dict[str, dict]] = {}
    with open(course / "grades.csv", newline="") as f:
        for row in csv.DictReader(f):
            rows.setdefault((row["assignment"], row["student"]), {})[row["test"]] = row
    reasons: dict[tuple[str, str, str], str] = {}
    with open(course / "grading_report.csv", newline="") as f:
        for row in csv.DictReader(f):
            reasons[row["assignment"], row["student"], row["test"]] = row["reason"]
    lines = ["| Assignment | Fixture | The bug | Visible tests | Caught by (hidden) | Score | "
             "What the student sees |", "|---|---|---|---|---|---|---|"]
    for sub in mf.SUBMISSIONS:
        if sub.kind in ("edited_test", "deleted_test"):
            continue
        hidden = _visible_and_hidden(sub.assignment)
        mine = rows[sub.assignment, sub.name]
        lost = [g for g in hidden if mine[g]["status"] != "ok"]
        visible = [g for g in lost if not hidden[g]]
        caught = [g for g in lost if hidden[g]]
        score = sum(float(mine[g]["score"] or 0) for g in hidden)
        top = sum(float(mine[g]["max_score"]) for g in hidden)
        seen = reasons.get((sub.assignment, sub.name, sub.lost_in[0]), "")
        seen = seen.split(" (Not equal to tolerance")[0].replace("|", "\\|")
        shown_visible = ("fail (" + ", ".join(f"`{g}`" for g in visible) + ")") if visible \
            else "pass"
        lines.append(f"| {sub.assignment[:2]} | `{sub.name}` | {sub.description} | "
                     f"{shown_visible} | {', '.join(f'`{g}`' for g in caught)} | "
                     f"{score:g}/{top:g} | {seen} |")
    return "\n".join(lines)


def build(workdir: Path) -> Path:
    """A course with every fixture submitted under its own name, graded."""
    from tools.grade import course as grader

    course = workdir / "course"
    grader.create(course)
    for path in sorted(mf.FIXTURES.glob("*/*.ipynb")):
        dest = course / "submitted" / path.stem / path.parent.name
        dest.mkdir(parents=True)
        shutil.copy(path, dest / f"{path.parent.name}.ipynb")
    grader.grade_course(course, log=lambda *a: None)
    return course


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path, nargs="?", help="a graded course directory")
    parser.add_argument("--build", action="store_true", help="grade every fixture first")
    args = parser.parse_args(argv)
    if args.build:
        with tempfile.TemporaryDirectory(prefix="rnnlab-bug-table-") as tmp:
            print(table(build(Path(tmp))))
    else:
        print(table(args.dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
