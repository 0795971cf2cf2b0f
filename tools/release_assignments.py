"""Student versions of the nbgrader assignments: `make assignments` runs this module.

    python -m tools.release_assignments            # -> assignments/release/<name>/<name>.ipynb
    python -m tools.release_assignments --out DIR  # somewhere else
    python -m tools.release_assignments --rubric   # print the points table of every assignment

It copies assignments/nbgrader_config.py and assignments/source/ into a temporary course
directory, runs `nbgrader generate_assignment` there (solutions and hidden tests stripped,
checksums computed, a throw-away gradebook), and copies the student notebooks out. Nothing but
the release folder is written into the repository: no gradebook.db is left behind.

The helpers here (`make_course`, `nbgrader`, `release`) are also what tests/test_assignments.py
and tools/make_assignment_fixtures.py use, so the tests grade exactly what teachers hand out.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = ROOT / "assignments"
SOURCE = ASSIGNMENTS / "source"
CONFIG = ASSIGNMENTS / "nbgrader_config.py"
RELEASE = ASSIGNMENTS / "release"


def assignment_names(source: Path = SOURCE) -> list[str]:
    """Assignments in source/, in order: every folder <name> that holds <name>.ipynb."""
    return sorted(p.name for p in source.iterdir() if (p / f"{p.name}.ipynb").is_file())


def source_notebook(name: str, source: Path = SOURCE) -> Path:
    return source / name / f"{name}.ipynb"


def course_id(config: Path = CONFIG) -> str:
    """The course id set in nbgrader_config.py (the gradebook and the exchange are keyed by it)."""
    from traitlets.config.loader import PyFileConfigLoader

    cfg = PyFileConfigLoader(config.name, path=str(config.parent)).load_config()
    return str(cfg.CourseDirectory.course_id)


def make_course(root: Path, names: list[str] | None = None) -> Path:
    """A fresh course directory at `root`: the config and the source notebooks, nothing else."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(CONFIG, root / CONFIG.name)
    for name in names or assignment_names():
        shutil.copytree(SOURCE / name, root / "source" / name,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return root


def nbgrader(course: Path, *args: str, timeout: float | None = None
             ) -> subprocess.CompletedProcess:
    """Run `nbgrader <args>` headless on the course directory `course`, with its own gradebook.

    nbgrader reads nbgrader_config.py from the working directory (the course root) and starts
    `alembic` as a subprocess to create the database, so the interpreter's bin folder goes first
    on PATH. A private JUPYTER_CONFIG_DIR keeps a user's ~/.jupyter/nbgrader_config.py out.
    """
    env = os.environ.copy()
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["JUPYTER_CONFIG_DIR"] = str(course / ".jupyter")
    cmd = [sys.executable, "-m", "nbgrader", *args,
           f"--CourseDirectory.root={course}",
           f"--CourseDirectory.db_url=sqlite:///{course / 'gradebook.db'}"]
    return subprocess.run(cmd, cwd=course, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def generate(course: Path) -> dict[str, Path]:
    """`nbgrader generate_assignment` for every assignment of `course`; the student notebooks."""
    result = nbgrader(course, "generate_assignment", "*", "--force", timeout=600)
    names = assignment_names(course / "source")
    released = {n: course / "release" / n / f"{n}.ipynb" for n in names}
    missing = [n for n, p in released.items() if not p.is_file()]
    if result.returncode or missing:
        raise RuntimeError(f"nbgrader generate_assignment failed (exit {result.returncode}, "
                           f"missing {missing}):\n{result.stderr[-4000:]}")
    return released


def release(out: Path = RELEASE, course: Path | None = None) -> dict[str, Path]:
    """Generate the student versions and copy them to out/<name>/. Returns the copied notebooks.

    course: a directory to build the course in (kept, with its gradebook, for the caller);
    None builds it in a temporary directory that is deleted afterwards.
    """
    with tempfile.TemporaryDirectory(prefix="rnn-assignments-") as tmp:
        course = make_course(course or Path(tmp) / "course")
        generated = generate(course)
        copied = {}
        for name in generated:
            dest = out / name
            if dest.exists():
                shutil.rmtree(dest)
            shutil.copytree(course / "release" / name, dest)
            copied[name] = dest / f"{name}.ipynb"
    return copied


def describe(cell) -> str:
    """What a graded cell checks: its leading comment, without the "Tests:" prefix."""
    lines = []
    for line in cell.source.split("\n"):
        if not line.startswith("#") or line.startswith("###"):
            break
        lines.append(line.lstrip("# ").strip())
    text = " ".join(lines).replace("|", "\\|")  # a | would end the Markdown table cell
    for prefix in ("Hidden tests (extra credit): ", "Tests (extra credit): ", "Hidden tests: ",
                   "Tests: "):
        if text.startswith(prefix):
            extra = " (extra credit)" if "extra credit" in prefix else ""
            return text[len(prefix):][:1].upper() + text[len(prefix) + 1:] + extra
    return text


def rubric(source: Path = SOURCE) -> str:
    """A Markdown table of every graded cell of every assignment, from the notebooks."""
    lines = ["| Assignment | Cell | Kind | What it checks | Points |", "|---|---|---|---|---|"]
    for name in assignment_names(source):
        nb = nbformat.read(source_notebook(name, source), as_version=4)
        total = 0.0
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if not meta.get("grade"):
                continue
            if meta.get("solution"):
                kind, checks = "manual", "Written answer, graded by hand with the marking guide"
            else:
                kind = "hidden" if "BEGIN HIDDEN TESTS" in cell.source else "visible"
                checks = describe(cell)
            lines.append(f"| {name} | `{meta['grade_id']}` | {kind} | {checks} | "
                         f"{meta['points']:g} |")
            total += float(meta["points"])
        lines.append(f"| {name} | **total** | | | **{total:g}** |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RELEASE,
                        help="where to put <name>/<name>.ipynb (default: assignments/release)")
    parser.add_argument("--rubric", action="store_true",
                        help="print the points of every graded cell as a Markdown table and exit")
    args = parser.parse_args(argv)
    if args.rubric:
        print(rubric())
        return 0
    copied = release(args.out.resolve())
    for path in copied.values():
        print(f"  {path}")
    print(f"Student versions of {len(copied)} assignments are in {args.out.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
