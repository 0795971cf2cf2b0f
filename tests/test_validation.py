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


# --------------------------------------------------------------------------------------------
# No sharp edges (issue 11): each case below once gave a wrong number, a NumPy traceback or a
# silent NaN.
# --------------------------------------------------------------------------------------------


def _cell_arrays(cell, N, T, D, H, seed=0):
    rng = np.random.default_rng(seed)
    G = gate_blocks(cell)
    return dict(x=rng.standard_normal((N, T, D)), h0=rng.standard_normal((N, H)),
                Wx=0.5 * rng.standard_normal((D, G * H)), Wh=0.5 * rng.standard_normal((H, G * H)),
                b=rng.standard_normal(G * H), dh=rng.standard_normal((N, T, H)))


def _sequence_run(cell, a):
    """Forward with the arrays in `a`, returning (h, cache, backward)."""
    if cell == "rnn":
        h, cache = layers.rnn_forward(a["x"], a["h0"], a["Wx"], a["Wh"], a["b"])
        return h, cache, layers.rnn_backward
    if cell == "lstm":
        h, cache = layers.lstm_forward(a["x"], a["h0"], a["Wx"], a["Wh"], a["b"])
        return h, cache, layers.lstm_backward
    h, cache = layers.gru_forward(a["x"], a["h0"], a["Wx"], a["Wh"], a["b"], a["b"])
    return h, cache, layers.gru_backward


def _step_run(cell, a):
    """One step forward (time step 0 of the arrays in `a`): (h, cache, backward, dh)."""
    x, h0, dh = a["x"][:, 0], a["h0"], a["dh"][:, 0]
    if cell == "rnn":
        h, cache = layers.rnn_step_forward(x, h0, a["Wx"], a["Wh"], a["b"])
        return h, cache, layers.rnn_step_backward, dh
    if cell == "lstm":
        (h, _), cache = layers.lstm_step_forward(x, h0, np.zeros_like(h0), a["Wx"], a["Wh"],
                                                 a["b"])
        return h, cache, layers.lstm_step_backward, (dh, None)
    h, cache = layers.gru_step_forward(x, h0, a["Wx"], a["Wh"], a["b"], a["b"])
    return h, cache, layers.gru_step_backward, dh


@settings(max_examples=60, deadline=None)
@given(cell=st.sampled_from(["rnn", "lstm", "gru"]), N=st.integers(1, 3), T=st.integers(1, 3),
       kind=st.sampled_from(["sequence", "step"]),
       change=st.sampled_from(["output", "x", "h0", "Wx", "Wh", "b", "dh"]))
