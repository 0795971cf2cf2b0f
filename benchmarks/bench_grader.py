"""Grading throughput: submissions per minute for N correct submissions of each assignment.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/bench_grader.py \\
        [--students 200] [--workers 2]

For each assignment: a fresh course (`make course`), N copies of the correct solution under
submitted/, then `make grade`'s code path in full (sandbox per submission, trusted checks,
gradebook, autograded notebooks, grades.csv), timed from start to the last row written. Goal:
>= 60 submissions per minute on the 2-core development machine with WORKERS=2.

Wall-clock throughput depends on what else the machine runs, so the table also gives the CPU
time per submission (the trusted grader plus the Python run inside each sandbox; bubblewrap's
own few milliseconds are not counted) and the throughput that CPU time would allow on
`--workers` otherwise idle cores.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools import make_assignment_fixtures as mf  # noqa: E402
from tools import release_assignments as ra  # noqa: E402
from tools.grade import course as grader  # noqa: E402


def _cpu_seconds() -> float:
    """CPU time of this process and its waited-for children (bwrap does not pass on the time of
    what ran inside it: the runner reports that itself, stats["sandbox_cpu_seconds"])."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--assignment", action="append", default=None)
    args = parser.parse_args(argv)
    names = args.assignment or ra.assignment_names()
    print(f"{args.students} correct submissions per assignment, {args.workers} workers\n")
    print("| assignment | submissions | wall (s) | submissions/minute | CPU s per submission | "
          "submissions/minute if the cores were ours |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in names:
        with tempfile.TemporaryDirectory(prefix="rnnlab-bench-grader-") as tmp:
            course = Path(tmp) / "course"
            grader.create(course)
            for i in range(args.students):
                dest = course / "submitted" / f"student{i:03d}" / name
                dest.mkdir(parents=True)
                shutil.copy(mf.FIXTURES / name / f"{mf.CORRECT}.ipynb", dest / f"{name}.ipynb")
            cpu_before = _cpu_seconds()
            stats: dict = {}
            start = time.perf_counter()
            rows = grader.grade_course(course, name, workers=args.workers, log=lambda *a: None,
                                       stats=stats)
            seconds = time.perf_counter() - start
            cpu = (_cpu_seconds() - cpu_before + stats["sandbox_cpu_seconds"]) / args.students
            assert all(r.status in ("ok", "not_graded") for r in rows), "a correct one failed"
            print(f"| {name} | {args.students} | {seconds:.1f} | "
                  f"{60 * args.students / seconds:.0f} | {cpu:.2f} | "
                  f"{60 * args.workers / cpu:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
