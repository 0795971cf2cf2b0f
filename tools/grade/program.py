"""Which code of a submission runs, in which order: the student's answers inside the teacher's
notebook. Trusted side.

The skeleton is the released notebook (what the teacher handed out): its locked cells run in
the teacher's version whatever the student did to them, test cells never run in the sandbox (the
trusted checks replace them), answer cells run as the student wrote them (a deleted answer
simply defines nothing), and cells the student added run where the student put them.
"""

from __future__ import annotations

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


def build(release, submission) -> list[ProgramCell]:
    """The code cells to run for `submission` (a notebook node), in order."""
    answers, extras = student_cells(submission)
    program: list[ProgramCell] = []
    counter = 0

    def add_extras(anchor):
        nonlocal counter
        for cell in extras.get(anchor, []):
            program.append(ProgramCell(f"extra:{counter}", str(cell.source), None))
            counter += 1

    add_extras(None)
    for cell in release.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if cell.cell_type == "code" and not is_test(cell):
            if is_answer(cell):
                mine = answers.get(gid)
                if mine is not None and mine.get("cell_type") == "code":
                    program.append(ProgramCell(f"answer:{gid}", str(mine.source), gid))
            else:
                program.append(ProgramCell(f"locked:{gid or counter}", cell.source, gid))
        if gid:
            add_extras(gid)
    return program


def read_notebook(path, max_bytes: int = 20 << 20):
    """The submitted notebook, or ValueError with a reason a teacher can act on."""
    size = path.stat().st_size
    if size > max_bytes:
        raise ValueError(f"the notebook is {size / 2**20:.0f} MiB (limit {max_bytes >> 20} MiB)")
    try:
        return nbformat.read(path, as_version=4)
    except Exception as error:  # noqa: BLE001 (any malformed file)
        raise ValueError(f"the notebook cannot be read: {type(error).__name__}: "
                         f"{str(error)[:300]}") from None
