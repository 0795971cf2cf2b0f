"""One module per assignment, each defining `SPEC` (see tools/grade/spec.py)."""

from __future__ import annotations

import importlib
import pkgutil

from tools.grade.spec import AssignmentSpec


def all_specs() -> dict[str, AssignmentSpec]:
    """Every assignment the grader knows, by name (every module here with a SPEC)."""
    specs = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        spec = getattr(module, "SPEC", None)
        if isinstance(spec, AssignmentSpec):
            specs[spec.name] = spec
    return specs
