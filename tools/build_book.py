"""Build the HTML book: `make book` runs `python -m tools.build_book`.

Executes every notebook (cached in _build/.jupyter_cache), treats every Sphinx warning as an error
(-W, no --keep-going), and prints where the book is and how long the build took.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    start = time.perf_counter()
    cmd = [sys.executable, "-m", "jupyter_book", "build", str(ROOT), "--warningiserror"]
    jb = Path(sys.executable).with_name("jupyter-book")
    if jb.exists():
        cmd = [str(jb), "build", str(ROOT), "--warningiserror"]
    result = subprocess.run(cmd, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        print(f"book build FAILED after {elapsed:.0f} s", file=sys.stderr)
        return result.returncode
    index = ROOT / "_build" / "html" / "index.html"
    print(f"\nThe book is at {index} (built in {elapsed:.0f} s).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
