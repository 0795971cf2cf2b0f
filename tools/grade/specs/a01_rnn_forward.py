"""Grading of 01_rnn_forward: the forward pass of a vanilla RNN, softmax, many-to-one."""

from __future__ import annotations

import numpy as np

from rnnlab import layers
from tools.grade.spec import AssignmentSpec, Check, Verifier

ARGS = ["x", "h_prev", "Wx", "Wh", "b"]


def _random(seed: int, shapes: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.standard_normal(shape) for name, shape in shapes.items()}


def _unchanged(t: Verifier, key: str, names: list[str], function: str) -> None:
    after = t.arrays(key, len(names), "the arguments")
    for name, array in zip(names, after):
        t.equal(array, t.inputs[name], f"{function} must not modify its arguments")


# ---- Part 1: one step -------------------------------------------------------------------------
def step_visible_inputs(ref) -> dict[str, np.ndarray]:
    return {"x": np.array([[1.0, 0.0], [0.0, 2.0]]), "h_prev": np.zeros((2, 3)),
            "Wx": np.array([[0.5, -0.5, 0.0], [0.25, 0.0, 1.0]]), "Wh": np.eye(3),
            "b": np.zeros(3)}


def step_visible(t: Verifier) -> None:
    value = t.value("h")
    t.expect(value.kind == "array",
             f"rnn_step_forward must return one array h; got {value.describe()}")
    h = t.array("h")
    t.shape(h, (2, 3), "h must have shape (N, H) = {expected}; got {got}")
    expected = np.tanh(t.inputs["x"] @ t.inputs["Wx"])
    t.close(h, expected, "one step from h_prev = 0 with b = 0 should give tanh(x Wx)", atol=1e-8)


def step_hidden_inputs(ref) -> dict[str, np.ndarray]:
    N, D, H = 4, 3, 5
    return _random(101, dict(zip(ARGS, [(N, D), (N, H), (D, H), (H, H), (H,)])))


def step_hidden(t: Verifier) -> None:
    expected, _ = layers.rnn_step_forward(*(t.inputs[n] for n in ARGS))
    h = t.array("h", "h")
    t.shape(h, expected.shape, "h must have shape (N, H) = {expected}; got {got}")
    t.close(h, expected, "rnn_step_forward differs from the reference when h_prev and b are "
            "not zero", rtol=1e-10, atol=1e-12)
    _unchanged(t, "after", ARGS, "rnn_step_forward")


STEP_RUN = "out['h'] = rnn_step_forward(x, h_prev, Wx, Wh, b)\n"

# ---- Part 2: the sequence ---------------------------------------------------------------------
SEQ = ["x", "h0", "Wx", "Wh", "b"]


def forward_visible_inputs(ref) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    N, T, D, H = 2, 4, 3, 5
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    Wx, Wh, b = rng.standard_normal((D, H)), rng.standard_normal((H, H)), rng.standard_normal(H)
    return {"x": x, "h0": h0, "Wx": Wx, "Wh": Wh, "b": b}


def forward_visible(t: Verifier) -> None:
    x, h0, Wx, Wh, b = (t.inputs[n] for n in SEQ)
    N, T, _ = x.shape
    H = Wh.shape[0]
    h = t.array("h")
    t.shape(h, (N, T, H), "h must have shape (N, T, H) = {expected}; got {got}")
    first, _ = layers.rnn_step_forward(x[:, 0], h0, Wx, Wh, b)
    t.close(h[:, 0], first, "h[:, 0] must be h_1, one step from h0 (not h0 itself)", atol=1e-12)
    h1 = t.array("h1")
    t.shape(h1, (N, 1, H), "with T = 1, h must have shape (N, 1, H) = {expected}; got {got}")
    t.close(h1[:, 0], first, "a sequence of length T = 1 is one step", atol=1e-12)


def forward_hidden_inputs(ref) -> dict[str, np.ndarray]:
    N, T, D, H = 3, 7, 2, 4
    arrays = _random(102, dict(zip(SEQ, [(N, T, D), (N, H), (D, H), (H, H), (H,)])))
    arrays["Wh"] *= 0.8
    return arrays


def forward_hidden(t: Verifier) -> None:
    expected, _ = layers.rnn_forward(*(t.inputs[n] for n in SEQ))
    N, T, H = expected.shape
    h = t.array("h")
    t.shape(h, (N, T, H), "h must have shape (N, T, H) = {expected}; got {got}")
    for step in range(T):
        t.close(h[:, step], expected[:, step],
                f"the hidden state at t = {step} (h_{step + 1}) differs from the reference: is "
                "each step fed the state of the step before?", rtol=1e-10, atol=1e-12)
    _unchanged(t, "after", SEQ, "rnn_forward")


# ---- Part 3: probabilities and the "hello" example --------------------------------------------
def softmax_inputs(ref) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(103)
    return {"h": rng.standard_normal((2, 3, 4)), "Wy": rng.standard_normal((4, 5)),
            "by": rng.standard_normal(5)}


def softmax_hidden(t: Verifier) -> None:
    h, Wy, by = t.inputs["h"], t.inputs["Wy"], t.inputs["by"]
    for scale, key in ((1.0, "p1"), (1000.0, "p1000")):
        scores = (scale * h) @ Wy + by
        e = np.exp(scores - scores.max(axis=-1, keepdims=True))
        expected = e / e.sum(axis=-1, keepdims=True)
        p = t.array(key, "p")
        t.shape(p, expected.shape, "p must have shape (N, T, V) = {expected}; got {got}")
        t.expect(bool(np.all(np.isfinite(p))), "char_probabilities returned inf or nan for "
                 f"scores of size about {scale:g}: subtract the largest score before np.exp")
        t.close(p, expected, "the softmax must run over the vocabulary (last axis); scores "
                f"scaled by {scale:g}", rtol=1e-10, atol=1e-14)


