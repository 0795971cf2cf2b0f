"""models.Encoder: stacked and bidirectional RNN/LSTM/GRU with torch's names and packed-sequence
semantics. Gradients against centred finite differences (float64), outputs, final states and
every gradient against torch.nn.RNN/LSTM/GRU (float64, skipped without torch unless
RNNLAB_REQUIRE_TORCH=1), and the input checks."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import require_torch

from rnnlab import models
from rnnlab.gradcheck import numerical_gradient, rel_error

TOL_PARITY = 1e-10
TOL_GRAD = 1e-7
CELLS = ["rnn", "lstm", "gru"]


def _randomise(enc, seed):
    """Random weights of a useful size (the initial biases are zero, which would hide bias bugs)."""
    rng = np.random.default_rng(seed)
    for v in enc.params.values():
        v[...] = 0.5 * rng.standard_normal(v.shape)


def _loss_and_grads(enc, x, lengths, dout, dh, dc):
    out, hn = enc.forward(x, lengths)
    h_n, c_n = hn if enc.cell == "lstm" else (hn, None)
    loss = np.sum(out * dout) + np.sum(h_n * dh) + (0 if c_n is None else np.sum(c_n * dc))
    return float(loss), out, hn


def _upstream(enc, N, T, seed):
    rng = np.random.default_rng(seed)
    L = enc.num_layers * enc.dirs
    return (rng.standard_normal((N, T, enc.dirs * enc.H)), rng.standard_normal((L, N, enc.H)),
            rng.standard_normal((L, N, enc.H)))


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("with_lengths", [False, True])
def test_encoder_gradients(cell, bidirectional, with_lengths):
    N, T, D, H = 3, 4, 2, 3
    enc = models.Encoder(cell, D, H, num_layers=2, bidirectional=bidirectional, seed=1)
    _randomise(enc, 2)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((N, T, D))
    lengths = np.array([4, 2, 1]) if with_lengths else None
    dout, dh, dc = _upstream(enc, N, T, 4)
    enc.forward(x, lengths)
    dx = enc.backward(dout, (dh, dc) if cell == "lstm" else dh)

    def loss():
        return _loss_and_grads(enc, x, lengths, dout, dh, dc)[0]

    assert rel_error(dx, numerical_gradient(loss, x)) < TOL_GRAD
    analytic = dict(enc.grads)
    for name, p in enc.params.items():
        err = rel_error(analytic[name], numerical_gradient(loss, p))
        assert err < TOL_GRAD, f"{name}: relative error {err:.2e}"
    if with_lengths:  # padded steps receive no gradient and give zero outputs
        assert np.all(dx[1, 2:] == 0) and np.all(dx[2, 1:] == 0)
        out, _ = enc.forward(x, lengths)
        assert np.all(out[1, 2:] == 0) and np.all(out[2, 1:] == 0)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_content_does_not_matter(cell, bidirectional):
    """With lengths, whatever sits in the padding changes neither the outputs nor h_n."""
    rng = np.random.default_rng(0)
    enc = models.Encoder(cell, 2, 3, num_layers=2, bidirectional=bidirectional)
    _randomise(enc, 1)
    x = rng.standard_normal((2, 5, 2))
    lengths = np.array([5, 3])
    out1, hn1 = enc.forward(x, lengths)
    x2 = x.copy()
    x2[1, 3:] = 100.0
    out2, hn2 = enc.forward(x2, lengths)
    np.testing.assert_array_equal(out1, out2)
    for a, b in zip(np.atleast_1d(hn1) if cell != "lstm" else hn1,
                    np.atleast_1d(hn2) if cell != "lstm" else hn2, strict=True):
        np.testing.assert_array_equal(a, b)
    # ... and a sequence alone, unpadded, gives the same result as inside the padded batch
    out_alone, _ = enc.forward(x[1:, :3])
    np.testing.assert_allclose(out1[1:, :3], out_alone, rtol=0, atol=1e-14)


def test_encoder_does_not_alias_inputs():
    rng = np.random.default_rng(0)
    enc = models.Encoder("gru", 2, 3, bidirectional=True)
    x = rng.standard_normal((2, 4, 2))
    lengths = np.array([4, 2])
    out, _ = enc.forward(x, lengths)
    dout = rng.standard_normal(out.shape)
    dx_ref = enc.backward(dout)
    grads_ref = {k: v.copy() for k, v in enc.grads.items()}
    enc.forward(x, lengths)
    x += 1.0  # the caller changes its arrays after the forward pass
    lengths[:] = 1
    dx = enc.backward(dout)
    np.testing.assert_array_equal(dx, dx_ref)
    for k in grads_ref:
        np.testing.assert_array_equal(enc.grads[k], grads_ref[k])


def test_parameter_names_and_counts():
    enc = models.Encoder("lstm", 5, 4, num_layers=2, bidirectional=True)
    assert sorted(enc.params) == sorted(
        f"{n}_l{layer}{s}" for layer in range(2) for s in ("", "_reverse")
        for n in ("Wx", "Wh", "b"))
    assert enc.params["Wx_l1"].shape == (8, 16)  # layer 1 reads both directions: 2H inputs
    # torch: 4H(D + H + 2) per direction of layer 0, 4H(2H + H + 2) for layer 1; we keep one bias
    torch_count = 2 * 16 * (5 + 4 + 2) + 2 * 16 * (8 + 4 + 2)
    assert enc.num_params == torch_count - 4 * 16
    gru = models.Encoder("gru", 5, 4)
    assert sorted(gru.params) == ["Wh_l0", "Wx_l0", "bh_l0", "bx_l0"]


@pytest.mark.parametrize("bad, match", [
    (dict(cell="elman"), "cell must be one of"),
    (dict(hidden_dim=0), "hidden_dim must be a positive integer"),
    (dict(num_layers=1.5), "num_layers must be a positive integer"),
    (dict(bidirectional="yes"), "bidirectional must be True or False"),
    (dict(dtype=np.int32), "dtype must be float32 or float64"),
])
def test_constructor_errors(bad, match):
    kwargs = dict(cell="gru", input_dim=2, hidden_dim=3) | bad
    with pytest.raises((ValueError, TypeError), match=match):
        models.Encoder(kwargs.pop("cell"), kwargs.pop("input_dim"), kwargs.pop("hidden_dim"),
                       **kwargs)


def test_input_errors():
    enc = models.Encoder("lstm", 2, 3, num_layers=2)
    x = np.zeros((2, 4, 2))
    with pytest.raises(RuntimeError, match="forward"):
        enc.backward(np.zeros((2, 4, 3)))
    with pytest.raises(ValueError, match=r"x must have shape \(N, T, D=2\)"):
        enc.forward(np.zeros((2, 4, 3)))
    with pytest.raises(TypeError, match="x must have dtype float64"):
        enc.forward(x.astype(np.float32))
    with pytest.raises(ValueError, match=r"lengths must lie in \[1, T=4\]"):
        enc.forward(x, np.array([0, 4]))
    with pytest.raises(ValueError, match="lengths must be an integer array of shape"):
        enc.forward(x, np.array([2.0, 4.0]))
    out, _ = enc.forward(x)
    with pytest.raises(ValueError, match="dout must have the shape of out"):
        enc.backward(np.zeros((2, 4, 6)))
    with pytest.raises(TypeError, match="pair"):
        enc.backward(np.zeros_like(out), np.zeros((2, 2, 3)))
    with pytest.raises(ValueError, match=r"dc_n must have shape"):
        enc.backward(np.zeros_like(out), (None, np.zeros((1, 2, 3))))
    with pytest.raises(ValueError, match="sd must have exactly the keys"):
        enc.load_torch_state_dict({"weight_ih_l0": np.zeros((12, 2))})


def test_float32_is_preserved():
    enc = models.Encoder("gru", 2, 3, bidirectional=True, dtype=np.float32)
    out, h_n = enc.forward(np.ones((1, 3, 2), dtype=np.float32))
    assert out.dtype == h_n.dtype == np.float32
    assert enc.backward(np.ones_like(out)).dtype == np.float32


# ------------------------------------------------------------------------------------------
# Parity with torch
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def torch():
    t = require_torch()
    t.set_default_dtype(t.float64)
    return t


def _torch_run(torch, net, x, lengths, dout, dh, dc):
    xt = torch.tensor(x, requires_grad=True)
    if lengths is None:
        out, hn = net(xt)
    else:
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            xt, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
        out, hn = net(packed)
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True,
                                                        total_length=x.shape[1])
    h_n, c_n = hn if isinstance(hn, tuple) else (hn, None)
    loss = (out * torch.tensor(dout)).sum() + (h_n * torch.tensor(dh)).sum()
    if c_n is not None:
        loss = loss + (c_n * torch.tensor(dc)).sum()
    loss.backward()
    return out, h_n, c_n, xt.grad


def _max_diff(a, b):
    b = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.max(np.abs(a - b)))


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("with_lengths", [False, True])
def test_encoder_matches_torch(torch, cell, num_layers, bidirectional, with_lengths):
    N, T, D, H = 4, 6, 3, 5
    torch.manual_seed(num_layers + 10 * bidirectional)
    cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    net = cls(D, H, num_layers=num_layers, bidirectional=bidirectional, batch_first=True)
    enc = models.Encoder(cell, D, H, num_layers=num_layers, bidirectional=bidirectional)
    enc.load_torch_state_dict({k: v.detach().numpy().copy() for k, v in net.state_dict().items()})
    rng = np.random.default_rng(num_layers)
    x = rng.standard_normal((N, T, D))
    lengths = np.array([6, 2, 5, 1]) if with_lengths else None
    dout, dh, dc = _upstream(enc, N, T, 7)
    out_t, h_t, c_t, dx_t = _torch_run(torch, net, x, lengths, dout, dh, dc)

    out, hn = enc.forward(x, lengths)
    h_n, c_n = hn if cell == "lstm" else (hn, None)
    dx = enc.backward(dout, (dh, dc) if cell == "lstm" else dh)
    diffs = {"out": _max_diff(out, out_t), "h_n": _max_diff(h_n, h_t), "dx": _max_diff(dx, dx_t)}
    if c_n is not None:
        diffs["c_n"] = _max_diff(c_n, c_t)
    grads = enc.torch_named_grads()
    assert sorted(grads) == sorted(dict(net.named_parameters()))
    for name, p in net.named_parameters():
        diffs[name] = _max_diff(grads[name], p.grad)
    worst = max(diffs, key=diffs.get)
    assert diffs[worst] <= TOL_PARITY, f"{worst} differs from torch by {diffs[worst]:.2e}"
