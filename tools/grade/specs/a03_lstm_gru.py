"""Grading of 03_lstm_gru: LSTM step forward and backward (gate order i, f, g, o); GRU step."""

from __future__ import annotations

import numpy as np

from rnnlab import gradcheck, layers
from tools.grade.spec import AssignmentSpec, Check, Verifier

LSTM = ["x", "h_prev", "c_prev", "Wx", "Wh", "b"]
LSTM_GRADS = ["dx", "dh_prev", "dc_prev", "dWx", "dWh", "db"]
GRU = ["x", "h_prev", "Wx", "Wh", "bx", "bh"]
GRU_GRADS = ["dx", "dh_prev", "dWx", "dWh", "dbx", "dbh"]


def _random(seed: int, names: list[str], shapes: list[tuple[int, ...]]) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {n: rng.standard_normal(s) for n, s in zip(names, shapes)}


def _lstm_shapes(N: int, D: int, H: int) -> list[tuple[int, ...]]:
    return [(N, D), (N, H), (N, H), (D, 4 * H), (H, 4 * H), (4 * H,)]


# ---- LSTM forward -----------------------------------------------------------------------------
def gate_order_inputs(ref) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    N, D, H = 2, 3, 4
    arrays = {"x": rng.standard_normal((N, D)), "h_prev": rng.standard_normal((N, H)),
              "c_prev": rng.standard_normal((N, H))}
    arrays.update(Wx=rng.standard_normal((D, 4 * H)), Wh=rng.standard_normal((H, 4 * H)),
                  b=rng.standard_normal(4 * H), Wx0=np.zeros((D, 4 * H)),
                  Wh0=np.zeros((H, 4 * H)))
    arrays["write"] = np.repeat([30.0, -30.0, 0.5, 30.0], H)
    arrays["keep"] = np.repeat([-30.0, 30.0, 0.5, -30.0], H)
    return arrays


GATE_ORDER_RUN = """h, c, _ = lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)
out['random'] = (h, c)
h, c, _ = lstm_step_forward(x, h_prev, c_prev, Wx0, Wh0, write)
out['write'] = (h, c)
h, c, _ = lstm_step_forward(x, h_prev, c_prev, Wx0, Wh0, keep)
out['keep'] = (h, c)
"""


def gate_order_visible(t: Verifier) -> None:
    N, H = t.inputs["h_prev"].shape
    h, c = t.arrays("random", 2, "lstm_step_forward", ["h", "c"])
    t.expect(np.shape(h) == (N, H) and np.shape(c) == (N, H), f"h and c must have shape (N, H) "
             f"= {(N, H)}; got {np.shape(h)} and {np.shape(c)}")
    h, c = t.arrays("write", 2, "lstm_step_forward", ["h", "c"])
    t.close(c, np.full((N, H), 0.46211716), "i = 1, f = 0, g = tanh(0.5): c must be 0.4621 "
            "everywhere. Check the gate order i, f, g, o, and that g uses tanh", atol=1e-7)
    t.close(h, np.full((N, H), 0.43180818), "o = 1: h = tanh(c) = 0.4318", atol=1e-7)
    h, c = t.arrays("keep", 2, "lstm_step_forward", ["h", "c"])
    t.close(c, t.inputs["c_prev"], "i = 0, f = 1: the cell must keep c_prev unchanged", atol=1e-9)
    t.close(h, np.zeros((N, H)), "o = 0: h must be 0", atol=1e-9)


def lstm_forward_inputs(ref) -> dict[str, np.ndarray]:
    return _random(301, LSTM, _lstm_shapes(3, 2, 5))


def lstm_forward_hidden(t: Verifier) -> None:
    (h_ref, c_ref), _ = layers.lstm_step_forward(*(t.inputs[n] for n in LSTM))
    h, c = t.arrays("hc", 2, "lstm_step_forward (before its cache)", ["h", "c"])
    t.close(c, c_ref, "c differs from the reference (gate order i, f, g, o? sigmoid for i, f, o "
            "and tanh for g?)", rtol=1e-10, atol=1e-12)
    t.close(h, h_ref, "h differs from the reference: h = o * tanh(c) with the new c",
            rtol=1e-10, atol=1e-12)


LSTM_FORWARD_RUN = """h, c, _ = lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)
out['hc'] = (h, c)
"""


# ---- LSTM backward ----------------------------------------------------------------------------
def lstm_gradcheck_inputs(ref) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2)
    N, D, H = 2, 3, 4
    arrays = [rng.standard_normal((N, D)), rng.standard_normal((N, H)),
              rng.standard_normal((N, H)), rng.standard_normal((D, 4 * H)) / np.sqrt(D),
              rng.standard_normal((H, 4 * H)) / np.sqrt(H), rng.standard_normal(4 * H)]
    result = dict(zip(LSTM, arrays))
    result.update(dh=rng.standard_normal((N, H)), dc=rng.standard_normal((N, H)))
    return result


