"""Shared fixtures. Shared helper functions live in ``tests/helpers.py`` (an importable module).

Optional dependencies (torch, chromium) skip their tests when missing, unless CI sets
RNNLAB_REQUIRE_TORCH=1 / RNNLAB_REQUIRE_BROWSER=1, which turns that skip into a failure."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(0)
