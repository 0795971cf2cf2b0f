"""Regenerate requirements-lock.txt: `make lock` runs `python -m tools.lock`.

requirements.txt (what the book and a learner need; Binder installs it) and requirements-dev.txt
(test and teacher tools) list loose lower bounds, and each begins with `-c requirements-lock.txt`:
pip installs exactly the versions pinned there, wherever it runs (make, Binder, CI). This module
resolves the complete environment again from the loose lists with `uv pip compile` (a standard
resolver, from PyPI), for the Python in runtime.txt and for every platform (--universal), and
writes the pins back. rnnlab itself (installed from this checkout) and torch (a CI-only parity
dependency, installed from local disk) are not in the lock.

By default the pins already in the lock are kept where the loose lists still allow them, and
only what is new or no longer allowed is resolved (`make lock`, e.g. after adding a package).
`--upgrade` (`make lock-upgrade`) moves everything to the newest versions the bounds allow;
other options go to `uv pip compile` too, e.g. `--upgrade-package sphinx-book-theme`.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements-lock.txt"
SOURCES = [ROOT / "requirements.txt", ROOT / "requirements-dev.txt"]
NOT_LOCKED = ["rnnlab", "torch"]
UV = "uv==0.13.9"


def python_version() -> str:
    """The Python Binder uses (runtime.txt, e.g. python-3.11 -> 3.11)."""
    text = (ROOT / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-(\d+\.\d+)(\.\d+)?", text)
    if not match:
        raise ValueError(f"runtime.txt must read like 'python-3.11', got {text!r}")
    return match.group(1)


def loose_copy(source: Path, folder: Path) -> Path:
    """`source` without its `-c requirements-lock.txt` line (resolving against the old lock would
    keep every old pin), with `-e .` made absolute so that it still means this checkout."""
    lines = []
    for line in source.read_text().splitlines():
        stripped = line.split("#", 1)[0].strip()
        if re.fullmatch(r"(-c|--constraint)\s*\S*requirements-lock\.txt", stripped):
            continue
        if stripped in ("-e .", "--editable ."):
            line = f"-e {ROOT}"
        lines.append(line)
    out = folder / source.name
    out.write_text("\n".join(lines) + "\n")
    return out


def uv() -> list[str]:
    """The uv command, installing the pinned uv into this Python if it is missing."""
    probe = subprocess.run([sys.executable, "-m", "uv", "--version"], capture_output=True,
                           text=True)
    if probe.returncode != 0 or probe.stdout.split()[1:2] != [UV.split("==")[1]]:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", UV], check=True)
    return [sys.executable, "-m", "uv"]


def main(argv: list[str] | None = None) -> int:
    extra = list(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory() as tmp:
        inputs = [str(loose_copy(s, Path(tmp))) for s in SOURCES]
        cmd = [*uv(), "pip", "compile", *inputs, "--universal",
               "--python-version", python_version(), "--output-file", str(LOCK),
               "--custom-compile-command", "make lock", "--no-header", "--quiet",
               *[arg for name in NOT_LOCKED for arg in ("--no-emit-package", name)], *extra]
        # uv reads the old lock (the output file) for the pins to keep, unless --upgrade.
        result = subprocess.run(cmd, cwd=ROOT)
    if result.returncode != 0:
        return result.returncode
    body = LOCK.read_text().replace(tmp + "/", "")
    LOCK.write_text(
        "# The complete environment the book is built and tested with: every package pinned.\n"
        "# Generated from requirements.txt and requirements-dev.txt by `make lock`\n"
        f"# (uv pip compile --universal, Python {python_version()} from runtime.txt); "
        "do not edit by hand.\n"
        "# rnnlab (this checkout) and torch (CI's parity tests) are deliberately not here.\n"
        + body)
    pins = sum(1 for line in body.splitlines() if "==" in line and not line.startswith("#"))
    print(f"wrote {LOCK.name}: {pins} pinned packages. Now run `make venv` (reinstalls .venv "
          "with these versions), then `make test`.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
