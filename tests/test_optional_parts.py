"""Optional parts never turn `make test` red on a plain machine, and CI's switches keep them on.

The browser stage is run for real with no browser findable (PATH emptied, Playwright's browser
folder pointed at an empty directory): it must exit 0 with the one line that names what to
install, and fail under RNNLAB_REQUIRE_BROWSER=1. That is the failure a fresh machine without
chromium once showed (a module-level skip: nothing collected, pytest exit 5, make failed).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from optional_parts import PARTS, is_required, missing_message, require

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tools import browser as browsers  # noqa: E402


def _browser_stage(tmp_path: Path, **extra: str) -> subprocess.CompletedProcess:
    """`python -m pytest tests/test_browser.py`, the browser stage of `make test`, on a machine
    where no browser can be found."""
    empty = tmp_path / "empty"
    empty.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RNNLAB_", "PYTEST_", "MAKE")) and k != "PYTHONPATH"}
    env.update(PATH=str(empty), PLAYWRIGHT_BROWSERS_PATH=str(empty), **extra)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:xdist",
                           "tests/test_browser.py"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_browser_stage_without_a_browser_skips_with_one_line(tmp_path):
    run = _browser_stage(tmp_path)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    assert "browser: none found" in out, "the header says that no browser was found"
    lines = [line for line in out.splitlines() if "browser tests skipped:" in line]
    assert len(lines) == 1, f"one line says why and what to install: {lines}"
    assert "no chromium found" in lines[0] and "apt-get install chromium" in lines[0]
    assert "playwright install chromium" in lines[0]
    assert " passed" not in out and " skipped" in out, "every browser test is collected, skipped"


def test_browser_stage_without_a_browser_fails_where_required(tmp_path):
    run = _browser_stage(tmp_path, RNNLAB_REQUIRE_BROWSER="1")
    out = run.stdout + run.stderr
    assert run.returncode not in (0, 5), out[-3000:]
    assert "RNNLAB_REQUIRE_BROWSER=1" in out and "apt-get install chromium" in out


def test_an_explicit_browser_path_wins_and_a_wrong_one_is_reported(tmp_path, monkeypatch):
    """RNNLAB_CHROMIUM names the browser explicitly; a wrong path is said so, not ignored."""
    fake = tmp_path / "my-chromium"
    fake.write_text("")
    monkeypatch.setenv("RNNLAB_CHROMIUM", str(fake))
    assert browsers.find_chromium() == browsers.Browser(str(fake), "RNNLAB_CHROMIUM")
    monkeypatch.setenv("RNNLAB_CHROMIUM", str(tmp_path / "no-such-chromium"))
    assert browsers.find_chromium() is None
    assert "no-such-chromium does not exist" in browsers.why_missing()


def test_system_chromium_comes_before_playwright(tmp_path, monkeypatch):
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.delenv("RNNLAB_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert browsers.find_chromium() == browsers.Browser(str(fake), "system")


@pytest.mark.parametrize("part", sorted(PARTS))
def test_require_skips_or_fails_by_the_switch(part, monkeypatch):
    env = PARTS[part].env
    monkeypatch.delenv(env, raising=False)
    require(part, True, "unused")  # available: nothing happens
    assert not is_required(part)
    with pytest.raises(pytest.skip.Exception, match="install: "):
        require(part, False, "it is missing")
    monkeypatch.setenv(env, "1")
    assert is_required(part)
    with pytest.raises(pytest.fail.Exception, match=f"{env}=1"):
        require(part, False, "it is missing")


def test_every_part_names_what_to_install():
    for part in PARTS:
        line = missing_message(part, "it is missing")
        assert line.startswith(f"{part} tests skipped: it is missing; install: ")
        assert "\n" not in line
    with pytest.raises(ValueError, match="part must be one of"):
        require("gpu", False, "no gpu")


def _pdf_stage(tmp_path: Path, **extra: str) -> subprocess.CompletedProcess:
    """`python -m tools.build_pdf --if-possible`, the PDF step of `make test`, with no browser."""
    empty = tmp_path / "empty"
    empty.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RNNLAB_", "MAKE"))}
    env.update(PATH=str(empty), PLAYWRIGHT_BROWSERS_PATH=str(empty), **extra)
    return subprocess.run([sys.executable, "-m", "tools.build_pdf", "--if-possible"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)


def test_pdf_stage_without_a_browser_says_so_and_passes(tmp_path):
    run = _pdf_stage(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = [line for line in run.stdout.splitlines() if line.startswith("PDF skipped:")]
    assert len(lines) == 1 and "apt-get install chromium" in lines[0], run.stdout


def test_pdf_stage_without_a_browser_fails_where_required(tmp_path):
    run = _pdf_stage(tmp_path, RNNLAB_REQUIRE_PDF="1")
    assert run.returncode != 0
    assert "apt-get install chromium" in run.stderr
