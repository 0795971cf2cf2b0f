"""The nbgrader assignments grade what they should, with the book's trusted grader, headless.

A course directory in a temporary folder; `nbgrader generate_assignment` makes the student
versions (through tools.release_assignments, which `make assignments` runs); every submission is
placed under submitted/<student>/<assignment>/ and `tools.grade` grades them all (`make grade`:
student code in the bubblewrap sandbox, verdicts in the trusted process, scores written into
nbgrader's gradebook, autograded notebooks with feedback). The assertions read the scores from
the gradebook (nbgrader.api.Gradebook), as Formgrader and `nbgrader export` do.

These submissions are the project's own fixtures (trusted code), so on a machine without
bubblewrap this module grades them with --unsafe-no-sandbox instead of skipping; the attacks on
the sandbox itself are in tests/test_grader.py.

Submissions per assignment:
* "instructor": the instructor's source notebook, which must get every autograded point;
* "release": the untouched student version, which must get 0 on every graded cell;
* the fixtures in tests/fixtures/assignments/<assignment>/ (tools/make_assignment_fixtures.py):
  "correct_solution" (the solutions typed into the student version: full marks), and at least six
  realistic bugs, each of which must lose points on the cells its metadata names and show the
  student the feedback text it names; among them one that raises, one that loops forever (cut
  off by the time limit), one that edits and one that deletes test cells (test cells never run
  from the submission: the grader's own checks replace them).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from tools import make_assignment_fixtures as mf
from tools import release_assignments as ra

CELL_TIMEOUT = 3.0  # CPU seconds per answer cell and per test here (the default is 10)
GRADERS = 2  # submissions graded side by side (one per core)
NAMES = ra.assignment_names()
FIXTURES = sorted(mf.FIXTURES.glob("*/*.ipynb"))


def fixture_meta(path: Path) -> dict:
    return nbformat.read(path, as_version=4).metadata["rnnlab_fixture"]


def fixture_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def graded_cells(name: str) -> dict[str, dict]:
    """grade_id -> nbgrader metadata (+ 'hidden') of every graded cell of the source notebook."""
    nb = nbformat.read(ra.source_notebook(name), as_version=4)
    cells = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            cells[meta["grade_id"]] = {**meta, "hidden": mf.HIDDEN_BEGIN in cell.source,
                                       "source": cell.source}
    return cells


def autograded_tests(name: str) -> set[str]:
    """The autograded cells: graded code cells that are not answers (the written answer is not)."""
    return {gid for gid, m in graded_cells(name).items() if not m["solution"]}


@dataclass
class Grading:
    released: dict[str, Path]
    where: dict[tuple[str, str], Path]  # (assignment, student) -> the course that graded it
    seconds: float
    # (assignment, student) -> grade_id -> (auto_score, max_score)
    scores: dict[tuple[str, str], dict[str, tuple[float | None, float]]] = field(
        default_factory=dict)

    def notebook(self, name: str, student: str):
        path = self.where[name, student] / "autograded" / student / name / f"{name}.ipynb"
        return nbformat.read(path, as_version=4)

    def cell(self, name: str, student: str, gid: str):
        [cell] = [c for c in self.notebook(name, student).cells
                  if c.metadata.get("nbgrader", {}).get("grade_id") == gid]
        return cell


def output_text(cell) -> str:
    """Everything a student sees under a code cell after grading: streams, results, errors."""
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type == "error":
            parts.append(f"{out.ename}: {out.evalue}")
        elif "data" in out:
            parts.append(str(out.data.get("text/plain", "")))
    return "\n".join(parts)


@pytest.fixture(scope="module")
def grading(tmp_path_factory) -> Grading:
    """Release, submit and grade everything once (the slow part of this module)."""
    from nbgrader.api import Gradebook

    from tools.grade import course as grader
    from tools.grade import sandbox

    root = tmp_path_factory.mktemp("assignments")
    course = root / "course"
    released = ra.release(out=root / "release", course=course)
    submissions = []  # (assignment, student, notebook path)
    for name in NAMES:
        submissions.append((name, "instructor", ra.source_notebook(name)))
        submissions.append((name, "release", released[name]))
        submissions += [(name, p.stem, p) for p in FIXTURES if p.parent.name == name]
    where = {}
    for name, student, path in submissions:
        where[name, student] = course
        dest = course / "submitted" / student / name
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, dest / f"{name}.ipynb")
    try:
        sandbox.check_available()
        unsafe = False
    except sandbox.SandboxUnavailable:
        unsafe = True  # our own fixtures: trusted code

    start = time.monotonic()
    grader.grade_course(course, workers=GRADERS, limits=sandbox.Limits(cpu_seconds=CELL_TIMEOUT),
                        unsafe=unsafe, log=lambda *args: None)
    seconds = time.monotonic() - start

    grading = Grading(released, where, seconds)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", ra.course_id()) as gb:
        for name, student, _ in submissions:
            nb = gb.find_submission_notebook(name, name, student)
            grading.scores[name, student] = {g.name: (g.auto_score, g.max_score)
                                             for g in nb.grades}
    print(f"\ngraded {len(submissions)} submissions in {seconds:.0f} s")
    return grading


# --------------------------------------------------------------------------------------------
# The fixtures themselves
# --------------------------------------------------------------------------------------------


def test_every_assignment_has_six_or_more_realistic_bugs():
    for name in NAMES:
        bugs = [s for s in mf.SUBMISSIONS if s.assignment == name
                and s.kind in ("bug", "raises", "timeout")]
        assert len(bugs) >= 6, f"{name} has only {len(bugs)} buggy submissions"
    kinds = {s.kind for s in mf.SUBMISSIONS}
    assert {"raises", "timeout", "edited_test", "deleted_test"} <= kinds


@pytest.mark.parametrize("name", NAMES)
def test_fixtures_match_the_source_notebooks(name):
    """Stale fixtures would test an old version of the assignment."""
    digest = mf.source_digest(ra.source_notebook(name))
    expected = {s.name for s in mf.SUBMISSIONS if s.assignment == name} | {mf.CORRECT}
    found = {p.stem for p in FIXTURES if p.parent.name == name}
    assert found == expected, ("fixtures and tools/make_assignment_fixtures.py disagree; run "
                               "`python -m tools.make_assignment_fixtures`")
    for path in (p for p in FIXTURES if p.parent.name == name):
        assert fixture_meta(path)["source_digest"] == digest, (
            f"{fixture_id(path)} was made from an older {name}.ipynb; run "
            "`python -m tools.make_assignment_fixtures`")


@pytest.mark.parametrize("name", NAMES)
def test_every_graded_cell_follows_an_answer_or_a_graded_cell(name):
    """nbgrader 0.9.6 re-adds a deleted test cell after the nbgrader cell before it, and crashes
    (KeyError) if that cell is read-only: grading that student then fails altogether."""
    nb = nbformat.read(ra.source_notebook(name), as_version=4)
    previous = None
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        if not meta:
            continue
        if meta.get("grade"):
            assert previous is not None and (previous.get("solution") or previous.get("grade")), (
                f"{meta['grade_id']} must not follow a read-only cell")
        previous = meta


@pytest.mark.parametrize("sub", mf.SUBMISSIONS, ids=lambda s: f"{s.assignment}/{s.name}")
def test_each_bug_is_aimed_at_a_hidden_test(sub):
    cells = graded_cells(sub.assignment)
    assert set(sub.lost_in) <= autograded_tests(sub.assignment)
    assert any(cells[gid]["hidden"] for gid in sub.lost_in), (
        f"{sub.name} must lose points on at least one hidden-test cell")
    if sub.kind in ("bug", "raises", "timeout"):
        # lost_in[0] is the cell whose feedback the grading test checks: a hidden one
        assert cells[sub.lost_in[0]]["hidden"]


# --------------------------------------------------------------------------------------------
# Release
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_release_has_no_solutions_and_no_hidden_tests(grading, name):
    source = nbformat.read(ra.source_notebook(name), as_version=4)
    released = nbformat.read(grading.released[name], as_version=4)
    text = "\n".join(c.source for c in released.cells)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "Model answer",
                   "Marking guide"):
        assert marker not in text, f"{marker!r} leaked into the student version of {name}"
    # no line that only a solution region or a hidden-test region holds survives
    secret, public = set(), set()
    for cell in source.cells:
        inside = False
        for line in cell.source.split("\n"):
            if "### BEGIN SOLUTION" in line or "### BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "### END SOLUTION" in line or "### END HIDDEN TESTS" in line:
                inside = False
            else:
                (secret if inside else public).add(line.strip())
    released_lines = {line.strip() for line in text.split("\n")}
    leaked = [line for line in secret - public if len(line) > 25 and line in released_lines]
    assert not leaked, f"solution or hidden-test lines leaked into {name}: {leaked[:3]}"
    assert not any(c.get("outputs") for c in released.cells if c.cell_type == "code")


def test_release_leaves_no_gradebook_behind(grading):
    out = grading.released[NAMES[0]].parents[1]
    assert sorted(p.name for p in out.iterdir()) == NAMES
    assert not list(out.rglob("*.db"))


# --------------------------------------------------------------------------------------------
# Grades
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("student", ["instructor", mf.CORRECT])
@pytest.mark.parametrize("name", NAMES)
def test_solution_gets_every_autograded_point(grading, name, student):
    scores = grading.scores[name, student]
    for gid in autograded_tests(name):
        auto, top = scores[gid]
        assert auto == top, (f"{student}'s {name} scored {auto}/{top} on {gid}:\n"
                             f"{output_text(grading.cell(name, student, gid))}")
    for gid, meta in graded_cells(name).items():  # the written answer waits for a human
        if meta["solution"]:
            assert scores[gid][0] is None


@pytest.mark.parametrize("name", NAMES)
def test_untouched_release_scores_zero_everywhere(grading, name):
    scores = grading.scores[name, "release"]
    assert set(scores) == set(graded_cells(name))
    for gid, (auto, top) in scores.items():
        assert auto == 0, f"the untouched {name} scored {auto}/{top} on {gid}"


@pytest.mark.parametrize("path", FIXTURES, ids=fixture_id)
def test_fixture_loses_points_where_expected(grading, path):
    meta = fixture_meta(path)
    name, student = meta["assignment"], path.stem
    scores = grading.scores[name, student]
    tests = autograded_tests(name)
    total = sum(scores[g][0] or 0 for g in tests)
    top = sum(scores[g][1] for g in tests)
    if meta["kind"] == "correct":
        assert total == top
        return
    assert total < top
    for gid in meta["lost_in"]:
        auto, most = scores[gid]
        assert auto is not None and auto < most, (
            f"{student} ({meta['description']}) should lose points on {gid}; got {auto}/{most}")
    first = grading.cell(name, student, meta["lost_in"][0])
    assert meta["feedback"] in output_text(first), (
        f"the feedback for {student} in {meta['lost_in'][0]} should contain "
        f"{meta['feedback']!r}; it is:\n{output_text(first)}")


RAISING = [s for s in mf.SUBMISSIONS if s.kind == "raises"]
RAISED = {"forward_index_error": "IndexError", "attention_k_transposed": "ValueError"}


@pytest.mark.parametrize("sub", RAISING, ids=lambda s: f"{s.assignment}/{s.name}")
def test_raising_submission_is_graded_and_the_rest_still_runs(grading, sub):
    scores = grading.scores[sub.assignment, sub.name]
    for gid in sub.lost_in:  # an error in the answer, or a name it never defined (NameError)
        assert scores[gid][0] == 0
        assert "Error: " in output_text(grading.cell(sub.assignment, sub.name, gid))
    first = output_text(grading.cell(sub.assignment, sub.name, sub.lost_in[0]))
    assert f"{RAISED[sub.name]}: " in first  # the student sees which exception it was
    # the cells that do not depend on the broken function got their points
    untouched = autograded_tests(sub.assignment) - set(sub.lost_in)
    assert untouched and all(scores[g][0] == scores[g][1] for g in untouched)


def test_infinite_loop_is_cut_off_by_the_timeout(grading):
    [sub] = [s for s in mf.SUBMISSIONS if s.kind == "timeout"]
    scores = grading.scores[sub.assignment, sub.name]
    for gid in sub.lost_in:
        assert scores[gid][0] == 0
        assert "TimeoutError" in output_text(grading.cell(sub.assignment, sub.name, gid))
    # the sandbox was killed and restarted without that test: the other cells kept their points
    others = autograded_tests(sub.assignment) - set(sub.lost_in)
    assert others and all(scores[g][0] == scores[g][1] for g in others)


@pytest.mark.parametrize("kind", ["edited_test", "deleted_test"])
def test_tampered_test_cells_are_restored_and_run(grading, kind):
    [sub] = [s for s in mf.SUBMISSIONS if s.kind == kind]
    submitted = nbformat.read(mf.FIXTURES / sub.assignment / f"{sub.name}.ipynb", as_version=4)
    submitted_ids = {c.metadata.get("nbgrader", {}).get("grade_id") for c in submitted.cells}
    released = {c.metadata["nbgrader"]["grade_id"]: c.source
                for c in nbformat.read(grading.released[sub.assignment], as_version=4).cells
                if c.metadata.get("nbgrader", {}).get("grade_id")}
    for gid in sub.tampered:
        if kind == "deleted_test":
            assert gid not in submitted_ids  # the fixture really lacks the cell
        cell = grading.cell(sub.assignment, sub.name, gid)
        # the autograded notebook shows the released test cell (never the hidden tests), and
        # the grader's own check of it, which the student's edit could not reach
        assert cell.source == released[gid]
        assert grading.scores[sub.assignment, sub.name][gid][0] == 0
    assert sub.feedback in output_text(grading.cell(sub.assignment, sub.name, sub.tampered[0]))


@pytest.mark.parametrize("name", NAMES)
def test_feedback_never_shows_hidden_tests(grading, name):
    """What a student gets back holds no hidden test's source and no reference call."""
    public = "\n".join(c.source for c in nbformat.read(grading.released[name],
                                                         as_version=4).cells)
    hidden = [line.strip() for m in graded_cells(name).values() if m["hidden"]
              for line in m["source"].split(mf.HIDDEN_BEGIN)[1].split("\n")
              if len(line.strip()) > 25 and line.strip() not in public]
    assert hidden
    for student in ("instructor", mf.CORRECT, "release"):
        tests = [c for c in grading.notebook(name, student).cells
                 if c.metadata.get("nbgrader", {}).get("grade_id") in autograded_tests(name)]
        text = "\n".join(c.source + "\n" + output_text(c) for c in tests)
        assert mf.HIDDEN_BEGIN not in text
        assert not [line for line in hidden if line in text], f"hidden tests leaked to {student}"


# --------------------------------------------------------------------------------------------
# The teacher's page shows the current rubric
# --------------------------------------------------------------------------------------------


def test_teachers_page_has_the_current_rubric():
    page = (ra.ROOT / "chapters" / "08_teaching" / "teachers.md").read_text()
    assert ra.rubric() in page, ("the rubric in chapters/08_teaching/teachers.md is out of date; "
                                 "paste `python -m tools.release_assignments --rubric`")