LSTM_BACKWARD_RUN = """_, _, cache = lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)
out['grads'] = lstm_step_backward(dh, dc, cache)
"""


def lstm_gradcheck_visible(t: Verifier) -> None:
    """Centred differences of the REFERENCE forward: a student's forward that returns zeros and a
    backward that returns zeros agree with each other, but not with the maths."""
    params = [t.inputs[n].copy() for n in LSTM]
    dh, dc = t.inputs["dh"], t.inputs["dc"]
    grads = t.arrays("grads", 6, "lstm_step_backward", LSTM_GRADS)

    def loss():
        (h, c), _ = layers.lstm_step_forward(*params)
        return np.sum(h * dh) + np.sum(c * dc)

    t.gradients_check(LSTM_GRADS, grads, params, lambda p: gradcheck.numerical_gradient(loss, p))


def lstm_backward_inputs(ref) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(302)
    N, D, H = 3, 2, 5
    arrays = {n: rng.standard_normal(s) for n, s in zip(LSTM, _lstm_shapes(N, D, H))}
    arrays.update(dh=rng.standard_normal((N, H)), dc=rng.standard_normal((N, H)))
    return arrays


def lstm_backward_hidden(t: Verifier) -> None:
    _, cache = layers.lstm_step_forward(*(t.inputs[n] for n in LSTM))
    expected = layers.lstm_step_backward((t.inputs["dh"], t.inputs["dc"]), cache)
    grads = t.arrays("grads", 6, "lstm_step_backward", LSTM_GRADS)
    t.gradients_match(LSTM_GRADS, grads, expected, "lstm_step_backward")


# ---- GRU (extra credit) -----------------------------------------------------------------------
def gru_gradcheck_inputs(ref) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    N, D, H = 2, 3, 4
    arrays = [rng.standard_normal((N, D)), rng.standard_normal((N, H)),
              rng.standard_normal((D, 3 * H)) / np.sqrt(D),
              rng.standard_normal((H, 3 * H)) / np.sqrt(H), rng.standard_normal(3 * H),
              rng.standard_normal(3 * H)]
    result = dict(zip(GRU, arrays))
    result["dh"] = rng.standard_normal((N, H))
    return result


GRU_RUN = """h, cache = gru_step_forward(x, h_prev, Wx, Wh, bx, bh)
out['h'] = h
out['grads'] = gru_step_backward(dh, cache)
"""


def gru_gradcheck_visible(t: Verifier) -> None:
    params = [t.inputs[n].copy() for n in GRU]
    dh = t.inputs["dh"]
    N, H = dh.shape
    t.shape(t.array("h"), (N, H), "h must have shape (N, H) = {expected}; got {got}")
    grads = t.arrays("grads", 6, "gru_step_backward", GRU_GRADS)

    def loss():
        return np.sum(layers.gru_step_forward(*params)[0] * dh)

    t.gradients_check(GRU_GRADS, grads, params, lambda p: gradcheck.numerical_gradient(loss, p))


def gru_hidden_inputs(ref) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(303)
    N, D, H = 3, 2, 5
    shapes = [(N, D), (N, H), (D, 3 * H), (H, 3 * H), (3 * H,), (3 * H,)]
    arrays = {n: rng.standard_normal(s) for n, s in zip(GRU, shapes)}
    arrays["dh"] = rng.standard_normal((N, H))
    return arrays


def gru_hidden(t: Verifier) -> None:
    h_ref, cache = layers.gru_step_forward(*(t.inputs[n] for n in GRU))
    t.close(t.array("h"), h_ref, "h differs from the reference GRU: h = (1 - z) * n + z * h_prev, "
            "with r applied to h_prev Wh_n + bh_n", rtol=1e-10, atol=1e-12)
    expected = layers.gru_step_backward(t.inputs["dh"], cache)
    grads = t.arrays("grads", 6, "gru_step_backward", GRU_GRADS)
    t.gradients_match(GRU_GRADS, grads, expected, "gru_step_backward")


SPEC = AssignmentSpec(
    name="03_lstm_gru",
    hidden=tuple(f"layers.{cell}_{part}" for cell in ("lstm", "gru")
                 for part in ("step_forward", "step_backward", "forward", "backward")),
    checks=(
        Check("test_lstm_gate_order", GATE_ORDER_RUN, gate_order_visible, gate_order_inputs),
        Check("hidden_lstm_step_forward", LSTM_FORWARD_RUN, lstm_forward_hidden,
              lstm_forward_inputs),
        Check("test_lstm_gradient_check", LSTM_BACKWARD_RUN, lstm_gradcheck_visible,
              lstm_gradcheck_inputs),
        Check("hidden_lstm_step_backward", LSTM_BACKWARD_RUN, lstm_backward_hidden,
              lstm_backward_inputs),
        Check("test_gru_gradient_check", GRU_RUN, gru_gradcheck_visible, gru_gradcheck_inputs),
        Check("hidden_gru", GRU_RUN, gru_hidden, gru_hidden_inputs),
    ),
)
