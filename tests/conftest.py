"""Shared fixtures. Optional dependencies (torch, chromium) skip their tests when missing, unless
CI sets RNNLAB_REQUIRE_TORCH=1 / RNNLAB_REQUIRE_BROWSER=1, which turns that skip into a failure."""

from __future__ import annotations

import os

import numpy as np
import pytest


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
