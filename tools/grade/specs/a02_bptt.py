"""Grading of 02_bptt: backpropagation through time, a gradient check, truncated BPTT."""

from __future__ import annotations

import numpy as np

from rnnlab import gradcheck, layers
from tools.grade.spec import AssignmentSpec, Check, Verifier

STEP = ["x", "h_prev", "Wx", "Wh", "b"]
STEP_GRADS = ["dx", "dh_prev", "dWx", "dWh", "db"]
SEQ = ["x", "h0", "Wx", "Wh", "b"]
SEQ_GRADS = ["dx", "dh0", "dWx", "dWh", "db"]
NAMES = ["x", "h0", "Wx", "Wh", "b"]


# ---- Part 1: one step -------------------------------------------------------------------------
def step_visible_inputs(ref) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    N, D, H = 1, 3, 4
    x, h_prev = rng.standard_normal((N, D)), rng.standard_normal((N, H))
    Wx, Wh, b = rng.standard_normal((D, H)), rng.standard_normal((H, H)), rng.standard_normal(H)
    return {"x": x, "h_prev": h_prev, "Wx": Wx, "Wh": Wh, "b": b,
            "dh": rng.standard_normal((N, H))}


def step_visible(t: Verifier) -> None:
    """Centred differences of the reference forward (never of the student's own functions)."""
    params = [t.inputs[n].copy() for n in STEP]
    dh = t.inputs["dh"]
    grads = t.arrays("grads", 5, "rnn_step_backward", STEP_GRADS)

    def forward():
        return layers.rnn_step_forward(*params)[0]

    t.gradients_check(STEP_GRADS, grads, params,
                      lambda p: gradcheck.numerical_gradient_array(forward, p, dh),
                      like_input=True)


STEP_RUN = """_, cache = rnnlab_layers.rnn_step_forward(x, h_prev, Wx, Wh, b)
out['grads'] = rnn_step_backward(dh, cache)
"""


def step_hidden_inputs(ref) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(201)
    N, D, H = 3, 2, 5
    arrays = {n: rng.standard_normal(s) for n, s in zip(STEP, [(N, D), (N, H), (D, H), (H, H),
                                                              (H,)])}
    arrays["dh"] = rng.standard_normal((N, H))
    return arrays


def step_hidden(t: Verifier) -> None:
    _, cache = layers.rnn_step_forward(*(t.inputs[n] for n in STEP))
    expected = layers.rnn_step_backward(t.inputs["dh"], cache)
    grads = t.arrays("grads", 5, "rnn_step_backward", STEP_GRADS)
    t.gradients_match(STEP_GRADS, grads, expected, "for a batch of N = 3")


# ---- Part 2: through time ---------------------------------------------------------------------
def _sequence_inputs(seed: int, N: int, T: int, D: int, H: int, wh_scale: float = 1.0
                     ) -> dict[str, np.ndarray]:
    """x (N, T, D), h0 (N, H), Wx (D, H), Wh (H, H) times wh_scale, b (H,), dh (N, T, H)."""
    rng = np.random.default_rng(seed)
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    Wx, Wh, b = (rng.standard_normal((D, H)), rng.standard_normal((H, H)) * wh_scale,
                 rng.standard_normal(H))
    return {"x": x, "h0": h0, "Wx": Wx, "Wh": Wh, "b": b, "dh": rng.standard_normal((N, T, H))}


def bptt_visible_inputs(ref) -> dict[str, np.ndarray]:
    return _sequence_inputs(2, N=2, T=3, D=3, H=4)


def bptt_visible(t: Verifier) -> None:
    params = [t.inputs[n] for n in SEQ]
    grads = t.arrays("grads", 5, "rnn_backward", SEQ_GRADS)
    for name, g, p in zip(SEQ_GRADS, grads, params):
        t.shape(g, p.shape, f"{name} must have shape {{expected}}; got {{got}}")
    x, h0, Wx, Wh, b = params
    _, cache = layers.rnn_step_forward(x[:, 0], h0, Wx, Wh, b)
    expected = layers.rnn_step_backward(t.inputs["dh"][:, 0], cache)
    for name, g, e in zip(SEQ_GRADS, t.arrays("grads1", 5, "rnn_backward", SEQ_GRADS), expected):
        t.expect(np.size(g) == np.size(e), f"with T = 1, {name} must have {np.size(e)} entries")
        t.close(np.reshape(g, np.shape(e)), e, f"with T = 1, {name} must equal one step's "
                "gradient", rtol=1e-9, atol=1e-12)


