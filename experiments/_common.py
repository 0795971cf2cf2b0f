"""What every ``experiments/*_seeds.py``-style script shares: its command line and how it writes
its results.

Imported by the scripts as ``from _common import ...`` (a script's own folder is on ``sys.path``
when it runs, and the notebooks and tests put ``experiments/`` there before importing one). It
imports neither NumPy nor rnnlab, so a script can still set its BLAS variables first.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def results_parser(doc: str, *, jobs_help: str | None = None) -> argparse.ArgumentParser:
    """The options every such script takes: --quick, --out and, for scripts that run their seeds
    in parallel, --jobs.

    doc:       the script's docstring; its first paragraph becomes the description
    jobs_help: the help text of --jobs (None: the script has no --jobs)
    """
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="run only the quick setting")
    parser.add_argument("--out", type=Path, default=None, help="where to write the JSON")
    if jobs_help is not None:
        parser.add_argument("--jobs", type=int, default=1, help=jobs_help)
    return parser


def write_results(result: dict, out: Path, start: float) -> None:
    """Stamp the wall time since `start` into result["meta"], write `result` as indented JSON to
    `out` (creating its folder) and say where on stderr.

    result: the results, with a "meta" dict
    out:    the JSON file to write
    start:  time.perf_counter() when the run began
    """
    result["meta"]["wall_time_s"] = round(time.perf_counter() - start, 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out} in {result['meta']['wall_time_s']} s", file=sys.stderr)
