"""Grading of 05_attention: the embedding lookup and scaled dot-product attention with a mask,
forward and backward."""

from __future__ import annotations

import numpy as np

from rnnlab import gradcheck, layers
from tools.grade.spec import AssignmentSpec, Check, Verifier

QKV = ["q", "k", "v"]
QKV_GRADS = ["dq", "dk", "dv"]

# In the sandbox: the name of the exception a call raised ("no error" if it returned).
RAISED = """def _raised(call):
    try:
        call()
    except ValueError:
        return 'ValueError'
    except Exception as error:
        return type(error).__name__
    return 'no error'


"""


def _text(t: Verifier, key: str) -> str:
    value = t.value(key)
    if value.kind == "array" and value.array.dtype.kind == "U":
        return str(value.array)
    return value.describe()


def _unchanged(t: Verifier, key: str, names: list[str], function: str) -> None:
    after = t.arrays(key, len(names), "the arguments")
    for name, array in zip(names, after):
        t.equal(array, t.inputs[name], f"{function} must not modify its arguments")


# ---- Part 1: the embedding lookup -------------------------------------------------------------
def embedding_visible_inputs(ref) -> dict[str, np.ndarray]:
    return {"W": np.arange(12.0).reshape(4, 3), "idx": np.array([[0, 2, 3], [3, 1, 0]])}


EMBEDDING_VISIBLE_RUN = """emb, _ = embedding_forward(idx, W)
out['out'] = emb
"""


def embedding_visible(t: Verifier) -> None:
    emb = t.array("out")
    t.shape(emb, (2, 3, 3), "out must have shape (N, T, D) = {expected}; got {got}")
    t.equal(emb[0, 1], [6.0, 7.0, 8.0], "out[0, 1] must be row idx[0, 1] = 2 of W")
    expected, _ = layers.embedding_forward(t.inputs["idx"], t.inputs["W"])
    t.equal(emb, expected, "out differs from the reference lookup W[idx]")


def embedding_hidden_inputs(ref) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(501)
    N, T, V, D = 3, 5, 7, 4
    idx, W = rng.integers(0, V, size=(N, T)), rng.standard_normal((V, D))
    low, high = idx.copy(), idx.copy()
    low[1, 2], high[1, 2] = -1, V
    return {"idx": idx, "W": W, "idx_low": low, "idx_high": high}


EMBEDDING_HIDDEN_RUN = RAISED + """emb, _ = embedding_forward(idx, W)
out['out'] = emb
out['after'] = (idx, W)
out['low'] = _raised(lambda: embedding_forward(idx_low, W))
out['high'] = _raised(lambda: embedding_forward(idx_high, W))
"""


def embedding_hidden(t: Verifier) -> None:
    idx, W = t.inputs["idx"], t.inputs["W"]
    expected, _ = layers.embedding_forward(idx, W)
    emb = t.array("out")
    t.shape(emb, expected.shape, "out must have shape (N, T, D) = {expected}; got {got}")
    t.close(emb, expected, "out differs from the reference lookup W[idx]", rtol=1e-12)
    _unchanged(t, "after", ["idx", "W"], "embedding_forward")
    V = W.shape[0]
    for key, bad, why in (("low", -1, "NumPy would silently read the last row W[-1]"),
                          ("high", V, "V is one past the last row")):
        raised = _text(t, key)
        t.expect(raised == "ValueError", f"an index of {bad} must raise a ValueError ({why}); "
                 f"got {raised}")


# ---- Part 2: the embedding backward pass ------------------------------------------------------
def embedding_backward_visible_inputs(ref) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    V, D = 5, 3
    W = rng.standard_normal((V, D))
    return {"W": W, "idx": np.array([[0, 2], [4, 1]]), "dout": rng.standard_normal((2, 2, D))}


EMBEDDING_BACKWARD_VISIBLE_RUN = """_, cache = embedding_forward(idx, W)
out['dW'] = embedding_backward(dout, cache)
"""


def embedding_backward_visible(t: Verifier) -> None:
    """Centred differences of the REFERENCE lookup, never of the student's own forward."""
    idx, W, dout = t.inputs["idx"], t.inputs["W"].copy(), t.inputs["dout"]
    dW = t.array("dW")
    t.shape(dW, W.shape, "dW must have the shape of W, (V, D) = {expected}; got {got}")
    numerical = gradcheck.numerical_gradient_array(
        lambda: layers.embedding_forward(idx, W)[0], W, dout)
    err = gradcheck.rel_error(dW, numerical)
    t.expect(err < 1e-7, f"dW: relative error {err:.1e} against centred differences (a correct "
             "gradient gives < 1e-7)")


