"""Write the trusted scores into nbgrader's gradebook, as `nbgrader autograde` would."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path

from tools.grade import program

NO_RESPONSE = "No response."


@contextlib.contextmanager
def open_gradebook(db_url: str, course_id: str) -> Iterator:
    """nbgrader's Gradebook, once for a whole grading run."""
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    with warnings.catch_warnings(), Gradebook(db_url, course_id=course_id) as gb:
        # nbgrader's own update_or_create_submission triggers SQLAlchemy autoflush notices
        warnings.simplefilter("ignore", SAWarning)
        yield gb


def record(gb, assignment: str, student: str, release, submission,
           scores: dict[str, float | None], timestamp: str | None = None) -> None:
    """Store one submission: an auto score per graded cell (None: graded by hand).

    Manual scores a teacher already entered are kept; as in nbgrader, a cell with a manual score
    or without an automatic one is flagged for manual grading.
    """
    from nbgrader.api import MissingEntry
    from nbgrader.utils import parse_utc

    try:
        gb.find_assignment(assignment)
    except MissingEntry:
        raise RuntimeError(f"the gradebook has no assignment {assignment!r}: run `nbgrader "
                           f"generate_assignment {assignment}` in the course directory "
                           "(`make course` does it for every assignment)") from None
    gb.update_or_create_student(student)
    kwargs = {"timestamp": parse_utc(timestamp)} if timestamp else {}
    gb.update_or_create_submission(assignment, student, **kwargs)
    answers, _ = program.student_cells(submission) if submission is not None else ({}, {})
    for cell in release.cells:
        meta = program.nbgrader_meta(cell)
        gid = meta.get("grade_id")
        if meta.get("grade"):
            grade = gb.find_grade(gid, assignment, assignment, student)
            grade.auto_score = scores.get(gid)
            grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
        if meta.get("solution") or meta.get("task"):
            comment = gb.find_comment(gid, assignment, assignment, student)
            mine = answers.get(gid)
            unchanged = mine is None or mine.get("source") == cell.source
            comment.auto_comment = NO_RESPONSE if unchanged else None
    gb.db.commit()


def read_timestamp(folder: Path) -> str | None:
    path = folder / "timestamp.txt"
    if path.is_file() and path.stat().st_size < 200:
        return path.read_text().strip() or None
    return None
