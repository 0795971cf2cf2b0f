"""How an assignment's grading is declared: inputs, the calls made in the sandbox, the checks.

A spec module (tools/grade/specs/<anything>.py) defines `SPEC = AssignmentSpec(...)`. Each
graded cell of the source notebook (its nbgrader grade_id) gets one `Check`:

* `inputs(ref)` builds the arrays the calls need (in the trusted process; seeded);
* `run` is a few lines of Python executed in the sandbox after the student's cells, with the
  student's names and the inputs in scope; it stores what the student's code returned in the
  dict `out` (arrays, numbers, strings, or tuples/lists/dicts/sets of them);
* `verify(t)` runs in the trusted process on the plain data that came back, computes the
  reference with the real rnnlab and fails with a message for the student (`t.fail`,
  `t.close`, `t.shape`, ...). Points come from the notebook's metadata, not from here.

Adding an assignment means writing one such module; the grader, the sandbox, the gradebook, the
reports and the Gradescope build pick it up by its `name`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np

from rnnlab import gradcheck


class CheckFailed(Exception):
    """A check's verdict: the test fails with this message for the student."""


@dataclass(frozen=True)
class Check:
    """The grading of one graded cell (grade_id) of the notebook."""

    grade_id: str
    run: str
    verify: Callable[[Verifier], None]
    inputs: Callable[[SimpleNamespace], dict[str, np.ndarray]] = lambda ref: {}


@dataclass(frozen=True)
class AssignmentSpec:
    """Everything the grader needs to know about one assignment.

    name: the nbgrader assignment (folder and notebook name).
    hidden: rnnlab functions ("module.function") students must write themselves; they are stubs
        inside the sandbox.
    checks: one Check per autograded cell.
    teacher_cells: locked cells of the source notebook (grade_ids) whose names the trusted
        checks need (e.g. a problem set-up); they are executed once in the trusted process.
    """

    name: str
    hidden: tuple[str, ...]
    checks: tuple[Check, ...]
    teacher_cells: tuple[str, ...] = ()

    def check(self, grade_id: str) -> Check:
        [found] = [c for c in self.checks if c.grade_id == grade_id]
        return found


@dataclass
class Value:
    """What one entry of `out` held after the call: an array, a sequence, a dict, ... or junk."""

    kind: str
    array: np.ndarray | None = None
    items: list[Value] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    type_name: str = ""

    def describe(self) -> str:
        if self.kind == "array":
            return f"an array of shape {self.array.shape}"
        if self.kind == "seq":
            return f"a sequence of {len(self.items)} values"
        return {"dict": "a dict", "set": "a set", "none": "None"}.get(
            self.kind, f"a {self.type_name or 'value'} that is not an array")