def embedding_backward_hidden_inputs(ref) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(502)
    V, D = 5, 4
    W = rng.standard_normal((V, D))
    idx = rng.integers(0, V - 1, size=(3, 6))  # 18 positions, 4 symbols: repeats; 4 unused
    dout = rng.standard_normal((3, 6, D))
    return {"W": W, "idx": idx, "dout": dout, "idx_same": np.full((2, 3), 1),
            "dout_same": rng.standard_normal((2, 3, D))}


EMBEDDING_BACKWARD_HIDDEN_RUN = """_, cache = embedding_forward(idx, W)
out['repeated'] = embedding_backward(dout, cache)
_, cache = embedding_forward(idx_same, W)
out['same'] = embedding_backward(dout_same, cache)
reused = idx.copy()
_, cache = embedding_forward(reused, W)
reused[:] = 0  # the caller fills its array with the next batch
out['reused'] = embedding_backward(dout, cache)
"""


def embedding_backward_hidden(t: Verifier) -> None:
    W = t.inputs["W"]

    def expected(idx, dout):
        return layers.embedding_backward(dout, layers.embedding_forward(idx, W)[1])

    cases = [("repeated", "idx", "dout", "dW differs from the reference when symbols repeat: "
              "every occurrence of a symbol must add its gradient to that symbol's row"),
             ("same", "idx_same", "dout_same", "dW differs from the reference when every "
              "position holds the same symbol"),
             ("reused", "idx", "dout", "dW changed when the caller overwrote idx after the "
              "forward pass: keep a copy of idx in the cache")]
    for key, idx, dout, message in cases:
        dW = t.array(key, "dW")
        e = expected(t.inputs[idx], t.inputs[dout])
        t.shape(dW, e.shape, "dW must have the shape of W, (V, D) = {expected}; got {got}")
        t.close(dW, e, message, rtol=1e-12, atol=1e-14)


# ---- Part 3: scaled dot-product attention, forward --------------------------------------------
def attention_visible_inputs(ref) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2)
    return {"q0": np.zeros((1, 2, 2)),
            "k0": np.array([[[1.0, 0.0], [0.0, 1.0], [2.0, -1.0]]]),
            "v0": np.array([[[1.0, 0.0], [0.0, 1.0], [4.0, 4.0]]]),
            "mask0": np.array([[True, True, False], [True, True, True]]),
            "q": rng.standard_normal((2, 3, 3)), "k": rng.standard_normal((2, 4, 3)),
            "v": rng.standard_normal((2, 4, 2))}


ATTENTION_VISIBLE_RUN = """o, cache = dot_product_attention_forward(q0, k0, v0, mask0)
if not (isinstance(cache, dict) and 'weights' in cache):
    raise TypeError("the cache must be a dict with the attention weights under 'weights'")
out['hand'] = (o, cache['weights'])
o, cache = dot_product_attention_forward(q, k, v)
out['random'] = (o, cache['weights'])
"""


def attention_visible(t: Verifier) -> None:
    o, w = t.arrays("hand", 2, "the call", ["out", "cache['weights']"])
    t.shape(w, (1, 2, 3), "the weights must have shape (N, Tq, Tk) = {expected}; got {got}")
    t.shape(o, (1, 2, 2), "out must have shape (N, Tq, dv) = {expected}; got {got}")
    t.close(w[0], [[0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3]], "equal scores give equal weights "
            "over the allowed keys: 1/2, 1/2, 0 for query 0 (key 2 is masked) and 1/3 each for "
            "query 1", atol=1e-12)
    t.close(o[0], [[0.5, 0.5], [5 / 3, 5 / 3]], "out must be the weighted average of the "
            "values, weights @ v", atol=1e-12)
    o_ref, cache_ref = layers.dot_product_attention_forward(*(t.inputs[n] for n in QKV))
    o, w = t.arrays("random", 2, "the call", ["out", "cache['weights']"])
    t.close(w, cache_ref.weights, "the weights differ from the reference with the default "
            "scale 1/sqrt(d): is the scale applied, and does the softmax run over the keys (the "
            "last axis)?", rtol=1e-10, atol=1e-12)
    t.close(o, o_ref, "out differs from the reference", rtol=1e-10, atol=1e-12)


def attention_hidden_inputs(ref) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(503)
    N, Tq, Tk, d, dv = 2, 3, 5, 4, 3
    q, k = rng.standard_normal((N, Tq, d)), rng.standard_normal((N, Tk, d))
    v = rng.standard_normal((N, Tk, dv))
    mask = rng.random((N, Tq, Tk)) < 0.5
    mask[:, :, 0] = True  # every query may attend to at least one key
    return {"q": q, "k": k, "v": v, "mask": mask}


