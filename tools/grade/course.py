"""Grade every submission of a course directory: sandbox, gradebook, feedback, grades.csv."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat

from tools import release_assignments as ra
from tools.grade import execute, feedback, gradebook, prepare, program, report, sandbox
from tools.grade.specs import all_specs


@dataclass(frozen=True)
class Submission:
    assignment: str
    student: str
    path: Path


def find_submissions(course: Path, assignment: str | None = None) -> list[Submission]:
    """submitted/<student>/<assignment>/<assignment>.ipynb, for every assignment with a spec."""
    known = all_specs()
    found = []
    root = course / "submitted"
    if not root.is_dir():
        return found
    for student in sorted(p for p in root.iterdir() if p.is_dir()):
        for folder in sorted(p for p in student.iterdir() if p.is_dir()):
            if folder.name not in known or (assignment and folder.name != assignment):
                continue
            found.append(Submission(folder.name, student.name,
                                    folder / f"{folder.name}.ipynb"))
    return found


def create(course: Path) -> list[str]:
    """`make course`: config, source, generated release, gradebook with every assignment."""
    if course.exists() and any(course.iterdir()):
        raise FileExistsError(f"{course} exists and is not empty; choose a new directory")
    ra.make_course(course)
    return sorted(ra.generate(course))


def _unanswered(release_cell, submission) -> bool:
    """True if the student left a hand-graded answer as released (nbgrader scores it 0)."""
    answers, _ = program.student_cells(submission)
    mine = answers.get(program.nbgrader_meta(release_cell).get("grade_id"))
    return mine is None or str(mine.get("source", "")).strip() == release_cell.source.strip()


def rows_for(release, result: execute.SubmissionResult, sub: Submission) -> list[report.Row]:
    rows = []
    for cell in release.cells:
        meta = program.nbgrader_meta(cell)
        if not meta.get("grade"):
            continue
        gid, points = meta["grade_id"], float(meta.get("points", 0))
        if meta.get("solution"):
            if result.notebook is not None and _unanswered(cell, result.notebook):
                rows.append(report.Row(sub.student, sub.assignment, gid, 0.0, points, "failed",
                                       "no response: the answer cell is unchanged"))
            else:
                rows.append(report.Row(sub.student, sub.assignment, gid, None, points,
                                       "not_graded", "graded by hand (Formgrader: Manual Grading)"))
            continue
        test = result.tests.get(gid)
        if test is None:
            rows.append(report.Row(sub.student, sub.assignment, gid, None, points, "not_graded",
                                   "no check for this cell in the grading spec"))
            continue
        score = points if test.passed else (None if test.status == "not_graded" else 0.0)
        rows.append(report.Row(sub.student, sub.assignment, gid, score, points, test.status,
                               test.message.replace("\n", " ")[:500]))
    return rows


def grade_course(course: Path, assignment: str | None = None, workers: int | None = None,
                 limits: sandbox.Limits | None = None, unsafe: bool = False,
                 log=print, tmpdir: Path | None = None, stats: dict | None = None
                 ) -> list[report.Row]:
    """Grade `course`; returns the rows written to grades.csv.

    tmpdir: where the per-submission sandbox directories go (default: the system's temp dir).
    stats: if given, receives "sandbox_cpu_seconds", the CPU time the sandboxes reported.
    """
    course = course.resolve()
    limits = limits or sandbox.Limits()
    if unsafe:
        log(sandbox.UNSAFE_BANNER)
    else:
        sandbox.check_available()
    specs = all_specs()
    if assignment and assignment not in specs:
        raise KeyError(f"no grading spec for assignment {assignment!r}; known: {sorted(specs)}")
    submissions = find_submissions(course, assignment)
    if not submissions:
        log(f"no submissions under {course / 'submitted'}")
        return []
    workers = workers or os.cpu_count() or 1
    db_url = f"sqlite:///{course / 'gradebook.db'}"
    course_id = ra.course_id(course / "nbgrader_config.py")
    start = time.monotonic()
    rows: list[report.Row] = []
    with tempfile.TemporaryDirectory(prefix="rnnlab-grade-", dir=tmpdir) as tmp:
        prepared = {name: prepare.prepare(specs[name], course, Path(tmp))
                    for name in sorted({s.assignment for s in submissions})}

        def one(sub: Submission) -> tuple[Submission, execute.SubmissionResult]:
            return sub, execute.grade(prepared[sub.assignment], sub.path, limits,
                                      sandboxed=not unsafe, workroot=Path(tmp))

        with (ThreadPoolExecutor(workers) as pool,
              gradebook.open_gradebook(db_url, course_id) as gb):
            for sub, result in pool.map(one, submissions):
                release = prepared[sub.assignment].release
                out_dir = course / "autograded" / sub.student / sub.assignment
                if out_dir.exists():
                    shutil.rmtree(out_dir)
                out_dir.mkdir(parents=True)
                timestamp = gradebook.read_timestamp(sub.path.parent)
                if timestamp:
                    (out_dir / "timestamp.txt").write_text(timestamp)
                sub_rows = rows_for(release, result, sub)
                if result.notebook is not None:
                    nbformat.write(feedback.autograded_notebook(release, result),
                                   out_dir / f"{sub.assignment}.ipynb")
                    gradebook.record(gb, sub.assignment, sub.student, release, result.notebook,
                                     {r.test: r.score for r in sub_rows
                                      if r.status != "not_graded"}, timestamp)
                rows += sub_rows
                if stats is not None:
                    stats["sandbox_cpu_seconds"] = (stats.get("sandbox_cpu_seconds", 0.0)
                                                    + result.cpu_seconds)
                total = sum(r.score or 0 for r in sub_rows)
                top = sum(r.max_score for r in sub_rows if r.score is not None
                          or r.status != "not_graded")
                log(f"{sub.assignment} {sub.student}: {total:g}/{top:g}"
                    + (f" ({result.runs} sandbox runs)" if result.runs > 1 else ""))
    grades, reasons = report.write(course, rows)
    seconds = time.monotonic() - start
    log(f"graded {len(submissions)} submissions in {seconds:.1f} s "
        f"({60 * len(submissions) / max(seconds, 1e-9):.0f} per minute, {workers} workers); "
        f"wrote {grades} and {reasons}")
    return rows


