"""The autograded notebook: what the student wrote, what it printed, and each test's verdict.

It is what nbgrader's Formgrader shows and what `nbgrader generate_feedback` turns into HTML.
Test cells appear as released (visible tests in full, hidden tests as their one-line comment),
never with the hidden tests' source or expected values; under each one is the trusted verdict.
"""

from __future__ import annotations

import copy

import nbformat

from tools.grade import program
from tools.grade.execute import StepOutput, SubmissionResult, TestResult

ENAMES = {"failed": "AssertionError", "error": "Error", "timeout": "TimeoutError",
          "memory": "MemoryError", "not_graded": "NotGraded"}


def _stream(text: str) -> dict:
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def _error(ename: str, evalue: str) -> dict:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue,
                                  traceback=[f"{ename}: {evalue}"])


def _cell_outputs(step: StepOutput | None) -> list[dict]:
    if step is None:
        return []
    outputs = [_stream(step.stdout)] if step.stdout else []
    if step.status != "ok":
        outputs.append(_error(ENAMES.get(step.status, "Error"), step.error or step.status))
    return outputs


def _test_outputs(test: TestResult | None, points: float) -> list[dict]:
    if test is None:
        return []
    if test.passed:
        return [_stream(f"Passed: {points:g} of {points:g} points.\n")]
    return [_error(ENAMES[test.status], test.message)]


def autograded_notebook(release, result: SubmissionResult):
    """The notebook to write to autograded/<student>/<assignment>/<assignment>.ipynb."""
    submission = result.notebook
    nb = nbformat.v4.new_notebook(metadata=copy.deepcopy(release.metadata))
    for kind, step, cell in program.layout(release, submission):
        if kind == "answer":
            teacher = next(c for c in release.cells
                           if program.nbgrader_meta(c).get("grade_id") == step.split(":", 1)[1])
            new = copy.deepcopy(cell if cell is not None else teacher)
            new.metadata["nbgrader"] = copy.deepcopy(teacher.metadata["nbgrader"])
            new.cell_type = teacher.cell_type
        else:
            new = copy.deepcopy(cell)
        new["id"] = f"cell-{len(nb.cells)}"
        if new.cell_type == "code":
            new["execution_count"] = None
            if kind == "test":
                meta = program.nbgrader_meta(new)
                new["outputs"] = _test_outputs(result.tests.get(meta.get("grade_id")),
                                               float(meta.get("points", 0)))
            else:
                new["outputs"] = _cell_outputs(result.cells.get(step))
        else:
            for key in ("outputs", "execution_count"):
                new.pop(key, None)
        nb.cells.append(new)
    return nb
