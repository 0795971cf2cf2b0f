"""Per-assignment set-up, computed once per grading run: inputs, teacher names, stubbed rnnlab."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import nbformat
import numpy as np

import rnnlab
from tools.grade import program, stubs
from tools.grade.execute import Prepared
from tools.grade.spec import AssignmentSpec


def teacher_namespace(source_notebook: Path, grade_ids: tuple[str, ...]) -> dict:
    """The names defined by the teacher's locked cells `grade_ids`, run here (trusted code)."""
    namespace: dict = {"__name__": "teacher"}
    if not grade_ids:
        return namespace
    nb = nbformat.read(source_notebook, as_version=4)
    for cell in nb.cells:
        if program.nbgrader_meta(cell).get("grade_id") in grade_ids:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(cell.source, str(source_notebook), "exec"), namespace)  # noqa: S102
    return namespace


def prepare(spec: AssignmentSpec, course: Path, workdir: Path) -> Prepared:
    """Everything grading `spec` in `course` needs before the first submission."""
    release_path = course / "release" / spec.name / f"{spec.name}.ipynb"
    source_path = course / "source" / spec.name / f"{spec.name}.ipynb"
    if not release_path.is_file():
        raise FileNotFoundError(f"{release_path} is missing: run `nbgrader generate_assignment "
                                f"{spec.name}` in {course} (or `make course`) first")
    release = nbformat.read(release_path, as_version=4)
    teacher = teacher_namespace(source_path, spec.teacher_cells)
    inputs, names = {}, {}
    for check in spec.checks:
        arrays = check.inputs(teacher)
        names[check.grade_id] = {}
        for name, array in arrays.items():
            key = f"{check.grade_id}/{name}"
            inputs[key] = np.asarray(array)
            names[check.grade_id][name] = key
    real = Path(rnnlab.__file__).resolve().parent
    stub = stubs.build(real, spec.hidden, workdir / f"stub-{spec.name}")
    return Prepared(spec, release, inputs, names, teacher, stub, real)
