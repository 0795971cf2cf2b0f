"""Tamper-proof autograding of the book's nbgrader assignments (teacher side).

    python -m tools.grade course DIR                   # new course directory (make course)
    python -m tools.grade grade DIR [--assignment A] [--workers N] [--unsafe-no-sandbox]
    python -m tools.grade gradescope [--out DIR]       # one Gradescope autograder zip each
    python -m tools.grade gradescope-run               # inside Gradescope: grade /autograder

Student code runs in a bubblewrap sandbox; the grades are decided outside it. See
chapters/08_teaching/teachers.md for the threat model.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools.grade import sandbox


def _limits(args) -> sandbox.Limits:
    return sandbox.Limits(cpu_seconds=args.time_limit, memory_bytes=args.memory_mb << 20)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.grade",
                                     description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_course = sub.add_parser("course", help="create a ready course directory")
    p_course.add_argument("dir", type=Path)
    for name in ("grade", "gradescope-run"):
        p = sub.add_parser(name)
        if name == "grade":
            p.add_argument("dir", type=Path, help="the course directory")
            p.add_argument("--assignment", default=None, help="grade only this assignment")
            p.add_argument("--workers", type=int, default=None,
                           help="submissions graded side by side (default: number of cores)")
        else:
            p.add_argument("--root", type=Path, default=Path("/autograder"))
            p.add_argument("--assignment", required=True)
        p.add_argument("--time-limit", type=float, default=10.0,
                       help="CPU seconds per answer cell and per test (default 10)")
        p.add_argument("--memory-mb", type=int, default=1024,
                       help="address space of a submission's process, MiB (default 1024)")
        p.add_argument("--unsafe-no-sandbox", action="store_true",
                       help="DANGEROUS: run student code without a sandbox (trusted code only)")
    p_gs = sub.add_parser("gradescope", help="build one Gradescope autograder zip per assignment")
    p_gs.add_argument("--out", type=Path, default=Path("gradescope"))
    args = parser.parse_args(argv)

    try:
        if args.command == "course":
            from tools.grade import course
            names = course.create(args.dir)
            print(f"course directory {args.dir.resolve()} is ready: {', '.join(names)} "
                  "generated into release/, gradebook.db created")
        elif args.command == "grade":
            from tools.grade import course
            course.grade_course(args.dir, args.assignment, args.workers, _limits(args),
                                unsafe=args.unsafe_no_sandbox)
        elif args.command == "gradescope":
            from tools.grade import gradescope
            for path in gradescope.build_all(args.out.resolve()):
                print(f"  {path}")
        else:
            from tools.grade import gradescope
            gradescope.run(args.root, args.assignment, _limits(args),
                           unsafe=args.unsafe_no_sandbox)
    except sandbox.SandboxUnavailable as error:
        print(f"error: refusing to grade: {error}.\nGrading without a sandbox lets a submission "
              "read the solutions and change other students' grades; if you accept that risk, "
              "pass --unsafe-no-sandbox.", file=sys.stderr)
        return 3
    except (FileNotFoundError, FileExistsError, KeyError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
