"""DIR/grades.csv (one row per student, assignment and graded cell) and the reasons behind it."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

HEADER = ["student", "assignment", "test", "score", "max_score", "status"]
REPORT_HEADER = ["student", "assignment", "test", "status", "reason"]


@dataclass(frozen=True)
class Row:
    student: str
    assignment: str
    test: str
    score: float | None
    max_score: float
    status: str
    reason: str = ""


def _merge(path: Path, header: list[str], rows: list[list[str]], replaced: set[tuple[str, str]]
           ) -> None:
    """Rewrite `path`: earlier rows of other (student, assignment) pairs kept, then `rows`."""
    kept = []
    if path.is_file():
        with open(path, newline="") as f:
            reader = csv.reader(f)
            if next(reader, None) == header:
                kept = [r for r in reader if len(r) >= 2 and (r[0], r[1]) not in replaced]
    all_rows = sorted(kept + rows, key=lambda r: (r[1], r[0]))
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(all_rows)
    tmp.replace(path)


def write(course: Path, rows: list[Row]) -> tuple[Path, Path]:
    """Write grades.csv and grading_report.csv (the reason for every row that is not ok)."""
    replaced = {(r.student, r.assignment) for r in rows}
    grades = [[r.student, r.assignment, r.test, "" if r.score is None else f"{r.score:g}",
               f"{r.max_score:g}", r.status] for r in rows]
    reasons = [[r.student, r.assignment, r.test, r.status, r.reason] for r in rows
               if r.status != "ok"]
    _merge(course / "grades.csv", HEADER, grades, replaced)
    _merge(course / "grading_report.csv", REPORT_HEADER, reasons, replaced)
    return course / "grades.csv", course / "grading_report.csv"