class Verifier:
    """The trusted side of one check: the inputs, the outputs and assertion helpers."""

    def __init__(self, inputs: dict[str, np.ndarray], outputs: dict[str, Value],
                 teacher: dict[str, Any]):
        self.inputs = {k: v.copy() for k, v in inputs.items()}
        self.outputs = outputs
        self.teacher = teacher

    # ---- reading what came back -------------------------------------------------------------
    def value(self, key: str) -> Value:
        if key not in self.outputs:
            self.fail(f"the call did not produce {key!r}")
        return self.outputs[key]

    def array(self, key: str, what: str | None = None) -> np.ndarray:
        """out[key] as a float or int array, or a failure naming what came instead."""
        value = self.value(key)
        if value.kind != "array" or value.array.dtype.kind not in "biuf":
            self.fail(f"{what or key} must be a NumPy array of numbers; got {value.describe()}")
        return value.array

    def arrays(self, key: str, count: int, what: str, names: list[str] | None = None
               ) -> list[np.ndarray]:
        """out[key] as a tuple of `count` numeric arrays (e.g. the gradients a backward returns)."""
        value = self.value(key)
        if value.kind != "seq" or len(value.items) != count:
            self.fail(f"{what} must return {count} values"
                      + (f" ({', '.join(names)})" if names else "")
                      + f"; got {value.describe()}")
        result = []
        for i, item in enumerate(value.items):
            label = names[i] if names else f"value {i}"
            if item.kind != "array" or item.array.dtype.kind not in "biuf":
                self.fail(f"{label} must be a NumPy array of numbers; got {item.describe()}")
            result.append(item.array)
        return result

    def number(self, value: Value, what: str) -> float:
        """A single real number (a float, an int or a one-element array)."""
        self.expect(value.kind == "array" and value.array.size == 1
                    and value.array.dtype.kind in "iuf",
                    f"{what} must be a number; got {value.describe()}")
        return float(value.array.reshape(()))

    def mapping(self, key: str, what: str) -> dict[str, Value]:
        value = self.value(key)
        if value.kind != "dict":
            self.fail(f"{what} must be a dict; got {value.describe()}")
        return dict(zip(value.keys, value.items))

    def strings(self, key: str, what: str) -> set[str] | None:
        """out[key] as a set of strings if it was a set, else None."""
        value = self.value(key)
        if value.kind != "set":
            return None
        return {str(item.array) for item in value.items}

    # ---- verdicts ---------------------------------------------------------------------------
    @staticmethod
    def fail(message: str) -> None:
        raise CheckFailed(message)

    def expect(self, condition: bool, message: str) -> None:
        if not condition:
            self.fail(message)

    def shape(self, actual: np.ndarray, expected: tuple[int, ...], message: str) -> None:
        if tuple(np.shape(actual)) != tuple(expected):
            self.fail(message.format(expected=tuple(expected), got=tuple(np.shape(actual))))

    def gradients_match(self, names: list[str], grads: list[np.ndarray],
                        expected: list[np.ndarray], context: str, *, like_input: bool = False
                        ) -> None:
        """Each gradient has the reference's shape and values (rtol 1e-9, atol 1e-12).

        names:      the gradients' names, e.g. ["dx", "dh0", …]
        grads:      the student's gradients, in that order
        expected:   the reference gradients, in that order
        context:    ends the message "{name} differs from the reference {context}"
        like_input: the shape message names the input, "dq must have shape …, like q"
        """
        for name, g, e in zip(names, grads, expected):
            self.shape(g, e.shape, _gradient_shape_message(name, like_input))
            self.close(g, e, f"{name} differs from the reference {context}", rtol=1e-9,
                       atol=1e-12)

    def gradients_check(self, names: list[str], grads: list[np.ndarray],
                        params: list[np.ndarray], numerical: Callable[[np.ndarray], np.ndarray],
                        *, like_input: bool = False) -> None:
        """Each gradient has its parameter's shape and a relative error < 1e-7 against centred
        differences of the REFERENCE forward (never of the student's own functions).

        names:      the gradients' names, e.g. ["dx", "dh_prev", …]
        grads:      the student's gradients, in that order
        params:     the parameters, in that order (numerical perturbs them in place)
        numerical:  p -> the centred-difference gradient with respect to p
        like_input: the shape message names the input, "dx must have shape …, like x"
        """
        for name, g, p in zip(names, grads, params):
            self.shape(g, p.shape, _gradient_shape_message(name, like_input))
            err = gradcheck.rel_error(g, numerical(p))
            self.expect(err < 1e-7, f"{name}: relative error {err:.1e} against centred "
                        "differences (a correct gradient gives < 1e-7)")

    def close(self, actual, expected, message: str, rtol: float = 1e-7, atol: float = 0.0
              ) -> None:
        """np.testing.assert_allclose's rule, on plain arrays here, with the student's message."""
        actual = np.asarray(actual, dtype=float)
        expected = np.asarray(expected, dtype=float)
        try:
            shape = np.broadcast_shapes(actual.shape, expected.shape)
        except ValueError:
            shape = None
        if shape != actual.shape:
            self.fail(f"{message}\n(shape {actual.shape}, expected {expected.shape})")
        expected = np.broadcast_to(expected, shape)
        ok = np.isclose(actual, expected, rtol=rtol, atol=atol, equal_nan=False)
        if not np.all(ok):
            bad = int(np.size(ok) - np.count_nonzero(ok))
            diff = np.abs(actual - expected)
            worst = float(np.nanmax(diff)) if np.any(np.isfinite(diff)) else float("nan")
            self.fail(f"{message}\n(Not equal to tolerance rtol={rtol:g}, atol={atol:g}: "
                      f"{bad} of {np.size(ok)} elements differ; largest difference {worst:.3g})")

    def equal(self, actual, expected, message: str) -> None:
        if not np.array_equal(np.asarray(actual), np.asarray(expected)):
            self.fail(message)


def _gradient_shape_message(name: str, like_input: bool) -> str:
    """The shape message of a gradient, with {expected} and {got} left for Verifier.shape."""
    like = f", like {name[1:]}" if like_input else ""
    return f"{name} must have shape {{expected}}{like}; got {{got}}"
