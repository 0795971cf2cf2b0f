"""Helpers shared by the test modules (import them: ``from helpers import run_cell``).

pytest puts ``tests/`` on ``sys.path`` (rootdir-relative "prepend" import mode), so this is an
ordinary module; ``conftest.py`` keeps only fixtures.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from optional_parts import require

from rnnlab import layers
from rnnlab.models import MODELS

CELLS = tuple(MODELS)  # "rnn", "lstm", "gru"


def gate_blocks(cell: str) -> int:
    """Number of gate blocks G in the cell's weights (Wx: (D, G·H)), as the models define it."""
    return MODELS[cell].gates


def run_cell(cell: str, x, h0, Wx, Wh, b, dh=None):
    """Forward and backward of one cell's sequence functions (the GRU gets bx = bh = b).

    x: (N, T, D); h0: (N, H); Wx: (D, G·H); Wh: (H, G·H); b: (G·H,); dh: (N, T, H) or ones.
    Returns (h, grads) with grads the backward's full tuple.
    """
    if cell == "rnn":
        h, cache = layers.rnn_forward(x, h0, Wx, Wh, b)
        back = layers.rnn_backward
    elif cell == "lstm":
        h, cache = layers.lstm_forward(x, h0, Wx, Wh, b)
        back = layers.lstm_backward
    else:
        h, cache = layers.gru_forward(x, h0, Wx, Wh, b, b.copy())
        back = layers.gru_backward
    return h, back(np.ones_like(h) if dh is None else dh, cache)


def require_torch():
    """Import torch, or skip with one line — or fail where CI sets RNNLAB_REQUIRE_TORCH=1."""
    try:
        import torch
    except ImportError:
        torch = None
    require("torch", torch is not None, "torch is not installed")
    return torch


def require_sandbox():
    """Check that bubblewrap can sandbox here, or skip with one line — or fail where CI sets
    RNNLAB_REQUIRE_SANDBOX=1."""
    from tools.grade import sandbox

    try:
        sandbox.check_available()
    except sandbox.SandboxUnavailable as error:
        require("sandbox", False, str(error))


def run_quick(script, tmp_path, timeout: float = 120) -> dict:
    """Run an experiments/ script's quick setting (``--quick``) and return the JSON it wrote.

    One BLAS thread: with small matrices, multithreaded OpenBLAS is several times slower on a
    busy machine (the quick settings are float64, whose results do not depend on the threads).
    """
    out = Path(tmp_path) / "quick.json"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    subprocess.run([sys.executable, str(script), "--quick", "--out", str(out)], check=True,
                   cwd=Path(__file__).resolve().parents[1], capture_output=True, timeout=timeout,
                   env=env)
    return json.loads(out.read_text())


def assert_same_results(new, old, where: str = "") -> None:
    """An experiment's re-run against its committed JSON: equal structure; floats equal to 1e-9
    relative (float64, one BLAS thread: a difference means the code or the data changed, not the
    machine); integers, unit indices, counts and strings exact.

    new:   the re-run's results (parsed JSON)
    old:   the committed results
    where: the path inside the results, for the assertion message
    """
    if isinstance(old, dict):
        assert new.keys() == old.keys(), where
        for key in old:
            assert_same_results(new[key], old[key], f"{where}.{key}")
    elif isinstance(old, list):
        assert len(new) == len(old), where
        for i, (a, b) in enumerate(zip(new, old)):
            assert_same_results(a, b, f"{where}[{i}]")
    elif isinstance(old, float):
        assert math.isclose(new, old, rel_tol=1e-9, abs_tol=1e-12), (where, new, old)
    else:
        assert new == old, (where, new, old)


def load_experiment(name: str):
    """Import ``experiments/<name>.py`` as a module, with ``experiments/`` on ``sys.path`` as when
    the script runs (the scripts import their shared ``_common``), as the notebooks do.

    name: the script's file name without ``.py``, e.g. "attention_sweep"
    """
    import importlib

    folder = str(Path(__file__).resolve().parents[1] / "experiments")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module(name)
