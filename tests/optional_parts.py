"""One rule for the parts of the test suite that a plain machine may lack.

torch, a headless browser, the bubblewrap sandbox and the PDF tool are optional: where one is
missing its tests skip with one line that names what to install, and `make test` stays green.
CI sets `RNNLAB_REQUIRE_<PART>=1` (e.g. RNNLAB_REQUIRE_BROWSER=1), which turns that skip into a
failure, so there they always run.

Use it from a test or a fixture:

    from optional_parts import require

    def test_something():
        bwrap = shutil.which("bwrap")
        require("sandbox", bwrap is not None, "no bwrap on PATH")

Never skip a whole module at import time (`pytest.skip(..., allow_module_level=True)`): a run
whose only module skips that way collects nothing and pytest exits 5, which fails make. Skip in a
fixture or in the test, so that the tests are collected and reported as skipped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class Part:
    name: str
    env: str
    install: str


PARTS = {
    "torch": Part("torch", "RNNLAB_REQUIRE_TORCH", ".venv/bin/pip install torch==2.13.0"),
    "browser": Part("browser", "RNNLAB_REQUIRE_BROWSER",
                    "apt-get install chromium (or: .venv/bin/python -m playwright install "
                    "chromium)"),
    "sandbox": Part("sandbox", "RNNLAB_REQUIRE_SANDBOX", "apt-get install bubblewrap"),
    "pdf": Part("pdf", "RNNLAB_REQUIRE_PDF",
                "a browser for `make pdf`: apt-get install chromium"),
}


def is_required(part: str) -> bool:
    """True where CI demands that `part`'s tests run (RNNLAB_REQUIRE_<PART>=1)."""
    return os.environ.get(_part(part).env) == "1"


def missing_message(part: str, why: str) -> str:
    """The one line a skip prints: what is missing and what to install."""
    p = _part(part)
    return f"{p.name} tests skipped: {why}; install: {p.install}"


def missing_parts_summary(skipped_reports) -> list[str]:
    """The distinct one-line reasons among skipped test reports that come from `require`.

    pytest's own `-rs` prints one line per test function; the suite's conftest prints these
    instead, one line per missing part."""
    prefixes = tuple(f"{p.name} tests skipped: " for p in PARTS.values())
    lines: list[str] = []
    for report in skipped_reports:
        longrepr = getattr(report, "longrepr", None)
        reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else ""
        reason = reason.removeprefix("Skipped: ")
        if reason.startswith(prefixes) and reason not in lines:
            lines.append(reason)
    return lines


def require(part: str, available: bool, why: str) -> None:
    """Return if `available`; otherwise skip with one line, or fail where CI requires `part`."""
    if available:
        return
    p = _part(part)
    if is_required(part):
        pytest.fail(f"{p.name} is required here ({p.env}=1) but {why}; install: {p.install}",
                    pytrace=False)
    pytest.skip(missing_message(part, why))


def _part(part: str) -> Part:
    try:
        return PARTS[part]
    except KeyError:
        raise ValueError(f"part must be one of {sorted(PARTS)}, got {part!r}") from None
