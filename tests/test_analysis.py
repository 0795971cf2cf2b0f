"""rnnlab.analysis against brute force, and its behaviour at the extremes (finite, no warnings)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from rnnlab import analysis, init, layers


def _tiny(rng, H=4, T=6, rho=1.3, activation="tanh"):
    Wh = init.recurrent_matrix(H, rho, rng)
    Wx = rng.standard_normal((2, H))
    b = 0.1 * rng.standard_normal(H)
    x = rng.standard_normal((T, 2))
    h0 = 0.1 * rng.standard_normal(H)
    return x, h0, Wx, Wh, b


@pytest.mark.parametrize("activation", ["tanh", "relu", "linear", "sigmoid"])
def test_jacobians_match_finite_differences(rng, activation):
    x, h0, Wx, Wh, b = _tiny(rng, activation=activation)
    h, _ = layers.rnn_forward(x[None], h0[None], Wx, Wh, b, activation=activation)
    J = analysis.rnn_jacobians(h[0], h0, Wh, activation)
    T, H = h.shape[1], h.shape[2]
    # ∂h_T/∂h_0 by finite differences on h0 vs the product of all Jacobians
    num = np.zeros((H, H))
    for j in range(H):
        e = np.zeros(H)
        e[j] = 1e-6
        hp = layers.rnn_forward(x[None], (h0 + e)[None], Wx, Wh, b, activation=activation)[0]
        hm = layers.rnn_forward(x[None], (h0 - e)[None], Wx, Wh, b, activation=activation)[0]
        num[:, j] = (hp[0, -1] - hm[0, -1]) / 2e-6
    P = np.eye(H)
    for t in range(T - 1, -1, -1):
        P = P @ J[t]
    np.testing.assert_allclose(P, num, rtol=1e-6, atol=1e-8)
    norms = analysis.jacobian_norms(J)
    assert norms[0] == pytest.approx(np.linalg.norm(num, 2), rel=1e-6)
    assert norms[-1] == pytest.approx(1.0)


def test_norms_are_below_the_pascanu_bound(rng):
    for activation in ["tanh", "sigmoid", "relu"]:
        for rho in [0.5, 1.0, 2.5]:
            x, h0, Wx, Wh, b = _tiny(rng, H=8, T=40, rho=rho)
            flow = analysis.rnn_gradient_flow(x, h0, Wx, Wh, b, activation)
            assert np.all(flow.log10_norms <= flow.log10_bound + 1e-9)
            assert flow.gamma == (0.25 if activation == "sigmoid" else 1.0)


def test_bound_values():
    Wh = 2.0 * np.eye(3)
    np.testing.assert_allclose(analysis.pascanu_bound(Wh, 3, "tanh"), [8, 4, 2, 1])
    np.testing.assert_allclose(analysis.pascanu_bound(Wh, 2, "sigmoid"), [0.25, 0.5, 1])


def test_loss_gradient_norms_match_backward(rng):
    x, h0, Wx, Wh, b = _tiny(rng, H=5, T=12)
    u = rng.standard_normal(5)
    got = analysis.state_gradient_log10_norms("rnn", x, h0, {"Wx": Wx, "Wh": Wh, "b": b}, u=u)
    # ∂L/∂h_0 for L = u·h_T from the library's backward pass
    h, cache = layers.rnn_forward(x[None], h0[None], Wx, Wh, b)
    dh = np.zeros_like(h)
    dh[0, -1] = u
    dh0 = layers.rnn_backward(dh, cache)[1]
    assert got["h"][0] == pytest.approx(np.log10(np.linalg.norm(dh0)), abs=1e-9)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gated_state_gradient_norms_match_backward(rng, cell):
    T, H, D = 10, 4, 2
    x, h0 = rng.standard_normal((T, D)), np.zeros(H)
    G = 4 if cell == "lstm" else 3
    p = {"Wx": 0.5 * rng.standard_normal((D, G * H)), "Wh": 0.5 * rng.standard_normal((H, G * H))}
    if cell == "lstm":
        p["b"] = np.zeros(4 * H)
        h, cache = layers.lstm_forward(x[None], h0[None], p["Wx"], p["Wh"], p["b"])
        back = layers.lstm_backward
    else:
        p["bx"], p["bh"] = np.zeros(3 * H), np.zeros(3 * H)
        h, cache = layers.gru_forward(x[None], h0[None], p["Wx"], p["Wh"], p["bx"], p["bh"])
        back = layers.gru_backward
    u = np.ones(H) / 2
    dh = np.zeros_like(h)
    dh[0, -1] = u
    dh0 = back(dh, cache)[1]
    got = analysis.state_gradient_log10_norms(cell, x, h0, p, u=u)
    assert got["h"][0] == pytest.approx(np.log10(np.linalg.norm(dh0)), abs=1e-9)
    if cell == "lstm":
        # ∂L/∂c_0 from the backward pass with c0 given, and ∂L/∂c_T = u ⊙ o_T ⊙ tanh'(c_T)
        _, cache = layers.lstm_forward(x[None], h0[None], p["Wx"], p["Wh"], p["b"],
                                       c0=np.zeros((1, H)))
        dc0 = layers.lstm_backward(dh, cache)[5]
        assert got["c"][0] == pytest.approx(np.log10(np.linalg.norm(dc0)), abs=1e-9)
        o_T, tc = cache.gates[-1, 0, 3 * H:], cache.tanh_c[-1, 0]
        assert got["c"][-1] == pytest.approx(np.log10(np.linalg.norm(u * o_T * (1 - tc**2))))


def test_lstm_cell_path():
    f = np.full((5, 3), 0.5)
    f[:, 1] = 0.9
    got = analysis.lstm_cell_path_log10_norms(f)
    np.testing.assert_allclose(got, np.log10(0.9) * np.arange(5, -1, -1))


@pytest.mark.parametrize("activation", ["tanh", "relu", "linear"])
@pytest.mark.parametrize("rho", [0.1, 1.0, 3.0])
def test_extremes_are_warning_free_and_reported(activation, rho):
    """rho up to 3 and T up to 1000: overflow shows as inf (or huge log10), never a warning."""
    T, H = 1000, 16
    rng = np.random.default_rng(1)
    Wh = init.recurrent_matrix(H, rho, rng, kind="orthogonal")
    x = rng.standard_normal((T, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flow = analysis.rnn_gradient_flow(x, np.zeros(H), rng.standard_normal((1, H)), Wh,
                                          np.zeros(H), activation)
        norms = flow.norms
        bound = flow.bound
    assert not np.any(np.isnan(flow.log10_norms))
    assert np.all(np.isfinite(flow.log10_bound))
    if activation == "linear" and rho == 3.0:
        # 3^1000 ≈ 10^477: beyond float64, reported as inf, while log10 stays exact
        assert flow.log10_norms[0] == pytest.approx(1000 * np.log10(3.0), rel=1e-9)
        assert np.isinf(norms[0]) and np.isinf(bound[0])
        assert not np.all(np.isfinite(flow.h))  # the forward itself overflowed
    if rho == 0.1:
        assert flow.log10_norms[0] < -300


def test_singular_and_eigen_values():
    W = np.array([[0.0, 2.0], [0.5, 0.0]])
    np.testing.assert_allclose(analysis.singular_values(W), [2.0, 0.5])
    np.testing.assert_allclose(np.abs(analysis.eigenvalues(W)), [1.0, 1.0])
    assert init.spectral_radius(W) == pytest.approx(1.0)


def _plain_log10_norms(h, Wh, activation, ord, ks):
    J = analysis.rnn_jacobians(h, np.zeros(h.shape[1]), Wh, activation)
    return analysis.jacobian_log10_norms(J, ord, ks)


@pytest.mark.parametrize("activation", ["tanh", "relu", "linear", "sigmoid"])
@pytest.mark.parametrize("kind", ["orthogonal", "gaussian"])
def test_fast_norms_equal_the_plain_products(activation, kind):
    """rnn_jacobian_log10_norms_fast (the explorer's path) = jacobian_log10_norms(rnn_jacobians)."""
    for rho, T, H, ks in [(0.1, 300, 16, None), (1.0, 500, 64, analysis.evenly_spaced_steps(500)),
                          (1.2, 7, 3, None), (3.0, 1000, 16, np.array([1000, 0, 3, 999]))]:
        rng = np.random.default_rng(2)
        Wh = init.recurrent_matrix(H, rho, rng, kind=kind)
        x = rng.standard_normal((T, 1))
        with np.errstate(all="ignore"):
            h = layers.rnn_forward(x[None], np.zeros((1, H)), rng.standard_normal((1, H)), Wh,
                                   np.zeros(H), activation=activation)[0][0]
        for ord in (2, "fro"):
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                fast = analysis.rnn_jacobian_log10_norms_fast(h, Wh, activation, ord, ks)
            plain = _plain_log10_norms(h, Wh, activation, ord, ks)
            # the plain version sums T rounded log10 scales; the fast one keeps an exact exponent
            np.testing.assert_allclose(fast, plain, rtol=1e-12, atol=1e-12)


def test_fast_norms_at_the_extremes():
    """Exactly-zero products stay −inf; factors far below float64's range do not underflow."""
    rng = np.random.default_rng(3)
    H, T = 6, 40
    Wh = init.recurrent_matrix(H, 1.0, rng)
    h = np.abs(rng.standard_normal((T, H)))
    h[10] = -1.0  # every relu off at step 11: ∂h_T/∂h_k = 0 for k ≤ 10
    fast = analysis.rnn_jacobian_log10_norms_fast(h, Wh, "relu")
    np.testing.assert_array_equal(np.isneginf(fast), np.arange(T + 1) <= 10)
    np.testing.assert_allclose(fast, _plain_log10_norms(h, Wh, "relu", 2, None), atol=1e-12)
    s = np.full((T, H), 0.5)
    s[5:8] = 1e-300  # σ'(a) = h(1 − h) ≈ 1e-300 three times: the product is ≈ 10^-900
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fast = analysis.rnn_jacobian_log10_norms_fast(s, Wh, "sigmoid")
    plain = _plain_log10_norms(s, Wh, "sigmoid", 2, None)
    assert fast[0] < -900 and np.all(np.isfinite(fast))
    np.testing.assert_allclose(fast, plain, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="ord"):
        analysis.rnn_jacobian_log10_norms_fast(s, Wh, "sigmoid", ord=1)


@pytest.mark.parametrize("tiny_log2, safe_log2, max_interval", [
    (2000.0, 300.0, 32),   # every interval longer than one step is redone step by step
    (-1000.0, 5.0, 32),    # rescaled whenever the bound allows a growth beyond 2^5
    (-1000.0, 300.0, 3),   # at least every third step
])
def test_fast_norms_do_not_depend_on_when_the_product_is_rescaled(monkeypatch, tiny_log2,
                                                                   safe_log2, max_interval):
    """Rescaling by powers of two is exact: the fast path's numbers do not depend on the
    interval logic (here forced into its rarely taken branches) and equal the plain version."""
    monkeypatch.setattr(analysis, "_TINY_LOG2", tiny_log2)
    monkeypatch.setattr(analysis, "_SAFE_LOG2", safe_log2)
    monkeypatch.setattr(analysis, "_MAX_INTERVAL", max_interval)
    rng = np.random.default_rng(4)
    for activation, rho, T, ks in [("tanh", 1.5, 200, analysis.evenly_spaced_steps(200, 16)),
                                   ("sigmoid", 0.3, 120, np.array([120, 0, 60])),
                                   ("relu", 1.0, 90, None)]:
        Wh = init.recurrent_matrix(8, rho, rng)
        x = rng.standard_normal((T, 1))
        with np.errstate(all="ignore"):
            h = layers.rnn_forward(x[None], np.zeros((1, 8)), rng.standard_normal((1, 8)), Wh,
                                   np.zeros(8), activation=activation)[0][0]
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fast = analysis.rnn_jacobian_log10_norms_fast(h, Wh, activation, 2, ks)
        np.testing.assert_allclose(fast, _plain_log10_norms(h, Wh, activation, 2, ks),
                                   rtol=1e-12, atol=1e-12)


def test_fast_norms_survive_a_long_tiny_interval():
    """Products that shrink by 10^−300 per step between two stored k (far below float64's
    smallest normal number if not rescaled in between) still equal the plain version."""
    rng = np.random.default_rng(5)
    H, T = 6, 60
    Wh = init.recurrent_matrix(H, 1.0, rng)
    s = np.full((T, H), 0.5)
    s[20:30, : H - 1] = 1e-300  # five of six units nearly off for ten steps: σ' ≈ 1e-300
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fast = analysis.rnn_jacobian_log10_norms_fast(s, Wh, "sigmoid", 2, np.array([T, 0]))
    plain = _plain_log10_norms(s, Wh, "sigmoid", 2, np.array([T, 0]))
    assert np.isfinite(fast).all()
    np.testing.assert_allclose(fast, plain, rtol=1e-12, atol=1e-12)
    # an exactly-zero product inside a long interval (every relu off at step 11)
    h = np.abs(rng.standard_normal((T, H)))
    h[10] = -1.0
    ks = np.array([T, 30, 0])
    fast = analysis.rnn_jacobian_log10_norms_fast(h, Wh, "relu", 2, ks)
    np.testing.assert_array_equal(np.isneginf(fast), [False, False, True])
    np.testing.assert_allclose(fast, _plain_log10_norms(h, Wh, "relu", 2, ks), atol=1e-12)


def test_fast_norms_report_overflow_like_the_plain_version():
    """A product beyond float64 in one step (entries 1e307, H = 64): NaN where the plain
    version has NaN, no warning."""
    Wh, h = np.full((64, 64), 1e307), np.zeros((4, 64))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fast = analysis.rnn_jacobian_log10_norms_fast(h, Wh, "linear")
    plain = _plain_log10_norms(h, Wh, "linear", 2, None)
    assert np.isnan(plain[:3]).all() and np.isfinite(plain[3:]).all()
    np.testing.assert_allclose(fast, plain, rtol=1e-12, atol=1e-12)
