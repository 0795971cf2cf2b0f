"""pytest plugin for the nbval run: fail if any notebook takes 60 s or more to execute.

Loaded by `make test` with `-p nbval_timing` (tests/ on PYTHONPATH). Sums setup, call and teardown
durations of every cell item per notebook file (kernel start included); works under xdist because
the controller receives every report.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

BUDGET_S = 60.0
_durations: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report):
    if ".ipynb" in report.nodeid:
        _durations[report.nodeid.split("::")[0]] += report.duration


def pytest_terminal_summary(terminalreporter):
    if not _durations:
        return
    terminalreporter.section("notebook execution times (budget 60 s each)")
    for nb, seconds in sorted(_durations.items(), key=lambda kv: -kv[1]):
        flag = "  <-- over budget" if seconds >= BUDGET_S else ""
        terminalreporter.write_line(f"{seconds:6.1f} s  {nb}{flag}")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    over = {nb: s for nb, s in _durations.items() if s >= BUDGET_S}
    if over and exitstatus == 0:
        session.exitstatus = 1
        print(f"\nnotebooks over the {BUDGET_S:.0f} s budget: {over}")
