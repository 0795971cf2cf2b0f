"""Grading of 04_vanishing_exploding: Jacobian norms through time, the Pascanu bound, clipping."""

from __future__ import annotations

import numpy as np

from rnnlab import analysis, init, optim
from tools.grade.spec import AssignmentSpec, Check, Verifier

SEQ = ["x", "h0", "Wx", "Wh", "b"]


# ---- Jacobian norms ---------------------------------------------------------------------------
def norms_visible_inputs(ref) -> dict[str, np.ndarray]:
    T, D, H = 3, 2, 4
    return {"x": np.zeros((T, D)), "h0": np.zeros(H), "Wx": np.ones((D, H)),
            "Wh": 0.5 * np.eye(H), "b": np.zeros(H)}


NORMS_RUN = "out['norms'] = jacobian_norms(x, h0, Wx, Wh, b)\n"


def norms_visible(t: Verifier) -> None:
    T = t.inputs["x"].shape[0]
    norms = t.array("norms")
    t.shape(norms, (T + 1,), "norms must have shape (T + 1,) = {expected}; got {got}")
    t.close(norms[T], 1.0, "norms[T] = ||dh_T/dh_T||_2 = ||I||_2 = 1 (the spectral norm, "
            "np.linalg.norm(P, 2))")
    t.close(norms, [0.125, 0.25, 0.5, 1.0], "x = 0, h0 = 0, Wh = 0.5 I: ||dh_T/dh_k|| = "
            "0.5^(T - k)", rtol=1e-12)


def norms_hidden_inputs(ref) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(401)
    T, D, H = 12, 3, 6
    x, h0 = rng.standard_normal((T, D)), rng.standard_normal(H)
    Wx, b = rng.standard_normal((D, H)), 0.5 * rng.standard_normal(H)
    Wh = init.recurrent_matrix(H, 1.2, seed=402, kind="gaussian")
    return {"x": x, "h0": h0, "Wx": Wx, "Wh": Wh, "b": b}


def norms_hidden(t: Verifier) -> None:
    expected = analysis.rnn_gradient_flow(*(t.inputs[n] for n in SEQ)).norms
    T = t.inputs["x"].shape[0]
    norms = t.array("norms")
    t.shape(norms, expected.shape, "norms must have shape (T + 1,) = {expected}; got {got}")
    for k in range(T, -1, -1):  # from k = T back, so the first mismatch is the nearest one
        t.close(norms[k], expected[k], f"||dh_T/dh_k|| at k = {k} (T = {T}) differs from the "
                "reference: J_t = diag(1 - h_t^2) Wh^T, multiplied as J_T ... J_(k+1)", rtol=1e-8)


# ---- The bound --------------------------------------------------------------------------------
def bound_visible_inputs(ref) -> dict[str, np.ndarray]:
    return {"Wh": init.recurrent_matrix(5, 0.5, seed=1, kind="orthogonal")}


def bound_visible(t: Verifier) -> None:
    bound = t.array("bound", "the bound")
    t.shape(bound, (4,), "the bound must have shape (T + 1,) = (4,); got {got}")
    t.close(bound, [0.125, 0.25, 0.5, 1.0], "for lambda_1 = 0.5 and T = 3 the bound is "
            "0.5^(T - k) for k = 0, 1, 2, 3", rtol=1e-10)


def bound_hidden_inputs(ref) -> dict[str, np.ndarray]:
    return {"Wh": init.recurrent_matrix(8, 0.9, seed=403, kind="gaussian")}


def bound_hidden(t: Verifier) -> None:
    t.close(t.array("bound", "the bound"), analysis.pascanu_bound(t.inputs["Wh"], 6),
            "the bound uses lambda_1, the largest singular value of Wh (np.linalg.norm(Wh, 2)), "
            "not the spectral radius", rtol=1e-10)


# ---- The measurement and the prediction -------------------------------------------------------
MEASURE_RUN = """out['measured'] = {repr(key): value for key, value in measured.items()}
out['bound'] = {repr(key): value for key, value in bound.items()}
"""


def _table(t: Verifier, key: str, what: str) -> dict[str, float]:
    table = t.mapping(key, what)
    result = {}
    for name, value in table.items():
        result[name] = t.number(value, f"{what}[{name}]")
    return result


def measure_hidden(t: Verifier) -> None:
    ref = t.teacher
    keys = {repr((rho, T)) for rho in ref["rhos"] for T in ref["lengths"]}
    measured = _table(t, "measured", "measured")
    bound = _table(t, "bound", "bound")
    t.expect(set(measured) == keys, "measured must have one entry for every (rho, T)")
    t.expect(set(bound) == keys, "bound must have one entry for every (rho, T)")
    for rho in ref["rhos"]:
        for T in ref["lengths"]:
            flow = analysis.rnn_gradient_flow(ref["inputs"][:T], ref["h0_measure"],
                                              ref["Wx_measure"], ref["Wh_measure"][rho],
                                              ref["b_measure"])
            m, b = measured[repr((rho, T))], bound[repr((rho, T))]
            t.close(m, flow.norms[0], f"measured[{rho}, {T}] differs from the reference",
                    rtol=1e-8)
            t.close(b, flow.bound[0], f"bound[{rho}, {T}] differs from the reference", rtol=1e-8)
            t.expect(m <= b * (1 + 1e-9), f"measured[{rho}, {T}] exceeds the bound")


