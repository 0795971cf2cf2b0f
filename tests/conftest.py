"""Shared fixtures; helper functions live in ``tests/helpers.py``. Optional parts (torch, a
browser, the sandbox, the PDF tool) skip their tests with one line when missing, unless CI sets
RNNLAB_REQUIRE_<PART>=1, which turns that skip into a failure: the rule lives in
tests/optional_parts.py."""

from __future__ import annotations

import numpy as np
import pytest
from optional_parts import missing_parts_summary


def pytest_terminal_summary(terminalreporter):
    """One line per optional part that was skipped, naming what to install."""
    lines = missing_parts_summary(terminalreporter.stats.get("skipped", []))
    if lines:
        terminalreporter.section("optional parts not tested on this machine", sep="-")
        for line in lines:
            terminalreporter.write_line(line)


def pytest_report_header(config):
    """Say which browser the browser and PDF tests drive (a system or a Playwright chromium)."""
    if not any("test_browser" in a or "test_pdf" in a for a in config.args):
        return None
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tools.browser import find_chromium

    found = find_chromium()
    return f"browser: {found.describe() if found else 'none found'}"


@pytest.fixture
def rng():
    return np.random.default_rng(0)