BPTT_VISIBLE_RUN = """_, caches = rnn_forward_with_caches(x, h0, Wx, Wh, b)
out['grads'] = rnn_backward(dh, caches)
_, caches1 = rnn_forward_with_caches(x[:, :1], h0, Wx, Wh, b)
out['grads1'] = rnn_backward(dh[:, :1], caches1)
"""


def bptt_hidden_inputs(ref) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(202)
    N, T, D, H = 2, 6, 3, 4
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    Wx, Wh, b = rng.standard_normal((D, H)), rng.standard_normal((H, H)) / 2, rng.standard_normal(H)
    dh_every = rng.standard_normal((N, T, H))
    dh_last = np.zeros((N, T, H))
    dh_last[:, -1] = rng.standard_normal((N, H))
    return {"x": x, "h0": h0, "Wx": Wx, "Wh": Wh, "b": b, "dh_every": dh_every,
            "dh_last": dh_last}


def bptt_hidden(t: Verifier) -> None:
    _, cache = layers.rnn_forward(*(t.inputs[n] for n in SEQ))
    for case, key in [("a loss at every step", "every"), ("a loss at the last step only", "last")]:
        expected = layers.rnn_backward(t.inputs[f"dh_{key}"], cache)
        grads = t.arrays(key, 5, "rnn_backward", SEQ_GRADS)
        t.gradients_match(SEQ_GRADS, grads, expected, f"with {case}")


BPTT_HIDDEN_RUN = """_, caches = rnn_forward_with_caches(x, h0, Wx, Wh, b)
out['every'] = rnn_backward(dh_every, caches)
out['last'] = rnn_backward(dh_last, caches)
"""


# ---- Part 3: the gradient check and its interpretation ----------------------------------------
def _check_problem(ref) -> list[np.ndarray]:
    return [ref["x_check"], ref["h0_check"], ref["Wx_check"], ref["Wh_check"], ref["b_check"]]


def relative_errors_inputs(ref) -> dict[str, np.ndarray]:
    """The reference gradients of the check problem, handed to the sandbox as plain arrays."""
    _, cache = layers.rnn_forward(*_check_problem(ref))
    grads = layers.rnn_backward(ref["dh_check"], cache)
    return {f"g{i}": g for i, g in enumerate(grads)}


RELATIVE_ERRORS_RUN = """def _reference_backward(dh, caches):
    return (g0.copy(), g1.copy(), g2.copy(), g3.copy(), g4.copy())


def _zero_backward(dh, caches):
    return tuple(np.zeros_like(g) for g in (g0, g1, g2, g3, g4))


out['reference'] = relative_errors(_reference_backward)
out['zero'] = relative_errors(_zero_backward)
"""


def _errors(t: Verifier, key: str) -> dict[str, float]:
    errors = t.mapping(key, "relative_errors(backward)")
    t.expect(set(errors) == set(NAMES), "relative_errors must return the keys x, h0, Wx, Wh, b; "
             f"got {sorted(errors)}")
    result = {}
    for name, value in errors.items():
        result[name] = t.number(value, f"the relative error for {name}")
    return result


def relative_errors_visible(t: Verifier) -> None:
    for name, e in _errors(t, "reference").items():
        t.expect(e < 1e-7, f"a correct backward pass gets relative error {e:.1e} for {name} "
                 "(expected < 1e-7): does f recompute the forward pass from the arrays the check "
                 "perturbs?")
    for name, e in _errors(t, "zero").items():
        t.expect(abs(e - 1) < 1e-12, f"a backward pass that returns zeros must get relative "
                 f"error 1 for {name}; got {e:.1e}")


def interpretation_hidden(t: Verifier) -> None:
    ref = t.teacher
    wrong = t.strings("suspect_wrong", "suspect_wrong")
    t.expect(wrong is not None and wrong <= set(NAMES), "suspect_wrong must be a set of names "
             "from 'x', 'h0', 'Wx', 'Wh', 'b'")
    problem = [p.copy() for p in _check_problem(ref)]
    _, check_caches = ref["rnn_forward_with_caches"](*problem)

    def check_forward():
        return layers.rnn_forward(*problem)[0]

    truth = {}
    suspect = ref["suspect_backward"](ref["dh_check"], check_caches)
    for name, g, p in zip(NAMES, suspect, problem):
        truth[name] = gradcheck.rel_error(g, gradcheck.numerical_gradient_array(
            check_forward, p, ref["dh_check"]))
    measured = _errors(t, "measured")
    for name, e in truth.items():
        if e > 1e-6:
            t.close(measured[name], e, f"your relative error for {name} differs from a reference "
                    "gradient check", rtol=1e-4)
        else:
            t.expect(measured[name] < 1e-7, f"{name} is correct in suspect_backward, but your "
                     f"check reports a relative error of {measured[name]:.1e}")
    expected = {name for name, e in truth.items() if e > 1e-6}
    t.expect(wrong == expected, f"suspect_wrong = {sorted(wrong)}, but the gradients that "
             f"suspect_backward gets wrong are {sorted(expected)}: errors of 1e-10 to 1e-8 are "
             "rounding noise, not bugs")


