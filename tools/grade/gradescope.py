"""Gradescope autograders that run the same trusted grader: `make gradescope`.

One zip per assignment (gradescope/<assignment>.zip). Gradescope unpacks it to /autograder/source
and runs setup.sh once when it builds the image (Python, NumPy, nbformat, rnnlab and bubblewrap),
then run_autograder for every submission: the student's notebook in /autograder/submission is
graded in the bubblewrap sandbox exactly as `make grade` grades it, and the verdicts go to
/autograder/results/results.json in Gradescope's format. The instructor notebook in the zip stays
outside the sandbox. If bubblewrap cannot run in the container, run_autograder fails loudly
(Gradescope then reports an autograder error) instead of grading unsafely.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

from tools.grade import execute, prepare, program, sandbox
from tools.grade.specs import all_specs

ROOT = Path(__file__).resolve().parents[2]

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
set -euo pipefail
apt-get update -q
apt-get install -y -q python3 python3-venv python3-pip bubblewrap
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install -q "numpy>=1.26" "nbformat>=5.9" /autograder/source/grader
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission. The grader refuses (exit 3) without a sandbox.
set -euo pipefail
cd /autograder/source/grader
exec /autograder/venv/bin/python -m tools.grade gradescope-run --root /autograder \\
    --assignment {assignment}
"""


def _add_tree(archive: zipfile.ZipFile, folder: Path, arcname: str) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            archive.write(path, f"{arcname}/{path.relative_to(folder)}")


def _executable(archive: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.external_attr = 0o755 << 16
    archive.writestr(info, text)


def build(assignment: str, course: Path, out: Path) -> Path:
    """The autograder zip of `assignment`, from a course directory with source/ and release/."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{assignment}.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        _executable(archive, "setup.sh", SETUP)
        _executable(archive, "run_autograder", RUN.format(assignment=assignment))
        for name in ("pyproject.toml", "README.md"):
            archive.write(ROOT / name, f"grader/{name}")
        _add_tree(archive, ROOT / "src" / "rnnlab", "grader/src/rnnlab")
        archive.write(ROOT / "tools" / "__init__.py", "grader/tools/__init__.py")
        archive.write(ROOT / "tools" / "release_assignments.py",
                      "grader/tools/release_assignments.py")
        _add_tree(archive, ROOT / "tools" / "grade", "grader/tools/grade")
        for kind in ("source", "release"):
            notebook = course / kind / assignment / f"{assignment}.ipynb"
            archive.write(notebook, f"grader/course/{kind}/{assignment}/{assignment}.ipynb")
    return path


def build_all(out: Path) -> list[Path]:
    """One zip per assignment that has a grading spec (the release generated with nbgrader)."""
    from tools import release_assignments as ra

    names = [n for n in ra.assignment_names() if n in all_specs()]
    with tempfile.TemporaryDirectory(prefix="rnnlab-gradescope-") as tmp:
        course = ra.make_course(Path(tmp) / "course", names)
        ra.generate(course)
        return [build(name, course, out) for name in names]


def _submission(folder: Path, assignment: str) -> Path | None:
    preferred = folder / f"{assignment}.ipynb"
    if preferred.is_file():
        return preferred
    notebooks = sorted(folder.rglob("*.ipynb"))
    return notebooks[0] if len(notebooks) == 1 else None


def results_json(release, result: execute.SubmissionResult | None, message: str = "") -> dict:
    """Gradescope's results.json: one test per autograded cell, with the trusted feedback."""
    tests, total = [], 0.0
    for cell in release.cells:
        meta = program.nbgrader_meta(cell)
        if not meta.get("grade") or meta.get("solution"):
            continue
        points = float(meta.get("points", 0))
        verdict = result.tests.get(meta["grade_id"]) if result else None
        passed = verdict is not None and verdict.passed
        score = points if passed else 0.0
        total += score
        tests.append({"name": meta["grade_id"], "score": score, "max_score": points,
                      "status": "passed" if passed else "failed",
                      "output": "Passed." if passed else
                      (f"[{verdict.status}] {verdict.message}" if verdict else message)})
    manual = [program.nbgrader_meta(c)["grade_id"] for c in release.cells
              if program.nbgrader_meta(c).get("grade") and program.nbgrader_meta(c).get("solution")]
    output = message or "Graded in a sandbox; the hidden tests' inputs and answers stay private."
    if manual:
        output += f" Graded by hand, not here: {', '.join(manual)}."
    return {"score": total, "output": output, "tests": tests, "stdout_visibility": "hidden"}


def run(root: Path, assignment: str, limits: sandbox.Limits, unsafe: bool = False) -> dict:
    """Grade /autograder/submission into /autograder/results/results.json (inside Gradescope)."""
    if unsafe:
        print(sandbox.UNSAFE_BANNER, file=sys.stderr)
    else:
        sandbox.check_available()
    course = Path(__file__).resolve().parents[2] / "course"
    spec = all_specs()[assignment]
    results_dir = root / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rnnlab-gradescope-") as tmp:
        prepared = prepare.prepare(spec, course, Path(tmp))
        notebook = _submission(root / "submission", assignment)
        if notebook is None:
            data = results_json(prepared.release, None, f"No notebook found: submit "
                                f"{assignment}.ipynb (exactly one .ipynb file).")
        else:
            copy = Path(tmp) / "submitted.ipynb"
            shutil.copy(notebook, copy)
            result = execute.grade(prepared, copy, limits, sandboxed=not unsafe,
                                   workroot=Path(tmp))
            data = results_json(prepared.release, result)
    (results_dir / "results.json").write_text(json.dumps(data, indent=1))
    return data
