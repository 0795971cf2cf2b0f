"""Which code of a submission runs, in which order: the student's answers inside the teacher's
notebook. Trusted side.

The skeleton is the released notebook (what the teacher handed out): its locked cells run in
the teacher's version whatever the student did to them, test cells never run in the sandbox (the
trusted checks replace them), answer cells run as the student wrote them (a deleted answer
simply defines nothing), and cells the student added run where the student put them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import nbformat


@dataclass(frozen=True)
class ProgramCell:
    """One code cell to execute: `cell_id` names its step ('answer:<grade_id>', 'extra:<n>')."""

    cell_id: str
    source: str
    grade_id: str | None


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_test(cell) -> bool:
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade")) and not meta.get("solution")


def is_answer(cell) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def student_cells(submission) -> tuple[dict[str, object], dict[str | None, list]]:
    """The student's answer cells by grade_id, and their added cells by the nbgrader cell before."""
    answers, extras, anchor = {}, {None: []}, None
    for cell in submission.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if gid:
            if is_answer(cell) and gid not in answers:
                answers[gid] = cell
            anchor = gid
            extras.setdefault(anchor, [])
        elif cell.get("cell_type") == "code":
            extras.setdefault(anchor, []).append(cell)
    return answers, extras


def layout(release, submission) -> Iterator[tuple[str, str, object]]:
    """Every cell of the graded notebook, in order: (kind, step id, cell).

    kind: "answer" (the student's version; None if deleted), "locked" (the teacher's), "test"
    (the teacher's released test cell), "markdown" (the teacher's) or "extra" (added by the
    student).
    """
    answers, extras = student_cells(submission)
    counter = 0

    def added(anchor):
        nonlocal counter
        for cell in extras.get(anchor, []):
            yield "extra", f"extra:{counter}", cell
            counter += 1

    yield from added(None)
    for index, cell in enumerate(release.cells):
        gid = nbgrader_meta(cell).get("grade_id")
        if is_test(cell):
            yield "test", f"test:{gid}", cell
        elif is_answer(cell):
            yield "answer", f"answer:{gid}", answers.get(gid)
        elif cell.cell_type == "code":
            yield "locked", f"locked:{gid or index}", cell
        else:
            yield "markdown", f"markdown:{gid or index}", cell
        if gid:
            yield from added(gid)


def build(release, submission) -> list[ProgramCell]:
    """The code cells to run for `submission` (a notebook node), in order."""
    program = []
    for kind, step, cell in layout(release, submission):
        if kind in ("answer", "locked", "extra") and cell is not None \
                and cell.get("cell_type") == "code":
            program.append(ProgramCell(step, str(cell.source),
                                       nbgrader_meta(cell).get("grade_id")))
    return program


def read_notebook(path, max_bytes: int = 20 << 20):
    """The submitted notebook, or ValueError with a reason a teacher can act on."""
    try:
        size = path.stat().st_size
    except OSError:
        raise ValueError(f"no notebook {path.name} was submitted") from None
    if size > max_bytes:
        raise ValueError(f"the notebook is {size / 2**20:.0f} MiB (limit {max_bytes >> 20} MiB)")
    try:
        return nbformat.read(path, as_version=4)
    except Exception as error:  # noqa: BLE001 (any malformed file)
        raise ValueError(f"the notebook cannot be read: {type(error).__name__}: "
                         f"{str(error)[:300]}") from None
