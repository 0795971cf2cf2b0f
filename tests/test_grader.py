"""The grader cannot be fooled, and a submission cannot reach anything outside its sandbox.

One course of honest students (the correct solutions) and cheating ones
(tests/fixtures/attacks, made by tools/make_attack_fixtures.py), graded once in the bubblewrap
sandbox with `tools.grade` (what `make grade` runs). Each attack's metadata says which cells
must score 0, which must keep their points, and which status grades.csv must show; after
grading, every file of the course (and a secret outside it) is byte-identical, the honest
students have full marks in the gradebook, and no process a submission started is alive.
Without bubblewrap these tests skip (CI sets RNNLAB_REQUIRE_SANDBOX=1: there they must run).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from helpers import require_sandbox

from tools import make_assignment_fixtures as mf
from tools import make_attack_fixtures as maf
from tools import release_assignments as ra
from tools.grade import stubs
from tools.grade.specs import all_specs

ATTACKS = sorted(maf.ATTACKS.glob("*/*.ipynb"))
TIME_LIMIT = 3.0
GRADER_OUTPUTS = {"gradebook.db", "grades.csv", "grading_report.csv", "autograded"}


def attack_meta(path: Path) -> dict:
    return nbformat.read(path, as_version=4).metadata["rnnlab_attack"]


def autograded_cells(name: str) -> list[str]:
    nb = nbformat.read(ra.source_notebook(name), as_version=4)
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade")
            and not c.metadata["nbgrader"].get("solution")]


def first_bug(name: str) -> Path:
    """An honest submission with a bug (the first bug fixture of the assignment)."""
    return sorted(p for p in (mf.FIXTURES / name).glob("*.ipynb") if p.stem != mf.CORRECT)[0]


def digest_tree(root: Path) -> dict[str, str]:
    """sha256 of every file under root, except what the grader itself writes."""
    digests = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if relative.parts[0] in GRADER_OUTPUTS or not path.is_file():
            continue
        digests[str(relative)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def submission_processes(workdir: Path) -> list[str]:
    """Command lines of live processes that a submission started, or its sandbox (bwrap, whose
    death kills every process in the sandbox's pid namespace), under `workdir`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if maf.MARKER in cmdline or str(workdir) in cmdline:
            found.append(cmdline)
    return found


@dataclass
class AttackCourse:
    course: Path
    rows: dict[tuple[str, str], dict[str, dict]]  # (assignment, student) -> test -> csv row
    before: dict[str, str]
    after: dict[str, str]
    secret_before: dict[str, str]
    secret_after: dict[str, str]
    alive: list[str]


@pytest.fixture(scope="module")
def attacked(tmp_path_factory) -> AttackCourse:
    require_sandbox()
    from tools.grade import course as grader
    from tools.grade import sandbox

    root = tmp_path_factory.mktemp("attacked")
    course = root / "course"
    grader.create(course)
    secret = root / "home"
    secret.mkdir()
    (secret / "solutions.txt").write_text("the teacher's private notes\n")
    for name in ra.assignment_names():
        for student, path in [("victim", mf.FIXTURES / name / f"{mf.CORRECT}.ipynb"),
                              ("victim_with_bug", first_bug(name))]:
            dest = course / "submitted" / student / name
            dest.mkdir(parents=True)
            shutil.copy(path, dest / f"{name}.ipynb")
    for path in ATTACKS:
        name = path.parent.name
        dest = course / "submitted" / path.stem / name
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, dest / f"{name}.ipynb")
    before, secret_before = digest_tree(course), digest_tree(secret)
    work = root / "work"
    work.mkdir()
    grader.grade_course(course, workers=2, limits=sandbox.Limits(cpu_seconds=TIME_LIMIT),
                        log=lambda *args: None, tmpdir=work)
    time.sleep(4)  # the detached tamperer waits 3 s before it strikes
    rows: dict = {}
    with open(course / "grades.csv", newline="") as f:
        for row in csv.DictReader(f):
            rows.setdefault((row["assignment"], row["student"]), {})[row["test"]] = row
    return AttackCourse(course, rows, before, digest_tree(course), secret_before,
                        digest_tree(secret), submission_processes(work))


