"""Wrong submissions for the autograder tests: `python -m tools.make_assignment_fixtures`.

Each fixture is what a student would hand in: the *released* notebook (from
`nbgrader generate_assignment`, so with the student-version cells and checksums), every answer
cell filled with the instructor's solution, and then one realistic bug written into one answer
cell. A few fixtures also tamper with a test cell (edit it or delete it), loop forever, or raise.

tests/test_assignments.py autogrades every fixture and asserts that it loses points on the
hidden-test cells listed in ``lost_in`` below, and that the first of those cells shows the student
the ``feedback`` text. Regenerate the fixtures whenever a source notebook changes (the tests check
a digest of the source notebooks and say so); the generated notebooks are committed under
tests/fixtures/assignments/<assignment>/<name>.ipynb.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from tools import release_assignments as ra

FIXTURES = ra.ROOT / "tests" / "fixtures" / "assignments"
SOLUTION_LINE = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")
HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
EDITED_TEST = 'print("Visible tests passed.")  # the student replaced the tests with this line\n'
CORRECT = "correct_solution"  # the fixture with no bug
STUDENT_ANSWER = (
    "Clipping only rescales a gradient whose norm is above the threshold, so it never makes a "
    "small gradient larger. The long-range part of the gradient stays tiny relative to the "
    "short-range part. Gated cells such as the LSTM keep an additive path for the gradient.")


@dataclass(frozen=True)
class Submission:
    """One wrong submission: the instructor's solution with `old` replaced by `new` in `cell`."""

    assignment: str
    name: str  # the fixture's file name and the student id it is graded as
    cell: str  # grade_id of the answer cell that holds the bug
    old: str  # a unique piece of the instructor's solution in that cell
    new: str  # what the student wrote instead
    description: str  # the bug, in a teacher's words
    lost_in: tuple[str, ...]  # graded cells that must lose points (the first holds hidden tests)
    feedback: str  # text the student sees in the output of lost_in[0] after grading
    kind: str = "bug"  # "bug" | "raises" | "timeout" | "edited_test" | "deleted_test"
    tampered: tuple[str, ...] = ()  # test cells the student edited or deleted


A1, A2, A3, A4 = "01_rnn_forward", "02_bptt", "03_lstm_gru", "04_vanishing_exploding"
A5 = "05_attention"

CLIP_OK = """    if norm > max_norm:
        for g in grads.values():
            g *= max_norm / norm  # in place: the arrays in the dict change
"""
EMBEDDING_CHECK = """    V = W.shape[0]
    if np.any((idx < 0) | (idx >= V)):
        raise ValueError(f"idx must lie in [0, V={V}); got indices from {idx.min()} to {idx.max()}")
"""
ATTENTION_SOFTMAX = (
    "        scores = np.where(mask, scores, -np.inf)  # exp(-inf) = 0: masked keys get weight 0\n"
    "    scores = scores - scores.max(axis=-1, keepdims=True)  # no overflow in np.exp\n"
    "    e = np.exp(scores)\n"
    "    weights = e / e.sum(axis=-1, keepdims=True)\n")
EMPTY_ROW_CHECK = """        empty = ~mask.any(axis=-1)
        if np.any(empty):
            n, i = np.argwhere(empty)[0]
            raise ValueError(f"the mask allows no key for query {i} of batch element {n}: "
                             "its attention weights would be 0/0")
"""
TBPTT_OK = """    for start in range(0, T, k):
        stop = min(start + k, T)
        _, _, dWx_c, dWh_c, db_c = rnn_backward(dh[:, start:stop], caches[start:stop])
"""

