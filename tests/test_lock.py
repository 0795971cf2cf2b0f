"""The same versions everywhere: requirements-lock.txt pins the complete environment.

make, Binder (requirements.txt) and CI install through `-c requirements-lock.txt`; the lock must
cover every package the loose lists name (else: run `make lock`), satisfy their bounds, leave out
rnnlab and torch, and be what this environment actually runs.
"""

from __future__ import annotations

import importlib.metadata as md
import re
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements-lock.txt"
LOOSE = ["requirements.txt", "requirements-dev.txt"]
TEACHER_AND_TEST_TOOLS = {"nbgrader", "pytest", "pytest-xdist", "nbval", "hypothesis",
                          "playwright", "ruff", "uv", "pip-tools", "pypdf", "jupytext"}


def _pins() -> dict[str, list[tuple[str, str]]]:
    """name -> [(version, marker)] from the lock."""
    pins: dict[str, list[tuple[str, str]]] = {}
    for line in LOCK.read_text().splitlines():
        if not line or line.startswith((" ", "#")):
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-\[\],]+)==(\S+?)\s*(?:;\s*(.+))?", line.strip())
        assert match, f"requirements-lock.txt: not an exact pin: {line!r}"
        name, version, marker = match.groups()
        pins.setdefault(canonicalize_name(name.split("[")[0]), []).append((version, marker or ""))
    return pins


def _pin_here(entries: list[tuple[str, str]]) -> str | None:
    """The version pinned for this interpreter and platform."""
    for version, marker in entries:
        if not marker or Marker(marker).evaluate():
            return version
    return None


def _loose(name: str) -> list[Requirement]:
    reqs = []
    for line in (ROOT / name).read_text().splitlines():
        line = line.split(" #", 1)[0].strip()
        if line and not line.startswith(("#", "-")):
            reqs.append(Requirement(line))
    return reqs


@pytest.mark.parametrize("name", LOOSE)
def test_loose_lists_install_through_the_lock(name):
    lines = [line.split(" #", 1)[0].strip() for line in (ROOT / name).read_text().splitlines()]
    assert "-c requirements-lock.txt" in lines, f"{name} must constrain pip to the lock"


@pytest.mark.parametrize("name", LOOSE)
def test_lock_pins_every_loose_requirement_within_its_bounds(name):
    pins = _pins()
    for req in _loose(name):
        key = canonicalize_name(req.name)
        assert key in pins, f"{req.name} ({name}) is not in requirements-lock.txt: run make lock"
        version = _pin_here(pins[key])
        assert version is not None, f"{req.name}: no pin for this Python/platform"
        assert req.specifier.contains(version, prereleases=True), \
            f"{req.name}=={version} in the lock breaks {name}'s bound {req}: run make lock"


def test_lock_leaves_out_rnnlab_and_torch_and_pins_exactly():
    pins = _pins()
    assert len(pins) > 50, "the complete environment, not only the direct requirements"
    assert "rnnlab" not in pins and "torch" not in pins
    assert "-e" not in LOCK.read_text().split(), "no editable installs in a constraints file"


def test_learners_requirements_hold_no_teacher_or_test_tools():
    names = {canonicalize_name(r.name) for r in _loose("requirements.txt")}
    assert names & TEACHER_AND_TEST_TOOLS == set(), "Binder's environment is the learner's"


def test_this_environment_is_the_locked_one():
    """What the tests run on is what the lock says (make venv reinstalls when the lock moves)."""
    drift = []
    for name, entries in _pins().items():
        version = _pin_here(entries)
        if version is None:
            continue
        try:
            installed = md.version(name)
        except md.PackageNotFoundError:
            continue  # e.g. a learner-only machine without the dev tools
        if installed != version:
            drift.append(f"{name} {installed} (lock: {version})")
    assert drift == [], f"installed versions differ from the lock (run make venv): {drift}"


def test_lock_targets_the_binder_python():
    runtime = (ROOT / "runtime.txt").read_text().strip()
    assert runtime.startswith("python-")
    header = "".join(line for line in LOCK.read_text().splitlines(True)[:5] if line[0] == "#")
    assert f"Python {runtime.removeprefix('python-')} from runtime.txt" in header
