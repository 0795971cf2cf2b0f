"""The program that runs INSIDE the sandbox: the student's cells, then the probes. Untrusted side.

It imports nothing from the project (only the standard library and NumPy), because it runs with
the student's code in one interpreter and everything it does can be undone by that code. Nothing
it writes is believed: the trusted grader reads back only plain data (JSON with strings and
numbers, `.npz` arrays loaded with allow_pickle=False) and decides every grade itself.

    python -E -s runner.py plan.json FD

plan.json: {"cells": [{"id", "source"}], "probes": [{"id", "code", "inputs": [names]}],
            "skip": [step ids], "limits": {"cpu_seconds", "total_cpu_seconds", "memory_bytes",
            "file_bytes", "processes"}}
Everything goes back on the pipe FD, one line per message: "start <step>" and "done <step>" for
the grader's watchdog, and "json <step> <base64>" (status, error, printed text, the structure of
the outputs) and "npz <step> <base64>" (the outputs as arrays) per step. The sandbox has no
writable directory outside its own size-limited tmpfs, so nothing else leaves it.
"""

import base64
import io
import json
import os
import resource
import sys
import traceback

TEXT_LIMIT = 20_000  # characters of a step's printed output kept for the feedback


class _CappedText(io.TextIOBase):
    """A stdout/stderr that keeps only the first TEXT_LIMIT characters."""

    def __init__(self):
        self.parts, self.size = [], 0

    def writable(self):
        return True

    def write(self, text):
        text = str(text)
        if self.size < TEXT_LIMIT:
            self.parts.append(text[:TEXT_LIMIT - self.size])
        self.size += len(text)
        return len(text)

    def getvalue(self):
        value = "".join(self.parts)
        return value + ("\n[output truncated]" if self.size > TEXT_LIMIT else "")


def set_limits(limits):
    """Hard limits for this process and its children, before any student code runs."""
    def hard(kind, value):
        resource.setrlimit(kind, (value, value))

    hard(resource.RLIMIT_AS, int(limits["memory_bytes"]))
    hard(resource.RLIMIT_FSIZE, int(limits["file_bytes"]))
    hard(resource.RLIMIT_NPROC, int(limits["processes"]))
    hard(resource.RLIMIT_CORE, 0)
    total = int(limits["total_cpu_seconds"])
    resource.setrlimit(resource.RLIMIT_CPU, (total, total + 1))


def cpu_budget(seconds):
    """SIGXCPU after `seconds` more CPU seconds (the hard limit set above stays the backstop)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    _, hard_limit = resource.getrlimit(resource.RLIMIT_CPU)
    soft = min(int(used + seconds) + 1, hard_limit)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard_limit))


def without_magics(source):
    """A notebook cell as plain Python: IPython magics (%, %%) and shell lines (!) are removed."""
    lines = source.split("\n")
    if lines and lines[0].lstrip().startswith("%%"):
        lines = lines[1:]  # a cell magic: run the body as plain Python
    kept = []
    for line in lines:
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            indent = line[:len(line) - len(stripped)]
            kept.append(f"{indent}pass  # removed by the grader: {stripped[:60]}")
        else:
            kept.append(line)
    return "\n".join(kept)


def plain(value, name, arrays, np):
    """Convert a probe output to plain arrays; returns its structure (array, seq or dict)."""
    if isinstance(value, (tuple, list)) and not isinstance(value, str):
        items = list(value)
        return {"kind": "seq", "items": [plain(v, f"{name}.{i}", arrays, np)
                                         for i, v in enumerate(items)]}
    if isinstance(value, dict):
        keys = [str(k) for k in value]
        return {"kind": "dict", "keys": keys,
                "items": [plain(v, f"{name}.{k}", arrays, np)
                          for k, v in zip(keys, value.values())]}
    if isinstance(value, (set, frozenset)):
        return {"kind": "set", "items": [plain(v, f"{name}.{i}", arrays, np)
                                         for i, v in enumerate(sorted(map(str, value)))]}
    if value is None:
        return {"kind": "none"}
    try:
        array = np.array(value)
    except Exception as error:  # noqa: BLE001 (any failure of the student's object)
        return {"kind": "invalid", "type": type(value).__name__, "error": str(error)[:200]}
    if array.dtype.kind not in "biufcU":
        return {"kind": "invalid", "type": type(value).__name__}
    arrays[name] = array
    return {"kind": "array"}


def describe(error):
    text = "".join(traceback.format_exception_only(type(error), error)).strip()
    return text[-2000:]


def main():
    plan_path = sys.argv[1]
    with open(plan_path) as f:
        plan = json.load(f)
    set_limits(plan["limits"])
    try:
        progress = os.fdopen(int(sys.argv[2]), "w", buffering=1)
    except OSError:
        progress = open(os.devnull, "w")
    skip = set(plan["skip"])
    sys.path.insert(0, plan["rnnlab_path"])
    import numpy as np

    import rnnlab.layers as rnnlab_layers

    inputs = np.load("inputs.npz", allow_pickle=False)
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    real_stdout, real_stderr = sys.stdout, sys.stderr
    seconds = float(plan["limits"]["cpu_seconds"])

    def send(kind, step_id, payload):
        progress.write(f"{kind} {step_id} {base64.b64encode(payload).decode()}\n")

    def run(step_id, source, probe_inputs=None):
        progress.write(f"start {step_id}\n")
        captured = _CappedText()
        result = {"status": "ok", "error": None, "structure": None}
        out = {}
        arrays = {}
        sys.stdout = sys.stderr = captured
        cpu_budget(seconds)
        try:
            code = compile(without_magics(source), f"<{step_id}>", "exec")
            if probe_inputs is None:
                exec(code, namespace)
            else:
                scope = dict(namespace)
                scope.update({name: np.array(inputs[key]) for name, key in probe_inputs.items()})
                scope["out"] = out
                scope["np"] = np
                scope["rnnlab_layers"] = rnnlab_layers
                exec(code, scope)
                result["structure"] = {k: plain(v, k, arrays, np) for k, v in out.items()}
        except MemoryError as error:
            result = {"status": "memory", "error": describe(error), "structure": None}
        except BaseException as error:  # noqa: BLE001 (SystemExit, KeyboardInterrupt too)
            result = {"status": "error", "error": describe(error), "structure": None}
        finally:
            sys.stdout, sys.stderr = real_stdout, real_stderr
        result["stdout"] = captured.getvalue()
        if probe_inputs is not None and result["status"] == "ok":
            buffer = io.BytesIO()
            np.savez(buffer, **arrays)
            send("npz", step_id, buffer.getvalue())
        send("json", step_id, json.dumps(result).encode())
        progress.write(f"done {step_id}\n")

    for cell in plan["cells"]:
        if cell["id"] not in skip:
            run(cell["id"], cell["source"])
    for probe in plan["probes"]:
        if probe["id"] not in skip:
            run(probe["id"], probe["code"], probe["inputs"])
    usage = resource.getrusage(resource.RUSAGE_SELF)
    progress.write(f"finished {usage.ru_utime + usage.ru_stime:.3f}\n")
    os._exit(0)  # no atexit handler or finaliser the student registered gets to run


if __name__ == "__main__":
    main()