SUBMISSIONS: list[Submission] = [
    # ---- 1: the forward pass --------------------------------------------------------------------
    Submission(A1, "step_no_tanh", "rnn_step_forward",
               "return np.tanh(x @ Wx + h_prev @ Wh + b)", "return x @ Wx + h_prev @ Wh + b",
               "forgets the tanh: returns the pre-activation",
               ("hidden_rnn_step_forward", "test_rnn_step_forward"),
               "rnn_step_forward differs from the reference"),
    Submission(A1, "step_transposed_wh", "rnn_step_forward",
               "h_prev @ Wh + b", "h_prev @ Wh.T + b",
               "transposed recurrent weight (mixes the column convention W_hh h into the row form)",
               ("hidden_rnn_step_forward",),
               "rnn_step_forward differs from the reference when h_prev and b are not zero"),
    Submission(A1, "forward_reuses_h0", "rnn_forward",
               "rnn_step_forward(x[:, t, :], h_t, Wx, Wh, b)",
               "rnn_step_forward(x[:, t, :], h0, Wx, Wh, b)",
               "feeds h0 to every step instead of the previous state (no memory)",
               ("hidden_rnn_forward", "test_hello"),
               "is each step fed the state of the step before?"),
    Submission(A1, "forward_stops_early", "rnn_forward",
               "for t in range(T):", "for t in range(T - 1):",
               "off-by-one in the time loop: the last step is never computed",
               ("hidden_rnn_forward", "test_rnn_forward", "hidden_many_to_one"),
               "the hidden state at t = 6 (h_7) differs from the reference"),
    Submission(A1, "forward_index_error", "rnn_forward",
               "x[:, t, :]", "x[:, t + 1, :]",
               "off-by-one in the time index: reads x[:, t + 1] and raises IndexError at the last "
               "step",
               ("hidden_rnn_forward", "test_rnn_forward", "test_hello", "test_many_to_one",
                "hidden_many_to_one"),
               "is out of bounds for axis 1", kind="raises"),
    Submission(A1, "softmax_over_time", "char_probabilities",
               "return e / e.sum(axis=-1, keepdims=True)",
               "return e / e.sum(axis=1, keepdims=True)",
               "normalises the softmax over the time axis instead of the vocabulary",
               ("hidden_char_probabilities", "test_hello"),
               "the softmax must run over the vocabulary (last axis)"),
    Submission(A1, "softmax_overflow", "char_probabilities",
               "    scores = scores - scores.max(axis=-1, keepdims=True)  # the factor e^(-max) "
               "cancels\n", "",
               "exponentiates the raw scores: overflows (inf/inf = nan) for large scores",
               ("hidden_char_probabilities",),
               "subtract the largest score before np.exp"),
    Submission(A1, "many_to_one_first_state", "many_to_one",
               "return h[:, -1, :] @ Wy + by", "return h[:, 0, :] @ Wy + by",
               "reads the output from the first state h_1 instead of the last h_T",
               ("hidden_many_to_one",), "y must be h_T Wy + by"),
    Submission(A1, "many_to_one_mean_state", "many_to_one",
               "return h[:, -1, :] @ Wy + by", "return h.mean(axis=1) @ Wy + by",
               "averages the states over time instead of using the last one",
               ("hidden_many_to_one",), "y must be h_T Wy + by"),
    Submission(A1, "edited_test_cell", "rnn_step_forward",
               "return np.tanh(x @ Wx + h_prev @ Wh + b)", "return x @ Wx + h_prev @ Wh + b",
               "forgets the tanh, then replaces the failing visible test with a print",
               ("test_rnn_step_forward", "hidden_rnn_step_forward"),
               "one step from h_prev = 0 with b = 0 should give tanh(x Wx)",
               kind="edited_test", tampered=("test_rnn_step_forward",)),
    Submission(A1, "deleted_test_cells", "rnn_step_forward",
               "return np.tanh(x @ Wx + h_prev @ Wh + b)", "return x @ Wx + h_prev @ Wh + b",
               "forgets the tanh, then deletes both test cells of part 1",
               ("test_rnn_step_forward", "hidden_rnn_step_forward"),
               "one step from h_prev = 0 with b = 0 should give tanh(x Wx)",
               kind="deleted_test", tampered=("test_rnn_step_forward", "hidden_rnn_step_forward")),
    # ---- 2: backpropagation through time --------------------------------------------------------
    Submission(A2, "step_missing_tanh_derivative", "rnn_step_backward",
               "da = dh * (1 - cache.h ** 2)", "da = dh",
               "missing the tanh derivative: treats da as dh",
               ("hidden_rnn_step_backward", "test_rnn_step_backward"),
               "dx differs from the reference"),
    Submission(A2, "step_tanh_of_h", "rnn_step_backward",
               "da = dh * (1 - cache.h ** 2)", "da = dh * (1 - np.tanh(cache.h) ** 2)",
               "applies tanh' to h instead of to the pre-activation: 1 - tanh(h)^2, not 1 - h^2",
               ("hidden_rnn_step_backward", "test_rnn_step_backward"),
               "dx differs from the reference"),
    Submission(A2, "step_transposed_wh", "rnn_step_backward",
               "dh_prev = da @ cache.Wh.T", "dh_prev = da @ cache.Wh",
               "transposed weight in dh_prev (da Wh instead of da Wh^T)",
               ("hidden_rnn_step_backward", "test_rnn_step_backward"),
               "dh_prev differs from the reference"),
    Submission(A2, "step_db_mean", "rnn_step_backward",
               "db = da.sum(axis=0)", "db = da.mean(axis=0)",
               "averages db over the batch instead of summing (invisible with N = 1)",
               ("hidden_rnn_step_backward",),
               "db differs from the reference for a batch of N = 3"),
    Submission(A2, "bptt_no_accumulation", "rnn_backward",
               "rnn_step_backward(dh[:, t] + dh_next, caches[t])",
               "rnn_step_backward(dh[:, t], caches[t])",
               "forgets to accumulate dh across time: ignores the gradient from step t + 1",
               ("hidden_rnn_backward",),
               "dx differs from the reference with a loss at every step"),
    Submission(A2, "bptt_overwrites_weight_grads", "rnn_backward",
               "dWx += dWx_t\n        dWh += dWh_t\n        db += db_t",
               "dWx = dWx_t\n        dWh = dWh_t\n        db = db_t",
               "overwrites the weight gradients at every step instead of summing over time",
               ("hidden_rnn_backward",),
               "dWx differs from the reference with a loss at every step"),
    Submission(A2, "bptt_skips_first_step", "rnn_backward",
               "for t in reversed(range(T)):", "for t in reversed(range(1, T)):",
               "off-by-one in the time loop: never backpropagates through the first step",
               ("hidden_rnn_backward", "test_rnn_backward"),
               "dx differs from the reference with a loss at every step"),
    Submission(A2, "gradcheck_perturbs_copy", "relative_errors",
               "numerical_gradient_array(forward, p, dh_check)",
               "numerical_gradient_array(forward, p.copy(), dh_check)",
               "gradient check perturbs a copy the forward pass never reads (numerical gradient 0)",
               ("hidden_interpretation", "test_relative_errors"),
               "is correct in suspect_backward, but your check reports a relative error of"),
    Submission(A2, "threshold_too_strict", "interpretation",
               "if e > 1e-6}", "if e > 1e-12}",
               "reads rounding noise (1e-10) as a bug: flags every gradient of suspect_backward",
               ("hidden_interpretation",),
               "errors of 1e-10 to 1e-8 are rounding noise, not bugs"),
    Submission(A2, "tbptt_crosses_chunks", "truncated_rnn_backward", TBPTT_OK,
               """    dh = dh.copy()
    for start in reversed(range(0, T, k)):
        stop = min(start + k, T)
        _, dh_start, dWx_c, dWh_c, db_c = rnn_backward(dh[:, start:stop], caches[start:stop])
        if start > 0:
            dh[:, start - 1] += dh_start  # passes the gradient on to the chunk before
""",
               "lets the gradient cross chunk boundaries (this is full BPTT, not truncated)",
               ("hidden_truncated_rnn_backward",),
               "the gradient must stop at every chunk boundary"),
    Submission(A2, "tbptt_drops_last_chunk", "truncated_rnn_backward",
               "for start in range(0, T, k):\n        stop = min(start + k, T)",
               "for start in range(0, T - k + 1, k):\n        stop = start + k",
               "drops the last, shorter chunk when k does not divide T",
               ("hidden_truncated_rnn_backward",),
               "every chunk (also a last, shorter one) must count"),
    # ---- 3: LSTM and GRU ------------------------------------------------------------------------
    Submission(A3, "lstm_gate_order_ifog", "lstm_step_forward",
               "    g = np.tanh(a[:, 2 * H:3 * H])\n    o = sigmoid(a[:, 3 * H:])\n",
               "    o = sigmoid(a[:, 2 * H:3 * H])\n    g = np.tanh(a[:, 3 * H:])\n",
               "wrong gate order: splits the blocks as i, f, o, g (CS231n's order)",
               ("hidden_lstm_step_forward", "test_lstm_gate_order", "hidden_lstm_step_backward"),
               "c differs from the reference"),
    Submission(A3, "lstm_g_sigmoid", "lstm_step_forward",
               "g = np.tanh(a[:, 2 * H:3 * H])", "g = sigmoid(a[:, 2 * H:3 * H])",
               "uses a sigmoid for the candidate g (all four 'gates' squashed the same way)",
               ("hidden_lstm_step_forward", "test_lstm_gate_order"),
               "c differs from the reference"),
    Submission(A3, "lstm_gates_swapped_in_cell", "lstm_step_forward",
               "c = f * c_prev + i * g", "c = i * c_prev + f * g",
               "swaps the roles of the input and forget gates in the cell update",
               ("hidden_lstm_step_forward", "test_lstm_gate_order"),
               "c differs from the reference"),
    Submission(A3, "lstm_backward_no_dc_from_h", "lstm_step_backward",
               "    dc = dc + dh * o * (1 - tanh_c ** 2)  # c reaches the loss directly and "
               "through h\n",
               "",
               "forgets that c also reaches the loss through h = o * tanh(c)",
               ("hidden_lstm_step_backward", "test_lstm_gradient_check"),
               "differs from the reference lstm_step_backward"),
    Submission(A3, "lstm_backward_dc_prev_without_f", "lstm_step_backward",
               "dc * f, x.T @ da", "dc, x.T @ da",
               "passes dc unchanged to c_prev (forgets the forget gate on the cell path)",
               ("hidden_lstm_step_backward", "test_lstm_gradient_check"),
               "dc_prev differs from the reference lstm_step_backward"),
    Submission(A3, "lstm_backward_tanh_derivative_for_o", "lstm_step_backward",
               "da_o = dh * tanh_c * o * (1 - o)", "da_o = dh * tanh_c * (1 - o ** 2)",
               "uses tanh' (1 - o^2) for the sigmoid output gate",
               ("hidden_lstm_step_backward", "test_lstm_gradient_check"),
               "differs from the reference lstm_step_backward"),
    Submission(A3, "lstm_backward_gate_order", "lstm_step_backward",
               "[da_i, da_f, da_g, da_o]", "[da_i, da_f, da_o, da_g]",
               "backward concatenates the gate gradients in a different order than the forward",
               ("hidden_lstm_step_backward", "test_lstm_gradient_check"),
               "differs from the reference lstm_step_backward"),
    Submission(A3, "gru_update_gate_swapped", "gru_step_forward",
               "h = (1 - z) * n + z * h_prev", "h = z * n + (1 - z) * h_prev",
               "GRU: z weighs the new candidate instead of the old state (extra credit only)",
               ("hidden_gru",),
               "h differs from the reference GRU"),
    # ---- 4: vanishing and exploding gradients ---------------------------------------------------
    Submission(A4, "jacobian_without_transpose", "jacobian_norms",
               "J = (1 - h[k] ** 2)[:, None] * Wh.T", "J = (1 - h[k] ** 2)[:, None] * Wh",
               "transposed weight in the Jacobian: diag(1 - h^2) Wh instead of diag(1 - h^2) Wh^T",
               ("hidden_jacobian_norms",), "differs from the reference"),
    Submission(A4, "jacobian_derivative_one_step_early", "jacobian_norms",
               "J = (1 - h[k] ** 2)", "J = (1 - h[k - 1] ** 2)",
               "off-by-one: takes tanh' at h_k instead of h_(k+1) (and wraps around at k = 0)",
               ("hidden_jacobian_norms",), "differs from the reference"),
    Submission(A4, "jacobian_product_reversed", "jacobian_norms",
               "P = P @ J", "P = J @ P",
               "multiplies the Jacobians in the wrong order (J_(k+1) ... J_T)",
               ("hidden_jacobian_norms",), "differs from the reference"),
    Submission(A4, "jacobian_frobenius_norm", "jacobian_norms",
               "norms[k] = np.linalg.norm(P, 2)", "norms[k] = np.linalg.norm(P)",
               "uses the Frobenius norm instead of the spectral norm",
               ("hidden_jacobian_norms", "test_jacobian_norms"), "differs from the reference"),
    Submission(A4, "bound_spectral_radius", "pascanu_bound",
               "lambda_1 = np.linalg.norm(Wh, 2)",
               "lambda_1 = np.max(np.abs(np.linalg.eigvals(Wh)))",
               "uses the spectral radius instead of the largest singular value in the bound",
               ("hidden_pascanu_bound", "hidden_measure"),
               "not the spectral radius"),
    Submission(A4, "prediction_from_spectral_radius", "measure",
               "if np.linalg.norm(Wh_measure[rho], 2) < 1}", "if rho < 1}",
               "predicts vanishing from the spectral radius (rho < 1) instead of lambda_1 < 1",
               ("hidden_prediction",), "not on the spectral radius rho"),
    Submission(A4, "clip_each_element", "clip_grad_norm", CLIP_OK,
               """    for g in grads.values():
        np.clip(g, -max_norm, max_norm, out=g)  # clips each entry, not the norm
""",
               "clips each element to [-max_norm, max_norm] instead of rescaling by the norm",
               ("hidden_clip_grad_norm", "test_clip_grad_norm"),
               "all arrays are scaled by the same factor"),
    Submission(A4, "clip_each_array_separately", "clip_grad_norm", CLIP_OK,
               """    for g in grads.values():
        g_norm = np.sqrt(np.sum(g ** 2))
        if g_norm > max_norm:
            g *= max_norm / g_norm
""",
               "clips each parameter's gradient by its own norm instead of the global norm",
               ("hidden_clip_grad_norm",), "all arrays are scaled by the same factor"),
    Submission(A4, "clip_always_rescales", "clip_grad_norm", CLIP_OK,
               """    for g in grads.values():
        g *= max_norm / norm
""",
               "rescales to max_norm even when the norm is already below it (enlarges small "
               "gradients)",
               ("hidden_clip_grad_norm",), "must be left unchanged"),
    Submission(A4, "clip_infinite_loop", "clip_grad_norm", CLIP_OK,
               """    while norm > max_norm:  # shrinks the gradients but never updates norm
        for g in grads.values():
            g *= 0.9
""",
               "loops forever: shrinks the gradients in a while loop whose condition never changes",
               ("hidden_clip_grad_norm", "test_clip_grad_norm"), "TimeoutError",
               kind="timeout"),
    # ---- 5: embeddings and attention ------------------------------------------------------------
    Submission(A5, "embedding_no_bounds_check", "embedding_forward", EMBEDDING_CHECK, "",
               "no check of the indices: idx = -1 silently reads the last row of W",
               ("hidden_embedding_forward",), "an index of -1 must raise a ValueError"),
    Submission(A5, "embedding_backward_overwrites", "embedding_backward",
               "np.add.at(dW, idx, dout)  # unbuffered: every occurrence of a symbol adds to "
               "its row", "dW[idx] = dout",
               "overwrites the rows of dW instead of accumulating: a repeated symbol keeps only "
               "its last gradient", ("hidden_embedding_backward",),
               "every occurrence of a symbol must add its gradient to that symbol's row"),
    Submission(A5, "embedding_backward_buffered_add", "embedding_backward",
               "np.add.at(dW, idx, dout)  # unbuffered: every occurrence of a symbol adds to "
               "its row", "dW[idx] += dout",
               "dW[idx] += dout: NumPy's buffered fancy-index update counts a repeated index once",
               ("hidden_embedding_backward",),
               "every occurrence of a symbol must add its gradient to that symbol's row"),
    Submission(A5, "embedding_cache_aliases_idx", "embedding_forward",
               "cache = (idx.copy(), W.shape)", "cache = (idx, W.shape)",
               "keeps the caller's idx in the cache without a copy: overwriting it before the "
               "backward pass changes dW", ("hidden_embedding_backward",),
               "keep a copy of idx in the cache"),
    Submission(A5, "attention_mask_after_softmax", "dot_product_attention_forward",
               ATTENTION_SOFTMAX, """    scores = scores - scores.max(axis=-1, keepdims=True)
    e = np.exp(scores)
    weights = e / e.sum(axis=-1, keepdims=True)
    if mask is not None:
        weights = weights * mask  # zeroes the masked weights after the softmax
""",
               "multiplies the weights by the mask after the softmax: the rows no longer sum to 1",
               ("hidden_attention_forward", "test_attention_forward", "hidden_attention_mask",
                "test_attention_backward", "hidden_attention_backward"),
               "the weights of each query must sum to 1 over its allowed keys"),
    Submission(A5, "attention_no_scale", "dot_product_attention_forward",
               "scores = scale * (q @ np.swapaxes(k, 1, 2))",
               "scores = q @ np.swapaxes(k, 1, 2)",
               "forgets the scale: the scores are q k^T, not q k^T / sqrt(d)",
               ("hidden_attention_forward", "test_attention_forward", "hidden_attention_mask",
                "test_attention_backward", "hidden_attention_backward"),
               "is the given scale used?"),
    Submission(A5, "attention_softmax_over_queries", "dot_product_attention_forward",
               "weights = e / e.sum(axis=-1, keepdims=True)",
               "weights = e / e.sum(axis=1, keepdims=True)",
               "normalises the weights over the queries (axis 1) instead of the keys",
               ("hidden_attention_forward", "test_attention_forward", "hidden_attention_mask",
                "test_attention_backward", "hidden_attention_backward"),
               "the softmax runs over the keys (the last axis)"),
    Submission(A5, "attention_scales_q_in_place", "dot_product_attention_forward",
               "scores = scale * (q @ np.swapaxes(k, 1, 2))",
               "q *= scale  # scale the queries once instead of every score\n"
               "    scores = q @ np.swapaxes(k, 1, 2)",
               "scales the caller's q in place (q *= scale): the argument changes, and the "
               "backward pass sees the scaled q",
               ("hidden_attention_forward", "hidden_attention_mask", "test_attention_backward",
                "hidden_attention_backward"),
               "dot_product_attention_forward must not modify its arguments"),
    Submission(A5, "attention_empty_row_nan", "dot_product_attention_forward", EMPTY_ROW_CHECK,
               "", "no check for a query without an allowed key: returns NaN weights (0/0) "
               "instead of raising", ("hidden_attention_mask",),
               "a mask that allows no key for a query must raise a ValueError"),
    Submission(A5, "attention_k_transposed", "dot_product_attention_forward",
               "np.swapaxes(k, 1, 2))", "k.T)",
               "uses k.T, which reverses all three axes of a batch: the matrix product raises",
               ("hidden_attention_forward", "test_attention_forward", "hidden_attention_mask",
                "test_attention_backward", "hidden_attention_backward"),
               "matmul", kind="raises"),
    Submission(A5, "attention_backward_dk_dv_swapped", "dot_product_attention_backward",
               "return dq, dk, dv", "return dq, dv, dk",
               "returns dv and dk in each other's places",
               ("hidden_attention_backward", "test_attention_backward"),
               "dk must have shape (2, 5, 4), like k; got (2, 5, 2)"),
    Submission(A5, "attention_backward_no_scale", "dot_product_attention_backward",
               '    de = cache["scale"] * de  # e = scale * q k^T\n', "",
               "forgets the scale in the backward pass (dq and dk too large by sqrt(d))",
               ("hidden_attention_backward", "test_attention_backward"),
               "dq differs from the reference with an (N, Tq, Tk) mask and scale = 0.7"),
    Submission(A5, "attention_backward_softmax_diagonal", "dot_product_attention_backward",
               "de = w * (dw - np.sum(dw * w, axis=-1, keepdims=True))", "de = w * dw",
               "keeps only the diagonal of the softmax Jacobian: forgets that every weight of a "
               "row depends on every score", ("hidden_attention_backward",
                                              "test_attention_backward"),
               "dq differs from the reference with an (N, Tq, Tk) mask and scale = 0.7"),
]


