"""Every backward pass of rnnlab.layers against centred finite differences (float64), and the
sequence functions against loops over the step functions."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import CELLS, gate_blocks, run_cell

from rnnlab import layers
from rnnlab.gradcheck import numerical_gradient, numerical_gradient_array, rel_error

TOL = 1e-7  # float64 centred differences with h = 1e-5 reach ~1e-10 on these sizes

SHAPES = [(3, 5, 4, 6), (1, 1, 2, 3), (2, 4, 5, 2)]  # (N, T, D, H), incl. N = 1, T = 1, D ≠ H


def _rand(rng, *shape, scale=1.0):
    return scale * rng.standard_normal(shape)


def _check(forward, args, grads, dout):
    """Compare each analytic gradient with the numerical one of sum(forward(*args) * dout)."""
    for i, (arg, g) in enumerate(zip(args, grads, strict=True)):
        num = numerical_gradient_array(lambda: forward(*args), arg, dout)
        err = rel_error(g, num)
        assert err < TOL, f"gradient {i} has relative error {err:.2e}"


@pytest.mark.parametrize("activation", ["tanh", "relu", "linear", "sigmoid"])
@pytest.mark.parametrize("shape", SHAPES)
def test_rnn_sequence_gradients(rng, activation, shape):
    N, T, D, H = shape
    x, h0 = _rand(rng, N, T, D), _rand(rng, N, H)
    Wx, Wh, b = _rand(rng, D, H, scale=0.5), _rand(rng, H, H, scale=0.5), _rand(rng, H)
    if activation == "relu":  # keep pre-activations away from the kink at 0
        b += 0.3
    h, cache = layers.rnn_forward(x, h0, Wx, Wh, b, activation=activation)
    dh = _rand(rng, *h.shape)
    grads = layers.rnn_backward(dh, cache)

    def fwd(*a):
        return layers.rnn_forward(*a, activation=activation)[0]

    _check(fwd, [x, h0, Wx, Wh, b], grads, dh)


@pytest.mark.parametrize("activation", ["tanh", "relu", "linear", "sigmoid"])
def test_rnn_step_gradients(rng, activation):
    x, h_prev = _rand(rng, 3, 4), _rand(rng, 3, 5)
    Wx, Wh, b = _rand(rng, 4, 5), _rand(rng, 5, 5), _rand(rng, 5) + 0.2
    h, cache = layers.rnn_step_forward(x, h_prev, Wx, Wh, b, activation=activation)
    dh = _rand(rng, *h.shape)

    def fwd(*a):
        return layers.rnn_step_forward(*a, activation=activation)[0]

    _check(fwd, [x, h_prev, Wx, Wh, b], layers.rnn_step_backward(dh, cache), dh)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("with_c0", [True, False])
def test_lstm_sequence_gradients(rng, shape, with_c0):
    N, T, D, H = shape
    x, h0, c0 = _rand(rng, N, T, D), _rand(rng, N, H), _rand(rng, N, H)
    Wx, Wh, b = _rand(rng, D, 4 * H, scale=0.5), _rand(rng, H, 4 * H, scale=0.5), _rand(rng, 4 * H)
    kw = {"c0": c0} if with_c0 else {}
    h, cache = layers.lstm_forward(x, h0, Wx, Wh, b, **kw)
    dh = _rand(rng, *h.shape)
    grads = layers.lstm_backward(dh, cache)
    assert len(grads) == 6  # always (dx, dh0, dWx, dWh, db, dc0), with or without c0
    # Without c0 the initial cell state is zeros, and dc0 is still ∂L/∂c0 at c0 = 0.
    c0_used = c0 if with_c0 else np.zeros((N, H))

    def fwd(x, h0, Wx, Wh, b, c0):
        return layers.lstm_forward(x, h0, Wx, Wh, b, c0=c0)[0]

    _check(fwd, [x, h0, Wx, Wh, b, c0_used], grads, dh)
    if not with_c0:
        assert np.any(grads[5] != 0)  # a real gradient, not a placeholder


def test_lstm_step_gradients(rng):
    N, D, H = 3, 4, 5
    x, h, c = _rand(rng, N, D), _rand(rng, N, H), _rand(rng, N, H)
    Wx, Wh, b = _rand(rng, D, 4 * H), _rand(rng, H, 4 * H), _rand(rng, 4 * H)
    (hn, cn), cache = layers.lstm_step_forward(x, h, c, Wx, Wh, b)
    dh, dc = _rand(rng, N, H), _rand(rng, N, H)
    dx, dh_prev, dc_prev, dWx, dWh, db = layers.lstm_step_backward((dh, dc), cache)

    def loss():
        (h2, c2), _ = layers.lstm_step_forward(x, h, c, Wx, Wh, b)
        return float(np.sum(h2 * dh) + np.sum(c2 * dc))

    for g, p in [(dx, x), (dh_prev, h), (dc_prev, c), (dWx, Wx), (dWh, Wh), (db, b)]:
        assert rel_error(g, numerical_gradient(loss, p)) < TOL


@pytest.mark.parametrize("shape", SHAPES)
def test_gru_sequence_gradients(rng, shape):
    N, T, D, H = shape
    x, h0 = _rand(rng, N, T, D), _rand(rng, N, H)
    Wx, Wh = _rand(rng, D, 3 * H, scale=0.5), _rand(rng, H, 3 * H, scale=0.5)
    bx, bh = _rand(rng, 3 * H), _rand(rng, 3 * H)
    h, cache = layers.gru_forward(x, h0, Wx, Wh, bx, bh)
    dh = _rand(rng, *h.shape)

    def fwd(*a):
        return layers.gru_forward(*a)[0]

    _check(fwd, [x, h0, Wx, Wh, bx, bh], layers.gru_backward(dh, cache), dh)


def test_gru_step_gradients(rng):
    x, h = _rand(rng, 2, 3), _rand(rng, 2, 4)
    Wx, Wh, bx, bh = _rand(rng, 3, 12), _rand(rng, 4, 12), _rand(rng, 12), _rand(rng, 12)
    hn, cache = layers.gru_step_forward(x, h, Wx, Wh, bx, bh)
    dh = _rand(rng, *hn.shape)

    def fwd(*a):
        return layers.gru_step_forward(*a)[0]

    _check(fwd, [x, h, Wx, Wh, bx, bh], layers.gru_step_backward(dh, cache), dh)


def test_affine_and_losses_gradients(rng):
    h, W, b = _rand(rng, 2, 3, 4), _rand(rng, 4, 5), _rand(rng, 5)
    y, cache = layers.temporal_affine_forward(h, W, b)
    dy = _rand(rng, *y.shape)

    def fwd(*a):
        return layers.temporal_affine_forward(*a)[0]

    _check(fwd, [h, W, b], layers.temporal_affine_backward(dy, cache), dy)

    mask = np.array([[1, 1, 0], [1, 0, 0]])
    target = _rand(rng, 2, 3, 5)
    loss, dyl = layers.mse_loss(y, target, mask)
    num = numerical_gradient(lambda: layers.mse_loss(y, target, mask)[0], y)
    assert rel_error(dyl, num) < TOL
    assert np.all(dyl[mask == 0] == 0)

    targets = rng.integers(0, 5, size=(2, 3))
    loss, dlogits = layers.softmax_cross_entropy(y, targets, mask)
    num = numerical_gradient(lambda: layers.softmax_cross_entropy(y, targets, mask)[0], y)
    assert rel_error(dlogits, num) < TOL
    assert np.all(dlogits[mask == 0] == 0)


def test_masked_losses_equal_per_sequence_means(rng):
    """A padded, masked batch gives the mean over real positions, whatever sits in the padding."""
    y, target = _rand(rng, 2, 4, 3), _rand(rng, 2, 4, 3)
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0]])
    loss, _ = layers.mse_loss(y, target, mask)
    real = np.concatenate([(y[0] - target[0]).ravel(), (y[1, :2] - target[1, :2]).ravel()])
    assert loss == pytest.approx(np.mean(real ** 2), rel=1e-12)
    y2 = y.copy()
    y2[1, 2:] = 1e6  # garbage in the padding must not matter
    assert layers.mse_loss(y2, target, mask)[0] == pytest.approx(loss, rel=1e-12)

    logits, targets = _rand(rng, 2, 4, 5), rng.integers(0, 5, size=(2, 4))
    loss, _ = layers.softmax_cross_entropy(logits, targets, mask)
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    picked = np.take_along_axis(logp, targets[..., None], -1)[..., 0]
    assert loss == pytest.approx(-picked[mask == 1].mean(), rel=1e-12)


@pytest.mark.parametrize("activation", ["tanh", "relu", "linear"])
def test_rnn_sequence_equals_step_loop(rng, activation):
    N, T, D, H = 2, 6, 3, 4
    x, h0 = _rand(rng, N, T, D), _rand(rng, N, H)
    Wx, Wh, b = _rand(rng, D, H), _rand(rng, H, H, scale=0.4), _rand(rng, H)
    h_seq, cache = layers.rnn_forward(x, h0, Wx, Wh, b, activation=activation)
    dh = _rand(rng, N, T, H)
    grads = layers.rnn_backward(dh, cache)
    h, caches = h0, []
    for t in range(T):
        h, c = layers.rnn_step_forward(x[:, t], h, Wx, Wh, b, activation=activation)
        caches.append(c)
        np.testing.assert_allclose(h_seq[:, t], h, rtol=1e-12, atol=1e-12)
    dWx, dWh, db, dx = 0, 0, 0, np.zeros_like(x)
    carry = np.zeros_like(h0)
    for t in reversed(range(T)):
        dx[:, t], carry, gWx, gWh, gb = layers.rnn_step_backward(dh[:, t] + carry, caches[t])
        dWx, dWh, db = dWx + gWx, dWh + gWh, db + gb
    for a, e in zip(grads, [dx, carry, dWx, dWh, db], strict=True):
        np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-12)


# (5, 9, 6, 8): N, D, H all different and larger than a gate's few units, so that a transposed
# (feature-major) buffer indexed the wrong way round cannot pass by symmetry.
@pytest.mark.parametrize("shape", [(2, 5, 3, 4), (1, 1, 2, 3), (3, 7, 1, 2), (5, 9, 6, 8)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lstm_fast_sequence_equals_plain_step_loop(rng, shape, dtype):
    """lstm_forward/lstm_backward (the fast path) = a loop over the plain step functions."""
    N, T, D, H = shape
    tol = dict(rtol=1e-11, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-4, atol=2e-5)
    x, h0, c0 = (_rand(rng, *s).astype(dtype) for s in [(N, T, D), (N, H), (N, H)])
    Wx, Wh, b = (_rand(rng, *s).astype(dtype) for s in [(D, 4 * H), (H, 4 * H), (4 * H,)])
    dh = _rand(rng, N, T, H).astype(dtype)
    hs, cache = layers.lstm_forward(x, h0, Wx, Wh, b, c0=c0)
    grads = layers.lstm_backward(dh, cache)
    h, c, caches = h0, c0, []
    for t in range(T):
        (h, c), step_cache = layers.lstm_step_forward(x[:, t], h, c, Wx, Wh, b)
        caches.append(step_cache)
        np.testing.assert_allclose(hs[:, t], h, **tol)
        np.testing.assert_allclose(cache.gates[t], step_cache.gates, **tol)
    np.testing.assert_allclose(layers.final_state(cache)[1], c, **tol)
    dx, dWx, dWh, db = np.zeros_like(x), 0, 0, 0
    dh_next, dc_next = np.zeros_like(h0), np.zeros_like(c0)
    for t in reversed(range(T)):
        dx[:, t], dh_next, dc_next, gWx, gWh, gb = layers.lstm_step_backward(
            (dh[:, t] + dh_next, dc_next), caches[t])
        dWx, dWh, db = dWx + gWx, dWh + gWh, db + gb
    for got, want in zip(grads, [dx, dh_next, dWx, dWh, db, dc_next], strict=True):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, **tol)


# (5, 9, 6, 8): N, D, H all different and larger than a gate's few units, so that a transposed
# (feature-major) buffer indexed the wrong way round cannot pass by symmetry.
@pytest.mark.parametrize("shape", [(2, 5, 3, 4), (1, 1, 2, 3), (3, 7, 1, 2), (5, 9, 6, 8)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gru_fast_sequence_equals_plain_step_loop(rng, shape, dtype):
    """gru_forward/gru_backward (the fast path) = a loop over the plain step functions."""
    N, T, D, H = shape
    tol = dict(rtol=1e-11, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-4, atol=2e-5)
    x, h0 = _rand(rng, N, T, D).astype(dtype), _rand(rng, N, H).astype(dtype)
    Wx, Wh, bx, bh = (_rand(rng, *s).astype(dtype)
                      for s in [(D, 3 * H), (H, 3 * H), (3 * H,), (3 * H,)])
    dh = _rand(rng, N, T, H).astype(dtype)
    hs, cache = layers.gru_forward(x, h0, Wx, Wh, bx, bh)
    grads = layers.gru_backward(dh, cache)
    h, caches = h0, []
    for t in range(T):
        h, step_cache = layers.gru_step_forward(x[:, t], h, Wx, Wh, bx, bh)
        caches.append(step_cache)
        np.testing.assert_allclose(hs[:, t], h, **tol)
    dx, dWx, dWh, dbx, dbh = np.zeros_like(x), 0, 0, 0, 0
    dh_next = np.zeros_like(h0)
    for t in reversed(range(T)):
        dx[:, t], dh_next, gWx, gWh, gbx, gbh = layers.gru_step_backward(dh[:, t] + dh_next,
                                                                          caches[t])
        dWx, dWh, dbx, dbh = dWx + gWx, dWh + gWh, dbx + gbx, dbh + gbh
    for got, want in zip(grads, [dx, dh_next, dWx, dWh, dbx, dbh], strict=True):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, **tol)


def test_lstm_saturated_gates_stay_finite():
    """The fast path's exp overflows for very negative pre-activations; σ must still be 0/1."""
    x = np.full((1, 3, 1), 1.0, dtype=np.float32)
    Wx = np.array([[200.0, -200.0, 200.0, -200.0]], dtype=np.float32)
    h, cache = layers.lstm_forward(x, np.zeros((1, 1), np.float32), Wx,
                                   np.zeros((1, 4), np.float32), np.zeros(4, np.float32))
    np.testing.assert_array_equal(cache.gates[:, 0], [[1.0, 0.0, 1.0, 0.0]] * 3)
    assert np.all(np.isfinite(layers.lstm_backward(np.ones_like(h), cache)[2]))


