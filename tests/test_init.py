from __future__ import annotations

import numpy as np
import pytest

from rnnlab import init


def test_scale_to_spectral_radius(rng):
    W = rng.standard_normal((10, 10))
    for rho in [0.1, 1.0, 3.0]:
        assert init.spectral_radius(init.scale_to_spectral_radius(W, rho)) == pytest.approx(rho)


def test_orthogonal(rng):
    Q = init.orthogonal((6, 6), rng, gain=2.0)
    np.testing.assert_allclose(Q.T @ Q, 4 * np.eye(6), atol=1e-12)
    R = init.orthogonal((3, 7), 1)
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)


def test_recurrent_matrix_kinds():
    g = init.recurrent_matrix(64, 0.9, 0, kind="gaussian")
    o = init.recurrent_matrix(64, 0.9, 0, kind="orthogonal")
    assert init.spectral_radius(g) == pytest.approx(0.9)
    assert init.spectral_radius(o) == pytest.approx(0.9)
    assert init.largest_singular_value(o) == pytest.approx(0.9)
    assert init.largest_singular_value(g) > 1.5 * 0.9  # Gaussian: λ₁ ≈ 2ρ
    np.testing.assert_array_equal(g, init.recurrent_matrix(64, 0.9, 0))  # deterministic


def test_xavier_ranges():
    W = init.xavier_uniform((30, 20), 0)
    assert np.abs(W).max() <= np.sqrt(6 / 50)
    assert init.xavier_normal((300, 200), 0).std() == pytest.approx(np.sqrt(2 / 500), rel=0.05)


def test_errors():
    with pytest.raises(ValueError, match=r"W must be a square matrix \(H, H\); got shape \(2, 3\)"):
        init.spectral_radius(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="spectral radius 0"):
        init.scale_to_spectral_radius(np.zeros((3, 3)), 1.0)
    with pytest.raises(ValueError, match="kind must be"):
        init.recurrent_matrix(3, 1.0, kind="uniform")
    with pytest.raises(ValueError, match="shape\\[0\\] must be a positive integer"):
        init.orthogonal((0, 3))
