"""Bad input gets a clear error that names the argument, never a broadcasting traceback or NaN."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import gate_blocks, run_cell
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnlab import init, layers, models, optim


def _rnn_args(N=2, T=3, D=4, H=5, dtype=np.float64):
    rng = np.random.default_rng(0)
    return dict(x=rng.standard_normal((N, T, D)).astype(dtype),
                h0=np.zeros((N, H), dtype=dtype),
                Wx=rng.standard_normal((D, H)).astype(dtype),
                Wh=rng.standard_normal((H, H)).astype(dtype),
                b=np.zeros(H, dtype=dtype))


def _call(**kw):
    return layers.rnn_forward(kw["x"], kw["h0"], kw["Wx"], kw["Wh"], kw["b"])


@pytest.mark.parametrize("name,bad,pattern", [
    ("x", np.zeros((4, 3)), r"x must have shape \(N, T, D\); got \(4, 3\)"),
    ("h0", np.zeros((2, 6)), r"h0 must have shape \(N=2, H=5\); got \(2, 6\)"),
    ("h0", np.zeros((3, 5)), r"x must be batch-first, \(N, T, D\) with N = 3 like h0, or h0 "
                             r"must have shape \(N=2, H\)"),
    ("Wx", np.zeros((3, 5)), r"Wx must have shape \(D=4, H=5\); got \(3, 5\)"),
    ("Wh", np.zeros((5, 4)), r"Wh must have shape \(H=5, H=5\); got \(5, 4\)"),
    ("b", np.zeros(4), r"b must have shape \(H=5\); got \(4,\)"),
])
def test_wrong_shapes_name_the_argument(name, bad, pattern):
    kw = _rnn_args()
    kw[name] = bad
    with pytest.raises(ValueError, match=pattern):
        _call(**kw)


def test_mismatched_batch_sizes():
    kw = _rnn_args()
    kw["h0"] = np.zeros((7, 5))
    with pytest.raises(ValueError, match=r"h0 must have shape \(N=2, H=5\)"):
        _call(**kw)


@pytest.mark.parametrize("name", ["x", "h0", "Wx", "Wh", "b"])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_inputs(name, value):
    kw = _rnn_args()
    kw[name] = kw[name].copy()
    kw[name].flat[0] = value
    with pytest.raises(ValueError, match=rf"^{name} contains NaN or inf"):
        _call(**kw)


@pytest.mark.parametrize("name", ["x", "Wh"])
def test_wrong_dtypes(name):
    kw = _rnn_args()
    kw[name] = kw[name].astype(np.int64)
    with pytest.raises(TypeError,
                       match=rf"{name} must be a float32 or float64 array; got dtype int64"):
        _call(**kw)


def test_mixed_float_dtypes():
    kw = _rnn_args()
    kw["Wh"] = kw["Wh"].astype(np.float32)
    with pytest.raises(TypeError, match=r"Wh must have dtype float64 like the other arrays"):
        _call(**kw)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_zero_length_sequences(cell):
    x = np.zeros((2, 0, 3))
    h0 = np.zeros((2, 4))
    with pytest.raises(ValueError,
                       match=r"x must have at least one time step \(T >= 1\); got T = 0"):
        if cell == "rnn":
            layers.rnn_forward(x, h0, np.zeros((3, 4)), np.zeros((4, 4)), np.zeros(4))
        elif cell == "lstm":
            layers.lstm_forward(x, h0, np.zeros((3, 16)), np.zeros((4, 16)), np.zeros(16))
        else:
            layers.gru_forward(x, h0, np.zeros((3, 12)), np.zeros((4, 12)), np.zeros(12),
                               np.zeros(12))


def test_lstm_gate_blocks_must_fit():
    with pytest.raises(ValueError, match=r"Wx must have shape \(D=3, 4\*H=16\); got \(3, 15\)"):
        layers.lstm_forward(np.zeros((1, 2, 3)), np.zeros((1, 4)), np.zeros((3, 15)),
                            np.zeros((4, 16)), np.zeros(16))


def test_unknown_activation():
    kw = _rnn_args()
    with pytest.raises(ValueError, match=r"activation must be one of .*; got 'softplus'"):
        layers.rnn_forward(*kw.values(), activation="softplus")


def test_backward_checks_dout_shape():
    h, cache = _call(**_rnn_args())
    with pytest.raises(ValueError, match=r"dh must have the shape of the forward output"):
        layers.rnn_backward(np.zeros((2, 3)), cache)


@pytest.mark.parametrize("rho", [-1.0, 0.0, np.nan, np.inf])
def test_bad_rho(rho):
    with pytest.raises(ValueError, match="rho must be a positive finite number"):
        init.scale_to_spectral_radius(np.eye(3), rho)


@pytest.mark.parametrize("max_norm", [0.0, -1.0, np.nan])
def test_bad_max_norm(max_norm):
    with pytest.raises(ValueError, match="max_norm must be a positive finite number"):
        optim.clip_grad_norm({"W": np.ones(3)}, max_norm)


def test_loss_errors():
    with pytest.raises(ValueError, match=r"target must have the shape of y"):
        layers.mse_loss(np.zeros((2, 3, 1)), np.zeros((2, 3)))
    with pytest.raises(TypeError, match=r"targets must hold integer class indices"):
        layers.softmax_cross_entropy(np.zeros((2, 3)), np.zeros(2))
    with pytest.raises(ValueError, match=r"targets must lie in \[0, V=3\)"):
        layers.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"mask selects no position"):
        layers.mse_loss(np.zeros((2, 3, 1)), np.zeros((2, 3, 1)), mask=np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"mask must have shape \(2, 3\)"):
        layers.mse_loss(np.zeros((2, 3, 1)), np.zeros((2, 3, 1)), mask=np.ones((3, 2)))


def test_model_input_errors():
    m = models.VanillaRNN(3, 4, 1)
    with pytest.raises(ValueError, match=r"x must have shape \(N, T, D=3\); got \(4, 3\)"):
        m.forward(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"lengths only applies to output='last'"):
        m.forward(np.zeros((2, 5, 3)), lengths=np.array([5, 3]))
    m = models.LSTM(3, 4, 1, output="last")
    with pytest.raises(ValueError, match=r"lengths must lie in \[1, T=5\]"):
        m.forward(np.zeros((2, 5, 3)), lengths=np.array([5, 6]))


dims = st.integers(min_value=1, max_value=5)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(N=dims, T=dims, D=dims, H=dims, wrong=st.sampled_from(["x", "h0", "Wx", "Wh", "b"]),
       delta=st.integers(min_value=1, max_value=3), cell=st.sampled_from(["rnn", "lstm", "gru"]))
def test_fuzzed_shape_errors_name_the_argument(N, T, D, H, wrong, delta, cell):
    """Any single wrong axis length gives a ValueError that names the faulty argument."""
    G = gate_blocks(cell)
    shapes = {"x": (N, T, D), "h0": (N, H), "Wx": (D, G * H), "Wh": (H, G * H), "b": (G * H,)}
    bad = list(shapes[wrong])
    bad[-1] += delta
    shapes[wrong] = tuple(bad)
    arrays = {k: np.full(s, 0.1) for k, s in shapes.items()}
    with pytest.raises(ValueError) as info:
        if cell == "rnn":
            layers.rnn_forward(*arrays.values())
        elif cell == "lstm":
            layers.lstm_forward(*arrays.values())
        else:
            layers.gru_forward(*arrays.values(), np.full(shapes["b"], 0.1) if wrong != "b"
                               else np.full(G * H, 0.1))
    message = str(info.value)
    # The message names the argument that was changed, or (when the changed axis defines a size
    # the others are checked against) an argument that no longer agrees with it.
    assert message.split(" ")[0] in shapes or message.startswith("bx"), message
    assert "got" in message


@settings(max_examples=40, deadline=None)
@given(N=dims, T=dims, D=dims, H=dims, cell=st.sampled_from(["rnn", "lstm", "gru"]))
def test_fuzzed_valid_shapes_give_finite_outputs(N, T, D, H, cell):
    rng = np.random.default_rng(N * 1000 + T * 100 + D * 10 + H)
    G = gate_blocks(cell)
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    Wx, Wh, b = rng.standard_normal((D, G * H)), rng.standard_normal((H, G * H)), np.zeros(G * H)
    h, grads = run_cell(cell, x, h0, Wx, Wh, b)
    assert h.shape == (N, T, H)
    assert all(np.all(np.isfinite(g)) for g in grads)
    assert [g.shape for g in grads[:2]] == [(N, T, D), (N, H)]
