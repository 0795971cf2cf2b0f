"""Grade one submission: run it in the sandbox, read back plain data, decide. Trusted side.

A step that kills the runner (a loop past its time limit, os._exit, a crash, a killed process)
is recorded and the runner starts again without it, so a fault costs only the tests that depend
on it. Every verdict is computed here, from arrays loaded with allow_pickle=False.
"""

from __future__ import annotations

import io
import json
import shutil
import signal
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tools.grade import program, sandbox
from tools.grade.spec import AssignmentSpec, CheckFailed, Value, Verifier

RUNNER = Path(__file__).with_name("runner.py")
STATUSES = ("ok", "failed", "error", "timeout", "memory", "not_graded")
MAX_JSON = 1 << 20
MAX_ARRAY_BYTES = 16 << 20


@dataclass
class TestResult:
    """The verdict on one graded cell."""

    grade_id: str
    status: str  # one of STATUSES
    message: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "ok"


@dataclass
class StepOutput:
    """What a student's cell printed, and its error, for the autograded notebook."""

    stdout: str = ""
    status: str = "ok"
    error: str | None = None


@dataclass
class SubmissionResult:
    tests: dict[str, TestResult]
    cells: dict[str, StepOutput] = field(default_factory=dict)
    program: list[program.ProgramCell] = field(default_factory=list)
    runs: int = 0
    cpu_seconds: float = 0.0  # reported by the sandboxed runner (statistics, not grading)
    notebook: Any = None  # the submitted notebook node, if it could be read


@dataclass
class Prepared:
    """Per-assignment things computed once: inputs, the stubbed rnnlab, the teacher's names."""

    spec: AssignmentSpec
    release: Any
    inputs: dict[str, np.ndarray]
    input_names: dict[str, dict[str, str]]  # grade_id -> variable name -> key in inputs.npz
    teacher: dict[str, Any]
    stub_rnnlab: Path
    real_rnnlab: Path


def _timeout_message(limits: sandbox.Limits) -> str:
    return (f"TimeoutError: stopped after the time limit ({limits.cpu_seconds:g} s of CPU per "
            "test): an infinite loop?")


def _death_status(run: sandbox.RunResult, limits: sandbox.Limits) -> tuple[str, str]:
    """Why the runner died during a step: (status, message)."""
    rc = run.returncode if run.returncode is not None else 0
    signals = {abs(rc), rc - 128}
    if run.killed_for_time or signal.SIGXCPU in signals:
        return "timeout", _timeout_message(limits)
    if "MemoryError" in run.stderr:
        return "memory", "MemoryError: the memory limit was reached"
    if signal.SIGKILL in signals:
        return "error", ("the Python process running this code was killed (SIGKILL): by the "
                         "code itself, or by the system for lack of memory")
    return "error", (f"the Python process running this code ended (exit status {rc}): "
                     "os._exit, a crash or a killed interpreter; nothing was returned")


def _read_json(payload: bytes | None) -> dict | None:
    if payload is None or len(payload) > MAX_JSON:
        return None
    try:
        data = json.loads(payload.decode("utf-8"))
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("status") not in ("ok", "error", "memory"):
        return None
    for key in ("error", "stdout"):
        if data.get(key) is not None and not isinstance(data[key], str):
            return None
    return data


def _load_arrays(payload: bytes | None) -> dict[str, np.ndarray]:
    """The arrays of an .npz the sandbox sent: no pickles, numbers and strings only, bounded."""
    if payload is None or len(payload) > MAX_ARRAY_BYTES:
        raise ValueError("no readable results")
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        if sum(info.file_size for info in archive.infolist()) > MAX_ARRAY_BYTES:
            raise ValueError("results too large")
    arrays = {}
    with np.load(io.BytesIO(payload), allow_pickle=False) as data:
        for key in data.files:
            array = data[key]
            if type(array) is not np.ndarray or array.dtype.kind not in "biufcU":
                raise ValueError(f"unexpected data in {key}")
            arrays[key] = np.array(array)
    return arrays


def _to_value(structure: Any, name: str, arrays: dict[str, np.ndarray], depth: int = 0) -> Value:
    if not isinstance(structure, dict) or depth > 20:
        return Value("invalid")
    kind = structure.get("kind")
    if kind == "array":
        if name not in arrays:
            return Value("invalid")
        return Value("array", array=arrays[name])
    if kind in ("seq", "set", "dict"):
        items = structure.get("items")
        if not isinstance(items, list) or len(items) > 100_000:
            return Value("invalid")
        keys = structure.get("keys") if kind == "dict" else [str(i) for i in range(len(items))]
        if kind == "set":
            keys = [str(i) for i in range(len(items))]
        if not isinstance(keys, list) or len(keys) != len(items):
            return Value("invalid")
        keys = [str(k) for k in keys]
        return Value(kind, items=[_to_value(s, f"{name}.{k}", arrays, depth + 1)
                                  for s, k in zip(items, keys)], keys=keys)
    if kind == "none":
        return Value("none")
    type_name = structure.get("type") if isinstance(structure.get("type"), str) else ""
    return Value("invalid", type_name=type_name[:80])