def prediction_hidden(t: Verifier) -> None:
    ref = t.teacher
    rhos = ref["rhos"]
    chosen = t.strings("guaranteed", "guaranteed_to_vanish")
    names = {str(rho): rho for rho in rhos}
    t.expect(chosen is not None and chosen <= set(names), "guaranteed_to_vanish must be a set of "
             "values from rhos")
    expected = {rho for rho in rhos
                if np.linalg.svd(ref["Wh_measure"][rho], compute_uv=False)[0] < 1}
    mine = sorted(names[c] for c in chosen)
    t.expect(set(mine) == expected, f"guaranteed_to_vanish = {mine}, but the bound shrinks only "
             f"for rho in {sorted(expected)}: it depends on the largest singular value of Wh, not "
             "on the spectral radius rho")


PREDICTION_RUN = ("out['guaranteed'] = (guaranteed_to_vanish if isinstance(guaranteed_to_vanish, "
                  "set) else list(guaranteed_to_vanish))\n")


# ---- Clipping ---------------------------------------------------------------------------------
CLIP_VISIBLE_RUN = """g = np.array([3.0, 4.0])
grads = {"W": g}
out['norm'] = clip_grad_norm(grads, 1.0)
out['g'] = g
out['in_dict'] = grads["W"]
"""


def clip_visible(t: Verifier) -> None:
    norm = t.array("norm", "the returned norm")
    t.close(norm, 5.0, "clip_grad_norm must return the norm before clipping")
    g, in_dict = t.array("g"), t.array("in_dict")
    if np.allclose(in_dict, [0.6, 0.8], rtol=1e-12) and not np.allclose(g, [0.6, 0.8]):
        t.fail("clip_grad_norm must modify the arrays in place, not put new arrays in the dict")
    t.close(g, [0.6, 0.8], "[3, 4] clipped to norm 1 is [0.6, 0.8]: same direction, length 1",
            rtol=1e-12)


def clip_hidden_inputs(ref) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(404)
    return {"Wx": 3 * rng.standard_normal((3, 4)), "Wh": rng.standard_normal((4, 4)),
            "b": 0.1 * rng.standard_normal(4), "small_W": np.array([0.3, -0.4]),
            "small_b": np.array([0.1])}


CLIP_HIDDEN_RUN = """grads = {"Wx": Wx, "Wh": Wh, "b": b}
originals = dict(grads)
out['norm'] = clip_grad_norm(grads, 2.0)
out['originals'] = originals
out['in_dict'] = dict(grads)
small = {"W": small_W, "b": small_b}
clip_grad_norm(small, 1.0)
out['small'] = (small_W, small_b)
"""


def clip_hidden(t: Verifier) -> None:
    expected = {k: t.inputs[k].copy() for k in ("Wx", "Wh", "b")}
    expected_norm = optim.clip_grad_norm(expected, 2.0)
    t.close(t.array("norm", "the returned norm"), expected_norm, "return the global norm of all "
            "gradients before clipping", rtol=1e-12)
    originals = t.mapping("originals", "grads")
    in_dict = t.mapping("in_dict", "grads")
    for k in expected:
        t.expect(k in originals and originals[k].kind == "array", f"grads[{k!r}] must stay an "
                 "array")
        now = in_dict.get(k)
        if (now is not None and now.kind == "array" and originals[k].array.shape == now.array.shape
                and not np.array_equal(originals[k].array, now.array)):
            t.fail(f"grads[{k!r}] must be modified in place")
        t.close(originals[k].array, expected[k], f"grads[{k!r}]: all arrays are scaled by the "
                "same factor max_norm / (global norm), so the direction is kept", rtol=1e-12,
                atol=1e-15)
    small = t.arrays("small", 2, "the small gradients", ["W", "b"])
    for name, array in zip(("small_W", "small_b"), small):
        t.equal(array, t.inputs[name], "a gradient whose global norm is below max_norm must be "
                "left unchanged")


SPEC = AssignmentSpec(
    name="04_vanishing_exploding",
    hidden=("analysis.rnn_gradient_flow", "analysis.rnn_jacobians", "analysis.jacobian_norms",
            "analysis.jacobian_log10_norms", "analysis.pascanu_bound",
            "analysis.pascanu_log10_bound", "analysis.loss_gradient_log10_norms",
            "analysis.state_gradient_log10_norms", "optim.clip_grad_norm",
            "optim.global_norm"),
    teacher_cells=("setup", "measure_setup"),
    checks=(
        Check("test_jacobian_norms", NORMS_RUN, norms_visible, norms_visible_inputs),
        Check("hidden_jacobian_norms", NORMS_RUN, norms_hidden, norms_hidden_inputs),
        Check("test_pascanu_bound", "out['bound'] = pascanu_bound(Wh, 3)\n", bound_visible,
              bound_visible_inputs),
        Check("hidden_pascanu_bound", "out['bound'] = pascanu_bound(Wh, 6)\n", bound_hidden,
              bound_hidden_inputs),
        Check("hidden_measure", MEASURE_RUN, measure_hidden),
        Check("hidden_prediction", PREDICTION_RUN, prediction_hidden),
        Check("test_clip_grad_norm", CLIP_VISIBLE_RUN, clip_visible),
        Check("hidden_clip_grad_norm", CLIP_HIDDEN_RUN, clip_hidden, clip_hidden_inputs),
    ),
)