def hello_visible(t: Verifier) -> None:
    h = t.array("h_hello", "h_hello")
    p = t.array("probs_hello", "probs_hello")
    t.shape(h, (1, 4, 3), "h_hello must have shape (N, T, H) = (1, 4, 3); got {got}")
    t.shape(p, (1, 4, 4), "probs_hello must have shape (N, T, V) = (1, 4, 4); got {got}")
    t.close(p.sum(axis=-1), 1.0, "the probabilities at each step must sum to 1 over the "
            "vocabulary (the last axis)", atol=1e-12)
    t.close(h[0, 0], [0.95623746, -0.71629787, 0.83365461],
            "h_1, the state after reading 'h' from h0 = 0", atol=1e-7)
    prediction = t.value("prediction")
    text = str(prediction.array) if prediction.kind == "array" else repr(prediction.describe())
    t.expect(text == "ello", f"this trained network predicts 'ello'; yours gives {text!r}")
    t.close(t.array("loss_hello", "loss_hello"), 0.02469366,
            "the mean cross-entropy over the 4 steps", atol=1e-7)


HELLO_RUN = """out['h_hello'] = h_hello
out['probs_hello'] = probs_hello
out['prediction'] = str(prediction)
out['loss_hello'] = loss_hello
"""

# ---- Part 4: many-to-one ----------------------------------------------------------------------
M2O = ["x", "h0", "Wx", "Wh", "b", "Wy", "by"]


def m2o_visible_inputs(ref) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2)
    N, T, D, H, M = 2, 5, 3, 4, 2
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    Wx, Wh, b = rng.standard_normal((D, H)), rng.standard_normal((H, H)), rng.standard_normal(H)
    Wy, by = rng.standard_normal((H, M)), rng.standard_normal(M)
    return dict(zip(M2O, [x, h0, Wx, Wh, b, Wy, by]))


def m2o_visible(t: Verifier) -> None:
    x, h0, Wx, Wh, b, Wy, by = (t.inputs[n] for n in M2O)
    y = t.array("y")
    t.shape(y, (x.shape[0], Wy.shape[1]), "y must have shape (N, M) = {expected}; got {got}")
    h1, _ = layers.rnn_step_forward(x[:, 0], h0, Wx, Wh, b)
    t.close(t.array("y1", "y"), h1 @ Wy + by, "with T = 1, y = h_1 Wy + by", atol=1e-12)


def m2o_hidden_inputs(ref) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(104)
    N, T, D, H, M = 3, 6, 2, 4, 3
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    Wx, Wh = rng.standard_normal((D, H)), 0.9 * rng.standard_normal((H, H))
    b, Wy, by = rng.standard_normal(H), rng.standard_normal((H, M)), rng.standard_normal(M)
    return dict(zip(M2O, [x, h0, Wx, Wh, b, Wy, by]))


def m2o_hidden(t: Verifier) -> None:
    x, h0, Wx, Wh, b, Wy, by = (t.inputs[n] for n in M2O)
    h_ref, _ = layers.rnn_forward(x, h0, Wx, Wh, b)
    y = t.array("y")
    t.shape(y, (x.shape[0], Wy.shape[1]), "y must have shape (N, M) = {expected}; got {got}")
    t.close(y, h_ref[:, -1] @ Wy + by, "y must be h_T Wy + by, with h_T the state after the "
            "last input", rtol=1e-10, atol=1e-12)


M2O_RUN = "out['y'] = many_to_one(x, h0, Wx, Wh, b, Wy, by)\n"

SPEC = AssignmentSpec(
    name="01_rnn_forward",
    hidden=("layers.rnn_step_forward", "layers.rnn_forward"),
    checks=(
        Check("test_rnn_step_forward", STEP_RUN, step_visible, step_visible_inputs),
        Check("hidden_rnn_step_forward", STEP_RUN + "out['after'] = (x, h_prev, Wx, Wh, b)\n",
              step_hidden, step_hidden_inputs),
        Check("test_rnn_forward", "out['h'] = rnn_forward(x, h0, Wx, Wh, b)\n"
              "out['h1'] = rnn_forward(x[:, :1], h0, Wx, Wh, b)\n",
              forward_visible, forward_visible_inputs),
        Check("hidden_rnn_forward", "out['h'] = rnn_forward(x, h0, Wx, Wh, b)\n"
              "out['after'] = (x, h0, Wx, Wh, b)\n", forward_hidden, forward_hidden_inputs),
        Check("hidden_char_probabilities", "out['p1'] = char_probabilities(1.0 * h, Wy, by)\n"
              "out['p1000'] = char_probabilities(1000.0 * h, Wy, by)\n",
              softmax_hidden, softmax_inputs),
        Check("test_hello", HELLO_RUN, hello_visible),
        Check("test_many_to_one", M2O_RUN + "out['y1'] = many_to_one(x[:, :1], h0, Wx, Wh, b, "
              "Wy, by)\n", m2o_visible, m2o_visible_inputs),
        Check("hidden_many_to_one", M2O_RUN, m2o_hidden, m2o_hidden_inputs),
    ),
)