def test_backward_is_the_gradient_of_the_forward_that_ran(cell, N, T, kind, change):
    """Changing, in place, any array passed to or returned by a forward pass — reusing an input
    buffer, updating the weights, scaling the output — never changes a later backward pass;
    a backward pass never changes the caller's upstream gradient."""
    a = _cell_arrays(cell, N, T, D=2, H=3)
    run = _sequence_run if kind == "sequence" else _step_run
    result = run(cell, a)
    h, cache, backward = result[:3]
    dout = a["dh"] if kind == "sequence" else result[3]
    dh_before = a["dh"].copy()
    expected = [g.copy() for g in backward(dout, cache)]
    np.testing.assert_array_equal(a["dh"], dh_before)  # backward left the caller's dh alone
    if change == "output":
        h *= 0.5
    elif change != "dh":
        a[change] *= -3.0  # e.g. the next input written into the same buffer, or an SGD step
    again = backward(dout, cache)
    for got, want in zip(again, expected, strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("kind", ["step", "sequence"])
def test_lstm_backward_always_returns_the_same_number_of_gradients(kind):
    a = _cell_arrays("lstm", 2, 3, 2, 3)
    if kind == "sequence":
        h, cache = layers.lstm_forward(a["x"], a["h0"], a["Wx"], a["Wh"], a["b"])
        with_c0 = layers.lstm_forward(a["x"], a["h0"], a["Wx"], a["Wh"], a["b"],
                                      c0=np.zeros_like(a["h0"]))[1]
        without, given = layers.lstm_backward(a["dh"], cache), layers.lstm_backward(a["dh"],
                                                                                    with_c0)
        assert len(without) == len(given) == 6
        for g1, g2 in zip(without, given, strict=True):  # c0=None means c0 = 0
            np.testing.assert_array_equal(g1, g2)
    else:
        _, cache, backward, _ = _step_run("lstm", a)
        dh = a["dh"][:, 0]
        assert len(backward((dh, None), cache)) == len(backward((dh, np.zeros_like(dh)),
                                                                 cache)) == 6


@pytest.mark.parametrize("backward,forward_name", [
    (layers.rnn_backward, "rnn_forward"), (layers.lstm_backward, "lstm_forward"),
    (layers.gru_backward, "gru_forward"), (layers.rnn_step_backward, "rnn_step_forward"),
    (layers.lstm_step_backward, "lstm_step_forward"),
    (layers.gru_step_backward, "gru_step_forward"),
    (layers.temporal_affine_backward, "temporal_affine_forward"),
])
def test_wrong_cache_type_names_the_expected_cache(backward, forward_name):
    a = _cell_arrays("rnn", 2, 3, 2, 3)
    _, rnn_cache = layers.rnn_forward(a["x"], a["h0"], a["Wx"], a["Wh"], a["b"])
    _, lstm_step_cache = layers.lstm_step_forward(a["x"][:, 0], a["h0"], a["h0"],
                                                  np.zeros((2, 12)), np.zeros((3, 12)),
                                                  np.zeros(12))
    wrong = lstm_step_cache if backward is layers.rnn_backward else rnn_cache
    for cache in (wrong, tuple(wrong), None):
        with pytest.raises(TypeError, match=rf"cache must be the \w+Cache returned by "
                                            rf"{forward_name}; got"):
            backward(np.zeros((2, 3, 3)), cache)


def test_time_major_x_is_named():
    a = _cell_arrays("rnn", 4, 6, 2, 3)  # N = 4, T = 6
    x_time_major = a["x"].swapaxes(0, 1)  # (T, N, D)
    with pytest.raises(ValueError, match=r"^x must be batch-first.*x\.swapaxes\(0, 1\)"):
        layers.rnn_forward(x_time_major, a["h0"], a["Wx"], a["Wh"], a["b"])


def test_lstm_given_gru_weights_blames_wh_with_the_right_h():
    a = _cell_arrays("gru", 2, 3, 2, 5)  # Wx (2, 15), Wh (5, 15): a GRU's weights
    with pytest.raises(ValueError, match=r"^Wh must have shape \(H=5, 4\*H=20\); got \(5, 15\) "
                                         r"\(that is the shape of the Wh of a GRU, with 3 gate "
                                         r"blocks; an LSTM needs 4\)"):
        layers.lstm_forward(a["x"], a["h0"], a["Wx"], a["Wh"], np.zeros(20))


@pytest.mark.parametrize("call", [
    lambda: layers.mse_loss(np.zeros((0, 3, 1)), np.zeros((0, 3, 1))),
    lambda: layers.softmax_cross_entropy(np.zeros((0, 3, 4)), np.zeros((0, 3), dtype=int)),
    lambda: models.VanillaRNN(2, 3, 1).loss(np.zeros((0, 4, 2)), np.zeros((0, 4, 1))),
    lambda: models.VanillaRNN(2, 3, 1).forward(np.zeros((0, 4, 2))),
])
def test_empty_batch_is_an_error_not_nan(call):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning on the way either
        with pytest.raises(ValueError, match=r"must hold at least one sequence \(N >= 1\); "
                                             r"got N = 0"):
            call()


def test_train_rejects_an_empty_batch_and_bad_options_before_any_step():
    from rnnlab.train import train

    m = models.VanillaRNN(2, 3, 1)
    before = {k: v.copy() for k, v in m.params.items()}
    x, y = np.zeros((4, 5, 2)), np.zeros((4, 5, 1))
    with pytest.raises(ValueError, match=r"x must hold at least one sequence"):
        train(m, x[:0], y[:0], optimizer=optim.SGD(), steps=1, progress=False)
    with pytest.raises(TypeError, match=r"optimizer must have a step\(params, grads\) method"):
        train(m, x, y, optimizer=None, steps=3, progress=False)
    with pytest.raises(ValueError, match=r"lengths cannot be used with tbptt_k"):
        train(m, x, y, optimizer=optim.SGD(), steps=1, lengths=np.full(4, 5), tbptt_k=2,
              progress=False)
    for k, v in m.params.items():  # nothing ran
        np.testing.assert_array_equal(v, before[k])


@pytest.mark.parametrize("indices,error,pattern", [
    ([-1], ValueError, r"indices must lie in \[0, V=3\); got 1 outside it"),
    ([99], ValueError, r"indices must lie in \[0, V=3\); got 1 outside it"),
    ([1.7], TypeError, r"indices must be integers; got dtype float64"),
    ([True], TypeError, r"indices must be integers; got dtype bool"),
])
def test_decode_checks_its_indices(indices, error, pattern):
    from rnnlab import data

    with pytest.raises(error, match=pattern):
        data.CharVocab(("a", "b", "c")).decode(indices)
    assert data.CharVocab(("a", "b", "c")).decode([]) == ""


@pytest.mark.parametrize("start,error", [(1.7, TypeError), (True, TypeError), (-1, ValueError),
                                         (4, ValueError), (np.float64(1.0), TypeError)])
def test_sample_start_must_be_a_symbol_index(start, error):
    m = models.VanillaRNN(4, 3, 4, loss="softmax")
    with pytest.raises(error, match=r"start must be an integer"):
        m.sample(start, 2)
    assert len(m.sample(np.int64(3), 2)) == 2


def test_data_helpers_reject_bad_input():
    from rnnlab import data

    with pytest.raises(ValueError, match=r"sequences\[0\] must have shape \(T_i >= 1, D\); got "
                                         r"\(3,\) \(a 1-D sequence of scalars is s\[:, None\]"):
        data.pad_sequences([np.zeros(3), np.zeros(4)])
    co2 = data.load_series("co2_mauna_loa_monthly")["co2_ppm"]
    with pytest.raises(ValueError, match=r"series contains \d+ NaN or inf values"):
        data.make_windows(co2, 12)
    for noise in (np.nan, np.inf, -0.1):
        with pytest.raises(ValueError, match=r"noise must be a finite number >= 0"):
            data.sine_wave(noise=noise)
    with pytest.raises(TypeError, match=r"encoded must hold integer character indices"):
        data.char_windows(np.arange(20.0), 5, 2)


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.one_of(st.integers(-5, 10), st.floats(allow_nan=True)), min_size=1,
                       max_size=6))
def test_fuzzed_decode_never_returns_a_wrong_character(values):
    """decode either returns exactly the characters of valid indices or raises a clear error."""
    from rnnlab import data

    vocab = data.CharVocab(("a", "b", "c"))
    arr = np.asarray(values)
    if arr.dtype.kind in "iu" and all(0 <= v < 3 for v in values):
        assert vocab.decode(values) == "".join("abc"[v] for v in values)
    else:
        with pytest.raises((TypeError, ValueError), match=r"^indices must"):
            vocab.decode(values)