@pytest.mark.parametrize("path", ATTACKS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_attack_earns_nothing_and_costs_only_what_it_breaks(attacked, path):
    meta = attack_meta(path)
    name = meta["assignment"]
    rows = attacked.rows[name, path.stem]
    zero = autograded_cells(name) if meta["zero"] == ["*"] else meta["zero"]
    for gid in zero:
        assert float(rows[gid]["score"]) == 0, f"{path.stem} scored on {gid}: {meta}"
    for gid in meta["full"]:
        assert rows[gid]["score"] == rows[gid]["max_score"], (
            f"{path.stem}: {gid} does not depend on the trick and must keep its points; "
            f"got {rows[gid]}")
    for gid, status in meta["status"].items():
        assert rows[gid]["status"] == status, f"{path.stem}: {gid} is {rows[gid]['status']}"


def test_gradebook_agrees_with_grades_csv(attacked):
    """The scores in nbgrader's gradebook are the grader's, not whatever a submission wrote."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{attacked.course / 'gradebook.db'}", ra.course_id()) as gb:
        for (name, student), tests in attacked.rows.items():
            nb = gb.find_submission_notebook(name, name, student)
            for grade in nb.grades:
                row = tests[grade.name]
                expected = None if row["score"] == "" else float(row["score"])
                assert grade.auto_score == expected, (name, student, grade.name)
            if student == "victim":
                assert nb.score == nb.max_score - sum(
                    g.max_score for g in nb.grades if g.auto_score is None)


def test_victims_keep_full_marks(attacked):
    for name in ra.assignment_names():
        for gid, row in attacked.rows[name, "victim"].items():
            if row["status"] != "not_graded":
                assert row["status"] == "ok" and row["score"] == row["max_score"], (name, gid)


def test_nothing_outside_the_sandbox_changed(attacked):
    assert attacked.after == attacked.before  # sources, release, every submission, the config
    assert attacked.secret_after == attacked.secret_before


def test_no_submission_process_outlives_grading(attacked):
    assert attacked.alive == []


def test_the_search_for_solutions_found_nothing(attacked):
    nb = nbformat.read(attacked.course / "autograded" / "reads_solutions" / mf.A1
                       / f"{mf.A1}.ipynb", as_version=4)
    printed = "\n".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "found:" in printed and "solutions found: []" in printed
    for secret in ("gradebook.db", "nbgrader_config.py", "/source/", "/submitted/"):
        assert secret not in printed


def test_refuses_to_grade_without_a_sandbox(tmp_path):
    """`make grade` on a machine without bubblewrap: a clear message and a non-zero exit."""
    env = {**os.environ, "PATH": str(tmp_path)}  # no bwrap anywhere on PATH
    result = subprocess.run([sys.executable, "-m", "tools.grade", "grade", str(tmp_path)],
                            cwd=ra.ROOT, env=env, capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "apt-get install bubblewrap" in result.stderr
    assert "--unsafe-no-sandbox" in result.stderr


# --------------------------------------------------------------------------------------------
# The specs and the stubs (no sandbox needed)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ra.assignment_names())
def test_every_autograded_cell_has_a_check(name):
    spec = all_specs()[name]
    assert [c.grade_id for c in spec.checks] == autograded_cells(name)


def test_stubs_hide_functions_and_their_private_helpers():
    source = '''
def _shared(a):
    return a


def _only_hidden(a):
    return a * 2


def hidden(a):
    """secret docstring"""
    return _only_hidden(_shared(a))


def kept(a):
    return _shared(a)
'''
    new, stubbed = stubs.hide_in_module(source, "layers", {"hidden"})
    assert stubbed == {"hidden", "_only_hidden"}
    assert "secret docstring" not in new and "a * 2" not in new
    namespace: dict = {}
    exec(new, namespace)
    assert namespace["kept"](3) == 3
    with pytest.raises(NotImplementedError, match="reference solution"):
        namespace["hidden"](3)


# Private helpers that must become stubs with the graded functions (only they use them).
PRIVATE_STUBS = {"05_attention": ("attention._masked_softmax", "attention._softmax_backward",
                                  "attention._check_attention_mask")}
CALL_EACH = """import importlib, inspect, json, sys

import rnnlab

results = {"rnnlab": rnnlab.__file__}
for item in sys.argv[1:]:
    module, _, name = item.rpartition(".")
    for where in sorted({module, "layers"}):
        function = getattr(importlib.import_module(f"rnnlab.{where}"), name, None)
        if function is None:
            continue
        required = [p for p in inspect.signature(function).parameters.values()
                    if p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD]
        try:
            function(*[None] * len(required))
            results[f"{where}.{name}"] = "returned"
        except NotImplementedError as error:
            results[f"{where}.{name}"] = "stub" if "reference solution" in str(error) else "?"
        except Exception as error:
            results[f"{where}.{name}"] = type(error).__name__
print(json.dumps(results))
"""


@pytest.mark.parametrize("name", ra.assignment_names())
def test_the_sandboxs_rnnlab_has_only_stubs_of_the_graded_functions(name, tmp_path):
    """Every hidden function raises in the stubbed copy, where it is defined and where layers
    re-exports it (assignment 5's functions live in rnnlab.embedding and rnnlab.attention), and so
    do the private helpers that only they use."""
    import rnnlab

    spec = all_specs()[name]
    stubs.build(Path(rnnlab.__file__).parent, spec.hidden, tmp_path)
    names = [*spec.hidden, *PRIVATE_STUBS.get(name, ())]
    result = subprocess.run([sys.executable, "-c", CALL_EACH, *names], cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(tmp_path)}, capture_output=True,
                            text=True, check=True, timeout=120)
    found = json.loads(result.stdout)
    assert Path(found.pop("rnnlab")).is_relative_to(tmp_path)
    for item in names:
        assert found[item] == "stub", (item, found)
        function = item.rpartition(".")[2]
        if not function.startswith("_") and hasattr(rnnlab.layers, function):
            assert found[f"layers.{function}"] == "stub", (item, found)


def test_stubs_refuse_a_name_that_does_not_exist(tmp_path):
    import rnnlab

    with pytest.raises(ValueError, match="not defined"):
        stubs.build(Path(rnnlab.__file__).parent, ["layers.no_such_function"], tmp_path)


@pytest.mark.parametrize("name", [mf.A1, mf.A5])
def test_gradescope_autograder_runs_the_same_grader(attacked, tmp_path, name):
    """`make gradescope`'s zip, run as Gradescope would: /autograder simulated with bind mounts."""
    from tools.grade import gradescope

    archive = gradescope.build(name, attacked.course, tmp_path / "zips")
    autograder = tmp_path / "autograder"
    for folder in ("source", "submission", "results"):
        (autograder / folder).mkdir(parents=True)
    shutil.unpack_archive(archive, autograder / "source")
    for script in ("setup.sh", "run_autograder"):
        (autograder / "source" / script).chmod(0o755)
    shutil.copy(first_bug(name), autograder / "submission" / "mine.ipynb")
    # setup.sh would build /autograder/venv; this machine's environment stands in for it
    mounts = ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc", "--bind", "/tmp", "/tmp",
              "--bind", "/proc", "/proc", "--dev", "/dev", "--bind", "/sys", "/sys"]
    for link in ("bin", "lib", "lib64", "sbin"):
        if Path("/", link).is_symlink():
            mounts += ["--symlink", os.readlink(Path("/", link)), f"/{link}"]
    import rnnlab

    for path in {Path(sys.base_prefix), Path(rnnlab.__file__).resolve().parents[1]}:
        mounts += ["--ro-bind", str(path), str(path)]
    result = subprocess.run(
        ["bwrap", *mounts, "--bind", str(autograder), "/autograder",
         "--ro-bind", sys.prefix, "/autograder/venv", "--die-with-parent", "--chdir",
         "/autograder", "/autograder/source/run_autograder"],
        capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads((autograder / "results" / "results.json").read_text())
    expected = {row["test"]: float(row["score"])
                for row in attacked.rows[name, "victim_with_bug"].values()}
    assert {t["name"]: t["score"] for t in data["tests"]} == expected
    top = sum(float(row["max_score"]) for row in attacked.rows[name, "victim_with_bug"].values())
    assert data["score"] == sum(expected.values()) < top
    assert all(t["status"] in ("passed", "failed") and "output" in t for t in data["tests"])