INTERPRETATION_RUN = """out['suspect_wrong'] = suspect_wrong
out['measured'] = relative_errors(suspect_backward)
"""


# ---- Part 4: truncated BPTT -------------------------------------------------------------------
def tbptt_visible_inputs(ref) -> dict[str, np.ndarray]:
    return _sequence_inputs(3, N=2, T=4, D=3, H=4, wh_scale=0.5)


def tbptt_visible(t: Verifier) -> None:
    _, cache = layers.rnn_forward(*(t.inputs[n] for n in SEQ))
    full = layers.rnn_backward(t.inputs["dh"], cache)[2:]
    T = t.inputs["x"].shape[1]
    for k, key in ((T, "k_T"), (T + 3, "k_more")):
        grads = t.arrays(key, 3, "truncated_rnn_backward", ["dWx", "dWh", "db"])
        for name, g, e in zip(["dWx", "dWh", "db"], grads, full):
            t.close(g, e, f"with k = {k} >= T = {T} there is one chunk, and {name} must equal "
                    "full BPTT's", rtol=1e-9, atol=1e-12)


TBPTT_VISIBLE_RUN = """_, caches = rnn_forward_with_caches(x, h0, Wx, Wh, b)
T = x.shape[1]
out['k_T'] = truncated_rnn_backward(dh, caches, T)
out['k_more'] = truncated_rnn_backward(dh, caches, T + 3)
"""


def tbptt_hidden_inputs(ref) -> dict[str, np.ndarray]:
    return _sequence_inputs(203, N=2, T=7, D=2, H=3)


def tbptt_hidden(t: Verifier) -> None:
    x, h0, Wx, Wh, b = (t.inputs[n] for n in SEQ)
    dh = t.inputs["dh"]
    T = x.shape[1]
    h_full, _ = layers.rnn_forward(x, h0, Wx, Wh, b)
    for k in (3, 1):
        expected = [0, 0, 0]
        for start in range(0, T, k):
            stop = min(start + k, T)
            state = h0 if start == 0 else h_full[:, start - 1]
            _, chunk_cache = layers.rnn_forward(x[:, start:stop], state, Wx, Wh, b)
            for i, g in enumerate(layers.rnn_backward(dh[:, start:stop], chunk_cache)[2:]):
                expected[i] = expected[i] + g
        grads = t.arrays(f"k{k}", 3, "truncated_rnn_backward", ["dWx", "dWh", "db"])
        for name, g, e in zip(["dWx", "dWh", "db"], grads, expected):
            t.close(g, e, f"{name} with T = {T}, k = {k}: the gradient must stop at every chunk "
                    "boundary, and every chunk (also a last, shorter one) must count",
                    rtol=1e-9, atol=1e-12)


TBPTT_HIDDEN_RUN = """_, caches = rnn_forward_with_caches(x, h0, Wx, Wh, b)
out['k3'] = truncated_rnn_backward(dh, caches, 3)
out['k1'] = truncated_rnn_backward(dh, caches, 1)
"""

SPEC = AssignmentSpec(
    name="02_bptt",
    hidden=("layers.rnn_step_backward", "layers.rnn_backward"),
    teacher_cells=("setup", "check_problem"),
    checks=(
        Check("test_rnn_step_backward", STEP_RUN, step_visible, step_visible_inputs),
        Check("hidden_rnn_step_backward", STEP_RUN, step_hidden, step_hidden_inputs),
        Check("test_rnn_backward", BPTT_VISIBLE_RUN, bptt_visible, bptt_visible_inputs),
        Check("hidden_rnn_backward", BPTT_HIDDEN_RUN, bptt_hidden, bptt_hidden_inputs),
        Check("test_relative_errors", RELATIVE_ERRORS_RUN, relative_errors_visible,
              relative_errors_inputs),
        Check("hidden_interpretation", INTERPRETATION_RUN, interpretation_hidden),
        Check("test_truncated_rnn_backward", TBPTT_VISIBLE_RUN, tbptt_visible,
              tbptt_visible_inputs),
        Check("hidden_truncated_rnn_backward", TBPTT_HIDDEN_RUN, tbptt_hidden,
              tbptt_hidden_inputs),
    ),
)
