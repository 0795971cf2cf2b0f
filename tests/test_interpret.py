"""rnnlab.interpret: activations equal the LSTM's own forward pass, saturation fractions and
text features on constructed inputs, correlations against NumPy's, and the argument checks."""

from __future__ import annotations

import numpy as np
import pytest

from rnnlab import interpret, layers


def _lstm(rng, T=7, D=5, H=4, dtype=np.float64):
    x = rng.standard_normal((T, D)).astype(dtype)
    Wx = (0.7 * rng.standard_normal((D, 4 * H))).astype(dtype)
    Wh = (0.7 * rng.standard_normal((H, 4 * H))).astype(dtype)
    b = (0.3 * rng.standard_normal(4 * H)).astype(dtype)
    return x, Wx, Wh, b


@pytest.mark.parametrize("with_state", [False, True])
def test_activations_equal_the_layers_forward_and_step(with_state):
    rng = np.random.default_rng(0)
    x, Wx, Wh, b = _lstm(rng)
    H = Wh.shape[0]
    h0 = rng.standard_normal(H) if with_state else None
    c0 = rng.standard_normal(H) if with_state else None
    acts = interpret.lstm_activations(x, Wx, Wh, b, h0=h0, c0=c0)
    zeros = np.zeros((1, H))
    hs, cache = layers.lstm_forward(x[None], zeros if h0 is None else h0[None], Wx, Wh, b,
                                    c0=None if c0 is None else c0[None])
    np.testing.assert_allclose(acts.h, hs[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(acts.c, cache.c[:, 0], rtol=1e-12, atol=1e-14)
    # every gate of every step against the readable step function
    h, c = (zeros, zeros) if h0 is None else (h0[None], c0[None])
    for t in range(x.shape[0]):
        (h, c), step = layers.lstm_step_forward(x[t:t + 1], h, c, Wx, Wh, b)
        i, f, g, o = np.split(step.gates[0], 4)
        for name, want in zip("ifgoch", (i, f, g, o, c[0], h[0])):
            np.testing.assert_allclose(getattr(acts, name)[t], want, rtol=1e-12, atol=1e-14,
                                       err_msg=f"{name} at step {t}")


def test_activations_shapes_dtype_and_no_aliasing():
    rng = np.random.default_rng(1)
    x, Wx, Wh, b = _lstm(rng, T=3, D=2, H=5, dtype=np.float32)
    acts = interpret.lstm_activations(x, Wx, Wh, b)
    for name in interpret.LSTMActivations._fields:
        arr = getattr(acts, name)
        assert arr.shape == (3, 5) and arr.dtype == np.float32, name
    before = acts.h.copy()
    x *= 10  # a caller's later change to its inputs does not reach the result
    Wh[:] = 0
    np.testing.assert_array_equal(acts.h, before)
    assert np.all((acts.i > 0) & (acts.i < 1)) and np.all(np.abs(acts.g) < 1)


def test_activations_refuse_bad_arguments():
    rng = np.random.default_rng(2)
    x, Wx, Wh, b = _lstm(rng)
    with pytest.raises(ValueError, match="x must be one sequence"):
        interpret.lstm_activations(x[None], Wx, Wh, b)
    with pytest.raises(ValueError, match="Wh must have shape"):
        interpret.lstm_activations(x, Wx, Wh[:, :-1], b)
    with pytest.raises(ValueError, match="Wx"):
        interpret.lstm_activations(x[:, :-1], Wx, Wh, b)
    with pytest.raises(ValueError, match="b"):
        interpret.lstm_activations(x, Wx, Wh, b[:-1])
    with pytest.raises(ValueError, match="h0"):
        interpret.lstm_activations(x, Wx, Wh, b, h0=np.zeros(3))
    with pytest.raises(TypeError, match="dtype"):
        interpret.lstm_activations(x.astype(np.float32), Wx, Wh, b)


def test_saturation_fractions_on_constructed_gates():
    # unit 0: always left; unit 1: always right; unit 2: half left, a quarter right;
    # unit 3: exactly at the thresholds, which count as neither (strict < and >)
    gate = np.array([[0.0, 1.0, 0.05, 0.1],
                     [0.09, 0.95, 0.02, 0.9],
                     [0.01, 0.91, 0.5, 0.1],
                     [0.0, 1.0, 0.99, 0.9]])
    left, right = interpret.saturation_fractions(gate)
    np.testing.assert_array_equal(left, [1.0, 0.0, 0.5, 0.0])
    np.testing.assert_array_equal(right, [0.0, 1.0, 0.25, 0.0])
    left, right = interpret.saturation_fractions(gate, low=0.2, high=0.5)
    np.testing.assert_array_equal(left, [1.0, 0.0, 0.5, 0.5])
    np.testing.assert_array_equal(right, [0.0, 1.0, 0.25, 0.5])
    assert np.all(left + right <= 1)


def test_saturation_fractions_refuse_bad_arguments():
    with pytest.raises(ValueError, match=r"gate values must lie in \[0, 1\]"):
        interpret.saturation_fractions(np.array([[0.5, -0.2]]))  # a tanh, not a gate
    with pytest.raises(ValueError, match="gate must have shape"):
        interpret.saturation_fractions(np.array([0.5, 0.2]))
    with pytest.raises(ValueError, match="low < high"):
        interpret.saturation_fractions(np.array([[0.5]]), low=0.9, high=0.1)
    with pytest.raises(ValueError, match="NaN"):
        interpret.saturation_fractions(np.array([[np.nan]]))


def test_in_quotes():
    text = 'a "bc" d\n"e\n\n"f" g'
    want = [0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0]
    np.testing.assert_array_equal(interpret.in_quotes(text), want)
    # a quotation left open at a paragraph break is closed by it
    assert interpret.in_quotes('"a\n\nb')[-1] == 0
    assert interpret.in_quotes('"a\n\nb', paragraph="")[-1] == 1
    np.testing.assert_array_equal(interpret.in_quotes("x 'y' z", quote="'"),
                                  [0, 0, 1, 1, 0, 0, 0])
    with pytest.raises(ValueError, match="quote must be one character"):
        interpret.in_quotes("abc", quote="''")


def test_position_in_line_and_bracket_depth():
    np.testing.assert_array_equal(interpret.position_in_line("ab\ncde\n\nf"),
                                  [1, 2, 0, 1, 2, 3, 0, 0, 1])
    np.testing.assert_array_equal(interpret.bracket_depth("a(b(c)d)e)f"),
                                  [0, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(interpret.bracket_depth("[x]", open="[", close="]"),
                                  [1, 1, 0])
    with pytest.raises(ValueError, match="two different single characters"):
        interpret.bracket_depth("((", open="(", close="(")


@pytest.mark.parametrize("fn", [interpret.in_quotes, interpret.position_in_line,
                                interpret.bracket_depth])
def test_features_refuse_non_text(fn):
    with pytest.raises(TypeError, match="text must be a str"):
        fn(["a", "b"])
    with pytest.raises(ValueError, match="text must not be empty"):
        fn("")


def test_feature_correlations_equal_numpy_corrcoef():
    rng = np.random.default_rng(3)
    feature = rng.standard_normal(50)
    acts = rng.standard_normal((50, 4))
    acts[:, 1] = 2 * feature + 1  # perfectly correlated
    acts[:, 2] = -feature  # perfectly anti-correlated
    acts[:, 3] = 0.7  # constant unit: 0 by definition
    corr = interpret.feature_correlations(acts, feature)
    assert corr[0] == pytest.approx(np.corrcoef(acts[:, 0], feature)[0, 1], abs=1e-12)
    np.testing.assert_allclose(corr[1:], [1.0, -1.0, 0.0], atol=1e-12)
    assert np.all(np.abs(corr) <= 1)


def test_feature_correlations_refuse_bad_arguments():
    acts = np.ones((5, 2))
    with pytest.raises(ValueError, match="feature is constant"):
        interpret.feature_correlations(np.arange(10.0).reshape(5, 2), np.zeros(5))
    with pytest.raises(ValueError, match="feature"):
        interpret.feature_correlations(acts, np.arange(4.0))
    with pytest.raises(ValueError, match="acts must have shape"):
        interpret.feature_correlations(np.ones(5), np.arange(5.0))
    with pytest.raises(TypeError, match="feature"):
        interpret.feature_correlations(acts, np.arange(5))  # ints: convert deliberately


def test_top_units():
    corr = np.array([0.1, -0.8, 0.8, 0.3])
    np.testing.assert_array_equal(interpret.top_units(corr, 3), [1, 2, 3])  # tie: lower first
    assert interpret.top_units(corr).tolist() == [1]
    for bad in (0, 5, 1.5, True):
        with pytest.raises(ValueError, match="k must be an integer"):
            interpret.top_units(corr, bad)
