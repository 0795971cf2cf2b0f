"""Shared fixtures. Optional dependencies (torch, chromium) skip their tests when missing, unless
CI sets RNNLAB_REQUIRE_TORCH=1 / RNNLAB_REQUIRE_BROWSER=1, which turns that skip into a failure."""

from __future__ import annotations

import os

import numpy as np
import pytest

GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def run_cell(cell, x, h0, Wx, Wh, b, dh=None):
    """Forward and backward of one cell's sequence functions (the GRU gets bx = bh = b).

    dh defaults to ones; returns (h, grads)."""
    from rnnlab import layers

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


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def require_torch():
    """Import torch, or skip — or fail when CI demands the parity tests run."""
    try:
        import torch
    except ImportError:
        if os.environ.get("RNNLAB_REQUIRE_TORCH") == "1":
            pytest.fail("torch is not installed but RNNLAB_REQUIRE_TORCH=1: the parity tests "
                        "must run in CI (pip install torch==2.13.0)")
        pytest.skip("torch is not installed (optional; CI installs it)")
    return torch


def require_sandbox():
    """Check that bubblewrap can sandbox here, or skip — or fail when CI demands the sandbox."""
    from tools.grade import sandbox

    try:
        sandbox.check_available()
    except sandbox.SandboxUnavailable as error:
        if os.environ.get("RNNLAB_REQUIRE_SANDBOX") == "1":
            pytest.fail(f"RNNLAB_REQUIRE_SANDBOX=1 but {error}")
        pytest.skip("no sandbox: apt-get install bubblewrap (optional; CI installs it)")