ATTENTION_HIDDEN_RUN = """o, cache = dot_product_attention_forward(q, k, v, mask, 0.7)
out['masked'] = (o, cache['weights'])
out['after'] = (q, k, v, mask)
o, cache = dot_product_attention_forward(1000.0 * q, k, v)
out['large'] = (o, cache['weights'])
"""


def attention_hidden(t: Verifier) -> None:
    q, k, v, mask = (t.inputs[n] for n in ("q", "k", "v", "mask"))
    o_ref, cache_ref = layers.dot_product_attention_forward(q, k, v, mask, 0.7)
    o, w = t.arrays("masked", 2, "the call", ["out", "cache['weights']"])
    t.shape(w, mask.shape, "the weights must have shape (N, Tq, Tk) = {expected}; got {got}")
    t.close(w.sum(axis=-1), 1.0, "the weights of each query must sum to 1 over its allowed "
            "keys: the softmax runs over the keys (the last axis), with the masked scores set to "
            "-inf before it (not the weights zeroed after it)", atol=1e-12)
    t.expect(bool(np.all(w[~mask] == 0)), "a masked key must get weight exactly 0")
    t.close(w, cache_ref.weights, "the weights differ from the reference with a mask and scale "
            "= 0.7: is the given scale used?", rtol=1e-10, atol=1e-12)
    t.close(o, o_ref, "out differs from the reference with a mask and scale = 0.7", rtol=1e-10,
            atol=1e-12)
    _unchanged(t, "after", ["q", "k", "v", "mask"], "dot_product_attention_forward")
    o, w = t.arrays("large", 2, "the call", ["out", "cache['weights']"])
    t.expect(bool(np.all(np.isfinite(o)) and np.all(np.isfinite(w))),
             "dot_product_attention_forward returned inf or nan for scores of size about 1000: "
             "subtract each row's largest score before np.exp")
    t.close(o, layers.dot_product_attention_forward(1000.0 * q, k, v)[0], "out differs from "
            "the reference for scores of size about 1000", rtol=1e-10, atol=1e-12)


def mask_hidden_inputs(ref) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(504)
    N, T, d, dv = 2, 4, 3, 2
    q, k = rng.standard_normal((N, T, d)), rng.standard_normal((N, T, d))
    v = rng.standard_normal((N, T, dv))
    causal = np.tril(np.ones((T, T), dtype=bool))  # query i may attend to keys 0..i
    padding = (np.arange(T) < np.array([4, 2])[:, None])[:, None, :]  # lengths 4, 2: (N, 1, Tk)
    no_key = np.ones((N, T, T), dtype=bool)
    no_key[1, 2] = False  # query 2 of batch element 1 may attend to nothing
    no_batch = np.ones((N, 1, T), dtype=bool)
    no_batch[0] = False  # batch element 0 has no key at all
    return {"q": q, "k": k, "v": v, "causal": causal, "padding": padding, "no_key": no_key,
            "no_batch": no_batch}


MASK_HIDDEN_RUN = RAISED + """out['causal'] = dot_product_attention_forward(q, k, v, causal)[0]
out['padding'] = dot_product_attention_forward(q, k, v, padding)[0]
out['no_key'] = _raised(lambda: dot_product_attention_forward(q, k, v, no_key))
out['no_batch'] = _raised(lambda: dot_product_attention_forward(q, k, v, no_batch))
"""


def mask_hidden(t: Verifier) -> None:
    q, k, v = (t.inputs[n] for n in QKV)
    for key, name in (("causal", "a causal (Tq, Tk) mask"), ("padding", "a padding (N, 1, Tk) "
                                                                       "mask")):
        expected, _ = layers.dot_product_attention_forward(q, k, v, t.inputs[key])
        o = t.array(key, "out")
        t.shape(o, expected.shape, "out must have shape (N, Tq, dv) = {expected}; got {got}")
        t.close(o, expected, f"out differs from the reference with {name}, which broadcasts to "
                "(N, Tq, Tk)", rtol=1e-10, atol=1e-12)
    for key, name in (("no_key", "a query"), ("no_batch", "a whole batch element")):
        raised = _text(t, key)
        t.expect(raised == "ValueError", f"a mask that allows no key for {name} must raise a "
                 f"ValueError (the weights would be 0/0); got {raised}")