def source_digest(notebook: Path) -> str:
    """A digest of what grading depends on in a source notebook: cell types, sources, metadata."""
    nb = nbformat.read(notebook, as_version=4)
    content = [(c.cell_type, c.source, c.metadata.get("nbgrader", {})) for c in nb.cells]
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def strip_solution_markers(source: str) -> str:
    """The instructor's answer as a student would type it: the BEGIN/END SOLUTION lines removed."""
    return "\n".join(line for line in source.split("\n") if not SOLUTION_LINE.match(line))


def grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def correct_submission(source_nb, released_nb):
    """The released notebook with every answer cell filled in with the instructor's solution."""
    answers = {grade_id(c): c.source for c in source_nb.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    nb = copy.deepcopy(released_nb)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("solution"):
            continue
        if cell.cell_type == "code":
            cell.source = strip_solution_markers(answers[meta["grade_id"]])
        else:  # the written answer: a short, plausible student answer
            cell.source = STUDENT_ANSWER
    return nb


def apply(sub: Submission, correct_nb, digest: str):
    """The submission `sub`: a copy of the correct submission with the bug and any tampering."""
    nb = copy.deepcopy(correct_nb)
    [cell] = [c for c in nb.cells if grade_id(c) == sub.cell]
    if cell.source.count(sub.old) != 1:
        raise ValueError(f"{sub.assignment}/{sub.name}: {sub.old!r} must occur exactly once in "
                         f"the solution of cell {sub.cell!r}")
    cell.source = cell.source.replace(sub.old, sub.new)
    if sub.kind == "edited_test":
        for c in nb.cells:
            if grade_id(c) in sub.tampered:
                c.source = EDITED_TEST
    elif sub.kind == "deleted_test":
        nb.cells = [c for c in nb.cells if grade_id(c) not in sub.tampered]
    nb.metadata["rnnlab_fixture"] = {
        "assignment": sub.assignment, "name": sub.name, "kind": sub.kind,
        "description": sub.description, "bug_in_cell": sub.cell, "lost_in": list(sub.lost_in),
        "feedback": sub.feedback, "tampered": list(sub.tampered), "source_digest": digest,
    }
    return nb


def build(out: Path = FIXTURES) -> list[Path]:
    """Generate the released notebooks in a temporary course and write every fixture to `out`."""
    written = []
    with tempfile.TemporaryDirectory(prefix="rnn-fixtures-") as tmp:
        released = ra.generate(ra.make_course(Path(tmp) / "course"))
        for name, released_path in released.items():
            source_path = ra.source_notebook(name)
            correct = correct_submission(nbformat.read(source_path, as_version=4),
                                         nbformat.read(released_path, as_version=4))
            digest = source_digest(source_path)
            folder = out / name
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
            correct.metadata["rnnlab_fixture"] = {
                "assignment": name, "name": CORRECT, "kind": "correct",
                "description": "every answer right: the instructor's solutions typed into the "
                               "student version", "lost_in": [], "source_digest": digest}
            nbformat.write(correct, folder / f"{CORRECT}.ipynb")
            written.append(folder / f"{CORRECT}.ipynb")
            for sub in (s for s in SUBMISSIONS if s.assignment == name):
                path = folder / f"{sub.name}.ipynb"
                nbformat.write(apply(sub, correct, digest), path)
                written.append(path)
    return written


def main() -> int:
    written = build()
    print(f"wrote {len(written)} fixtures under {FIXTURES.relative_to(ra.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
