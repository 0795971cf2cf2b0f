"""Parity with torch.nn.RNN / LSTM / GRU (float64): same outputs and the same gradients for the
inputs, h0 (and c0) and every weight, with weights copied across. This pins the conventions the
book teaches: row-vector weights (Wx = weight_ih.T), one bias (b = bias_ih + bias_hh, except the
GRU, which keeps both), gate orders i, f, g, o and r, z, n.

Skipped when torch is missing, unless RNNLAB_REQUIRE_TORCH=1 (CI), which makes that a failure.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import require_torch

from rnnlab import layers

TOL = 1e-10
SHAPES = [(1, 1, 3, 3), (2, 5, 3, 4), (4, 7, 6, 2), (1, 9, 2, 5)]  # N, T, D, H (N=1, T=1, D≠H)


@pytest.fixture(scope="module")
def torch():
    t = require_torch()
    t.set_default_dtype(t.float64)
    return t


def _close(a, b):
    b = b.detach().numpy() if hasattr(b, "detach") else b
    assert a.shape == b.shape, (a.shape, b.shape)
    assert np.max(np.abs(a - b)) < TOL, np.max(np.abs(a - b))


def _weights(net):
    """rnnlab's row-vector weights from a torch layer: Wx = weight_ih.T, Wh = weight_hh.T, and
    the two bias vectors (summed for the RNN and LSTM, kept apart for the GRU)."""
    def t(p):
        return p.detach().numpy().copy()
    return t(net.weight_ih_l0).T, t(net.weight_hh_l0).T, t(net.bias_ih_l0), t(net.bias_hh_l0)


def _inputs(torch, N, T, D, H, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, T, D))
    h0 = rng.standard_normal((N, H))
    dh = rng.standard_normal((N, T, H))
    xt = torch.tensor(x, requires_grad=True)
    h0t = torch.tensor(h0[None], requires_grad=True)
    return x, h0, dh, xt, h0t


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_rnn_matches_torch(torch, shape, activation):
    N, T, D, H = shape
    x, h0, dh, xt, h0t = _inputs(torch, N, T, D, H, seed=sum(shape))
    net = torch.nn.RNN(D, H, nonlinearity=activation, batch_first=True)
    out, _ = net(xt, h0t)
    out.backward(torch.tensor(dh))
    Wx, Wh, bx, bh = _weights(net)
    b = bx + bh
    h, cache = layers.rnn_forward(x, h0, Wx, Wh, b, activation=activation)
    _close(h, out)
    dx, dh0, dWx, dWh, db = layers.rnn_backward(dh, cache)
    _close(dx, xt.grad)
    _close(dh0, h0t.grad[0])
    _close(dWx, net.weight_ih_l0.grad.T)
    _close(dWh, net.weight_hh_l0.grad.T)
    _close(db, net.bias_ih_l0.grad)
    _close(db, net.bias_hh_l0.grad)


@pytest.mark.parametrize("shape", SHAPES)
def test_lstm_matches_torch(torch, shape):
    N, T, D, H = shape
    x, h0, dh, xt, h0t = _inputs(torch, N, T, D, H, seed=10 + sum(shape))
    c0 = np.random.default_rng(1).standard_normal((N, H))
    c0t = torch.tensor(c0[None], requires_grad=True)
    net = torch.nn.LSTM(D, H, batch_first=True)
    out, (hT, cT) = net(xt, (h0t, c0t))
    out.backward(torch.tensor(dh))
    Wx, Wh, bx, bh = _weights(net)
    b = bx + bh
    h, cache = layers.lstm_forward(x, h0, Wx, Wh, b, c0=c0)
    _close(h, out)
    _close(layers.final_state(cache)[1], cT[0])
    dx, dh0, dWx, dWh, db, dc0 = layers.lstm_backward(dh, cache)
    _close(dx, xt.grad)
    _close(dh0, h0t.grad[0])
    _close(dc0, c0t.grad[0])
    _close(dWx, net.weight_ih_l0.grad.T)
    _close(dWh, net.weight_hh_l0.grad.T)
    _close(db, net.bias_ih_l0.grad)


@pytest.mark.parametrize("shape", SHAPES)
def test_gru_matches_torch(torch, shape):
    N, T, D, H = shape
    x, h0, dh, xt, h0t = _inputs(torch, N, T, D, H, seed=20 + sum(shape))
    net = torch.nn.GRU(D, H, batch_first=True)
    out, _ = net(xt, h0t)
    out.backward(torch.tensor(dh))
    Wx, Wh, bx, bh = _weights(net)
    h, cache = layers.gru_forward(x, h0, Wx, Wh, bx, bh)
    _close(h, out)
    dx, dh0, dWx, dWh, dbx, dbh = layers.gru_backward(dh, cache)
    _close(dx, xt.grad)
    _close(dh0, h0t.grad[0])
    _close(dWx, net.weight_ih_l0.grad.T)
    _close(dWh, net.weight_hh_l0.grad.T)
    _close(dbx, net.bias_ih_l0.grad)
    _close(dbh, net.bias_hh_l0.grad)


def test_wrong_gate_order_is_detected(torch):
    """Swapping the LSTM's f and g blocks when porting weights changes the output."""
    N, T, D, H = 2, 4, 3, 5
    x, h0, _, xt, h0t = _inputs(torch, N, T, D, H, seed=3)
    net = torch.nn.LSTM(D, H, batch_first=True)
    out, _ = net(xt, (h0t, torch.zeros_like(h0t)))
    Wx, Wh, bx, bh = _weights(net)
    b = bx + bh
    perm = np.r_[0:H, 2 * H:3 * H, H:2 * H, 3 * H:4 * H]  # i, g, f, o: a wrong order
    h, _ = layers.lstm_forward(x, h0, Wx[:, perm], Wh[:, perm], b[perm])
    assert np.max(np.abs(h - out.detach().numpy())) > 1e-3


def test_mse_and_cross_entropy_match_torch(torch):
    rng = np.random.default_rng(5)
    y, t = rng.standard_normal((3, 4, 2)), rng.standard_normal((3, 4, 2))
    yt = torch.tensor(y, requires_grad=True)
    loss_t = torch.nn.functional.mse_loss(yt, torch.tensor(t))
    loss_t.backward()
    loss, dy = layers.mse_loss(y, t)
    assert abs(loss - loss_t.item()) < TOL
    _close(dy, yt.grad)
    logits, targets = rng.standard_normal((3, 4, 6)), rng.integers(0, 6, size=(3, 4))
    mask = np.ones((3, 4))
    mask[1, 2:] = 0
    lt = torch.tensor(logits, requires_grad=True)
    tt = torch.tensor(np.where(mask == 1, targets, -100))
    loss_t = torch.nn.functional.cross_entropy(lt.reshape(-1, 6), tt.reshape(-1), ignore_index=-100)
    loss_t.backward()
    loss, dl = layers.softmax_cross_entropy(logits, targets, mask)
    assert abs(loss - loss_t.item()) < TOL
    _close(dl, lt.grad)