@pytest.mark.parametrize("cell", CELLS)
def test_float32_is_preserved(rng, cell):
    N, T, D, H = 2, 3, 4, 5
    G = gate_blocks(cell)
    f = np.float32
    x, h0 = _rand(rng, N, T, D).astype(f), _rand(rng, N, H).astype(f)
    Wx, Wh = _rand(rng, D, G * H).astype(f), _rand(rng, H, G * H).astype(f)
    b = _rand(rng, G * H).astype(f)
    h, grads = run_cell(cell, x, h0, Wx, Wh, b)
    assert h.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads)


def test_outputs_do_not_alias_inputs_or_cache(rng):
    """Changing what forward returned, or the caller's arrays, must not change the gradients."""
    x, h0 = _rand(rng, 1, 1, 2), _rand(rng, 1, 3)  # N = T = 1: swapaxes would be a no-op view
    Wx, Wh, b = _rand(rng, 2, 3), _rand(rng, 3, 3), _rand(rng, 3)
    h, cache = layers.rnn_forward(x, h0, Wx, Wh, b)
    dh = _rand(rng, *h.shape)
    expected = [g.copy() for g in layers.rnn_backward(dh, cache)]
    h[...] = 0.0
    x[...] = 0.0
    dh_copy = dh.copy()
    again = layers.rnn_backward(dh, cache)
    np.testing.assert_array_equal(dh, dh_copy)  # backward must not overwrite the caller's dh
    for a, e in zip(again, expected, strict=True):
        np.testing.assert_array_equal(a, e)