def grade(prepared: Prepared, submission_path: Path, limits: sandbox.Limits, *, sandboxed: bool,
          workroot: Path | None = None) -> SubmissionResult:
    """Grade the notebook at `submission_path` against `prepared.spec`."""
    spec = prepared.spec
    try:
        notebook = program.read_notebook(submission_path)
    except ValueError as error:
        return SubmissionResult({c.grade_id: TestResult(c.grade_id, "not_graded", str(error))
                                 for c in spec.checks})
    cells = program.build(prepared.release, notebook)
    steps = [c.cell_id for c in cells] + [f"check:{c.grade_id}" for c in spec.checks]
    result = SubmissionResult({}, program=cells, notebook=notebook)
    interrupted: dict[str, tuple[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="rnnlab-submission-", dir=workroot) as tmp:
        workdir = Path(tmp)
        np.savez(workdir / "inputs.npz", **prepared.inputs)
        shutil.copy(RUNNER, workdir / "runner.py")
        probes = [{"id": f"check:{c.grade_id}", "code": c.run,
                   "inputs": prepared.input_names[c.grade_id]} for c in spec.checks]
        plan = {"cells": [{"id": c.cell_id, "source": c.source} for c in cells],
                "probes": probes, "skip": [],
                "rnnlab_path": str((prepared.real_rnnlab if sandboxed
                                    else prepared.stub_rnnlab).parent),
                "limits": limits.for_plan(len(steps))}
        done: set[str] = set()
        payloads: dict[tuple[str, str], bytes] = {}
        for _ in range(len(steps) + 1):
            plan["skip"] = sorted(interrupted) + sorted(s for s in done if s.startswith("check:"))
            (workdir / "plan.json").write_text(json.dumps(plan))
            run = sandbox.run(["runner.py", "plan.json"], workdir, limits, len(steps),
                              sandboxed=sandboxed, stub_rnnlab=prepared.stub_rnnlab,
                              real_rnnlab=prepared.real_rnnlab)
            result.runs += 1
            done |= set(run.done)
            payloads.update(run.payloads)
            result.cpu_seconds += run.cpu_seconds
            if run.finished:
                break
            step = run.interrupted
            if step is None or step not in steps or step in interrupted:
                message = ("the sandbox ended before grading could finish: "
                           + (run.stderr.strip()[-500:] or f"exit status {run.returncode}"))
                for s in steps:
                    if s not in done and s not in interrupted:
                        interrupted[s] = ("error", message)
                break
            interrupted[step] = _death_status(run, limits)
        for cell in cells:
            if cell.cell_id in interrupted:
                status, message = interrupted[cell.cell_id]
                result.cells[cell.cell_id] = StepOutput("", status, message)
                continue
            data = _read_json(payloads.get(("json", cell.cell_id))) or {}
            result.cells[cell.cell_id] = StepOutput(data.get("stdout") or "",
                                                    data.get("status", "error"),
                                                    data.get("error"))
        for check in spec.checks:
            step = f"check:{check.grade_id}"
            if step in interrupted:
                status, message = interrupted[step]
                result.tests[check.grade_id] = TestResult(check.grade_id, status, message)
                continue
            result.tests[check.grade_id] = _verdict(prepared, check, payloads, step, result)
    return result


def _failed_cells_note(result: SubmissionResult) -> str:
    failed = [(cid, s) for cid, s in result.cells.items() if s.status != "ok"]
    if not failed:
        return ""
    cid, step = failed[0]
    name = cid.split(":", 1)[1]
    return f" (the cell {name!r} did not finish: {(step.error or step.status).splitlines()[-1]})"


def _verdict(prepared: Prepared, check, payloads: dict[tuple[str, str], bytes], step: str,
             result: SubmissionResult) -> TestResult:
    gid = check.grade_id
    data = _read_json(payloads.get(("json", step)))
    if data is None:
        return TestResult(gid, "error", "the test's calls returned nothing readable")
    if data["status"] != "ok":
        message = data.get("error") or data["status"]
        if message.startswith("NameError"):
            message += _failed_cells_note(result)
        return TestResult(gid, data["status"], message)
    try:
        arrays = _load_arrays(payloads.get(("npz", step)))
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        return TestResult(gid, "error", f"the results could not be read: {error}")
    structure = data.get("structure")
    if not isinstance(structure, dict):
        return TestResult(gid, "error", "the test's calls returned nothing readable")
    outputs = {str(k): _to_value(v, str(k), arrays) for k, v in structure.items()}
    own = {k.split("/", 1)[1]: v for k, v in prepared.inputs.items() if k.startswith(gid + "/")}
    verifier = Verifier(own, outputs, prepared.teacher)
    try:
        with np.errstate(all="ignore"):
            check.verify(verifier)
    except CheckFailed as failure:
        return TestResult(gid, "failed", str(failure))
    return TestResult(gid, "ok", "")