# ---- Part 4: attention, backward --------------------------------------------------------------
def backward_visible_inputs(ref) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    N, Tq, Tk, d = 2, 2, 4, 3
    q, k = rng.standard_normal((N, Tq, d)), rng.standard_normal((N, Tk, d))
    v = rng.standard_normal((N, Tk, d))
    mask = np.array([[True, True, True, False], [True, False, True, True]])
    return {"q": q, "k": k, "v": v, "mask": mask, "dout": rng.standard_normal((N, Tq, d))}


BACKWARD_VISIBLE_RUN = """_, cache = dot_product_attention_forward(q, k, v, mask)
out['grads'] = dot_product_attention_backward(dout, cache)
"""


def backward_visible(t: Verifier) -> None:
    """Centred differences of the REFERENCE forward: a forward and a backward that both return
    zeros agree with each other, but not with the maths."""
    params = [t.inputs[n].copy() for n in QKV]
    mask, dout = t.inputs["mask"], t.inputs["dout"]
    grads = t.arrays("grads", 3, "dot_product_attention_backward", QKV_GRADS)

    def forward():
        return layers.dot_product_attention_forward(*params, mask)[0]

    t.gradients_check(QKV_GRADS, grads, params,
                      lambda p: gradcheck.numerical_gradient_array(forward, p, dout),
                      like_input=True)


def backward_hidden_inputs(ref) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(505)
    N, Tq, Tk, d, dv = 2, 3, 5, 4, 2
    q, k = rng.standard_normal((N, Tq, d)), rng.standard_normal((N, Tk, d))
    v = rng.standard_normal((N, Tk, dv))
    mask = rng.random((N, Tq, Tk)) < 0.5
    mask[:, :, -1] = True
    return {"q": q, "k": k, "v": v, "mask": mask, "dout": rng.standard_normal((N, Tq, dv)),
            "causal": np.tril(np.ones((Tq, Tk), dtype=bool))}


BACKWARD_HIDDEN_RUN = """_, cache = dot_product_attention_forward(q, k, v, mask, 0.7)
out['masked'] = dot_product_attention_backward(dout, cache)
_, cache = dot_product_attention_forward(q, k, v, causal)
out['causal'] = dot_product_attention_backward(dout, cache)
"""


def backward_hidden(t: Verifier) -> None:
    q, k, v, dout = (t.inputs[n] for n in ("q", "k", "v", "dout"))
    for key, mask, scale, case in (
            ("masked", "mask", 0.7, "an (N, Tq, Tk) mask and scale = 0.7"),
            ("causal", "causal", None, "a causal mask and the default scale")):
        _, cache = layers.dot_product_attention_forward(q, k, v, t.inputs[mask], scale)
        expected = layers.dot_product_attention_backward(dout, cache)
        grads = t.arrays(key, 3, "dot_product_attention_backward", QKV_GRADS)
        t.gradients_match(QKV_GRADS, grads, expected, f"with {case}", like_input=True)


SPEC = AssignmentSpec(
    name="05_attention",
    # The graded functions, the public index check the forward uses, and additive attention,
    # which shares the masked softmax and its backward (private helpers that are then used only
    # by hidden functions, and so become stubs as well).
    hidden=("embedding.embedding_forward", "embedding.embedding_backward",
            "embedding.check_indices", "attention.dot_product_attention_forward",
            "attention.dot_product_attention_backward", "attention.additive_attention_forward",
            "attention.additive_attention_backward"),
    checks=(
        Check("test_embedding_forward", EMBEDDING_VISIBLE_RUN, embedding_visible,
              embedding_visible_inputs),
        Check("hidden_embedding_forward", EMBEDDING_HIDDEN_RUN, embedding_hidden,
              embedding_hidden_inputs),
        Check("test_embedding_backward", EMBEDDING_BACKWARD_VISIBLE_RUN,
              embedding_backward_visible, embedding_backward_visible_inputs),
        Check("hidden_embedding_backward", EMBEDDING_BACKWARD_HIDDEN_RUN,
              embedding_backward_hidden, embedding_backward_hidden_inputs),
        Check("test_attention_forward", ATTENTION_VISIBLE_RUN, attention_visible,
              attention_visible_inputs),
        Check("hidden_attention_forward", ATTENTION_HIDDEN_RUN, attention_hidden,
              attention_hidden_inputs),
        Check("hidden_attention_mask", MASK_HIDDEN_RUN, mask_hidden, mask_hidden_inputs),
        Check("test_attention_backward", BACKWARD_VISIBLE_RUN, backward_visible,
              backward_visible_inputs),
        Check("hidden_attention_backward", BACKWARD_HIDDEN_RUN, backward_hidden,
              backward_hidden_inputs),
    ),
)
