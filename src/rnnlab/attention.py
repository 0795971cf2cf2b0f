"""Attention: a weighted average of values, with weights from how well each key matches a query.
Chapter 6 ("Seq2seq with attention").

For one query q_i and keys k_1 … k_Tk with values v_1 … v_Tk:

    e_ij = score(q_i, k_j),   α_ij = softmax_j(e_ij) over the allowed j,   out_i = Σ_j α_ij v_j

Two scores:
* scaled dot product (Luong et al. 2015; Vaswani et al. 2017): e_ij = q_i · k_j / √d,
  no parameters, q and k of the same size d;
* additive (Bahdanau, Cho & Bengio 2015): e_ij = w · tanh(q_i Wq + k_j Wk), with weights of
  its own, so q and k may have different sizes.

``mask`` has the meaning of the boolean mask of torch's ``scaled_dot_product_attention``: True =
this query may attend to this key. Masked keys get weight exactly 0. A query that may
attend to no key at all has no defined output (torch returns NaN); here that is an error.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnlab.validation import as_float_array, check_shape


def _check_qkv(q, k, v):
    q = as_float_array("q", q)
    check_shape("q", q, (None, None, None), "N, Tq, d")
    N, _, d = q.shape
    k = as_float_array("k", k, q.dtype)
    check_shape("k", k, (N, None, None), "N, Tk, dk")
    v = as_float_array("v", v, q.dtype)
    check_shape("v", v, (N, k.shape[1], None), "N, Tk, dv")
    for name, a, axis in (("q", q, 1), ("k", k, 1)):
        if a.shape[axis] == 0:
            raise ValueError(f"{name} must have at least one position; got shape {a.shape}")
    return q.copy(), k.copy(), v.copy()


def _check_attention_mask(mask, shape: tuple[int, int, int]) -> np.ndarray | None:
    """A boolean mask broadcastable to (N, Tq, Tk), returned broadcast (a fresh copy)."""
    if mask is None:
        return None
    m = np.asarray(mask)
    if m.dtype != np.bool_:
        raise TypeError(f"mask must be a boolean array (True = may attend, as in torch's "
                        f"scaled_dot_product_attention); got dtype {m.dtype}")
    try:
        m = np.array(np.broadcast_to(m, shape), copy=True)
    except ValueError:
        raise ValueError(f"mask must be broadcastable to (N, Tq, Tk) = {shape}; "
                         f"got shape {m.shape}") from None
    empty = ~m.any(axis=-1)
    if np.any(empty):
        n, i = (int(a) for a in np.argwhere(empty)[0])
        raise ValueError(f"mask allows no key for {int(np.count_nonzero(empty))} queries (the "
                         f"first: batch {n}, query {i}); every query needs at least one True "
                         f"in its row, or its attention weights would be 0/0")
    return m


def _masked_softmax(scores: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """softmax over the last axis, with masked-out entries exactly 0."""
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    scores = scores - scores.max(axis=-1, keepdims=True)
    w = np.exp(scores)
    return w / w.sum(axis=-1, keepdims=True)


def _softmax_backward(dw: np.ndarray, w: np.ndarray) -> np.ndarray:
    """∂L/∂e from ∂L/∂α for α = softmax(e): de_j = α_j (dα_j − Σ_k α_k dα_k)."""
    return w * (dw - np.sum(dw * w, axis=-1, keepdims=True))


def _check_dout(dout, shape, dtype) -> np.ndarray:
    dout = as_float_array("dout", dout, dtype)
    if dout.shape != shape:
        raise ValueError(f"dout must have the shape of the forward output {shape}; "
                         f"got {dout.shape}")
    return dout


class DotProductAttentionCache(NamedTuple):
    q: np.ndarray  # (N, Tq, d) copies of the inputs
    k: np.ndarray  # (N, Tk, d)
    v: np.ndarray  # (N, Tk, dv)
    weights: np.ndarray  # (N, Tq, Tk) attention weights α, rows sum to 1: plot these
    scale: float


def dot_product_attention_forward(q, k, v, mask=None, scale: float | None = None):
    """Scaled dot-product attention: out = softmax(q kᵀ · scale) v, per batch element. Chapter 6.

    q:     (N, Tq, d)  queries
    k:     (N, Tk, d)  keys
    v:     (N, Tk, dv) values
    mask:  (N, Tq, Tk) boolean or broadcastable to it; True = may attend; None = all keys
    scale: positive number multiplying the scores; None = 1/√d
    Returns out: (N, Tq, dv) and the cache; ``cache.weights`` (N, Tq, Tk) are the weights α.
    """
    q, k, v = _check_qkv(q, k, v)
    if k.shape[2] != q.shape[2]:
        raise ValueError(f"k must have the feature size of q, d={q.shape[2]}; got shape "
                         f"{k.shape} (use additive attention for different sizes)")
    if scale is None:
        scale = 1.0 / np.sqrt(q.shape[2])
    elif np.ndim(scale) != 0 or not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be a positive finite number or None; got {scale!r}")
    m = _check_attention_mask(mask, (q.shape[0], q.shape[1], k.shape[1]))
    # e_ij = q_i · k_j · scale
    scores = np.matmul(q, k.swapaxes(1, 2)) * scale
    w = _masked_softmax(scores, m)
    return np.matmul(w, v), DotProductAttentionCache(q, k, v, w, float(scale))


def dot_product_attention_backward(dout, cache: DotProductAttentionCache):
    """Backward pass of ``dot_product_attention_forward``.

    dout: (N, Tq, dv) upstream gradient ∂L/∂out
    Returns dq: (N, Tq, d), dk: (N, Tk, d), dv: (N, Tk, dv). Masked keys get no gradient
    through the weights (their α is 0).
    """
    q, k, v, w, scale = cache
    dout = _check_dout(dout, (q.shape[0], q.shape[1], v.shape[2]), q.dtype)
    dv = np.matmul(w.swapaxes(1, 2), dout)
    de = _softmax_backward(np.matmul(dout, v.swapaxes(1, 2)), w) * scale
    return np.matmul(de, k), np.matmul(de.swapaxes(1, 2), q), dv


class AdditiveAttentionCache(NamedTuple):
    q: np.ndarray  # (N, Tq, dq)
    k: np.ndarray  # (N, Tk, dk)
    v: np.ndarray  # (N, Tk, dv)
    Wq: np.ndarray  # (dq, A)
    Wk: np.ndarray  # (dk, A)
    w: np.ndarray  # (A,)
    hidden: np.ndarray  # (N, Tq, Tk, A) tanh(q_i Wq + k_j Wk)
    weights: np.ndarray  # (N, Tq, Tk) attention weights α


def additive_attention_forward(q, k, v, Wq, Wk, w, mask=None):
    """Additive (Bahdanau) attention: e_ij = w · tanh(q_i Wq + k_j Wk), out = softmax(e) v.
    Chapter 6.

    q:    (N, Tq, dq) queries (in Bahdanau et al. 2015 the decoder state s_{i−1})
    k:    (N, Tk, dk) keys (the encoder states h_j)
    v:    (N, Tk, dv) values (usually k again)
    Wq:   (dq, A)     query projection
    Wk:   (dk, A)     key projection
    w:    (A,)        scoring vector
    mask: (N, Tq, Tk) boolean or broadcastable to it; True = may attend; None = all keys
    Returns out: (N, Tq, dv) and the cache; ``cache.weights`` (N, Tq, Tk) are the weights α.
    """
    q, k, v = _check_qkv(q, k, v)
    Wq = as_float_array("Wq", Wq, q.dtype)
    check_shape("Wq", Wq, (q.shape[2], None), "dq, A")
    A = Wq.shape[1]
    Wk = as_float_array("Wk", Wk, q.dtype)
    check_shape("Wk", Wk, (k.shape[2], A), "dk, A")
    w = as_float_array("w", w, q.dtype)
    check_shape("w", w, (A,), "A")
    m = _check_attention_mask(mask, (q.shape[0], q.shape[1], k.shape[1]))
    # tanh(q_i Wq + k_j Wk) for every pair (i, j), by broadcasting: (N, Tq, 1, A) + (N, 1, Tk, A)
    hidden = np.tanh((q @ Wq)[:, :, None, :] + (k @ Wk)[:, None, :, :])
    alpha = _masked_softmax(hidden @ w, m)
    cache = AdditiveAttentionCache(q, k, v, Wq.copy(), Wk.copy(), w.copy(), hidden, alpha)
    return np.matmul(alpha, v), cache


def additive_attention_backward(dout, cache: AdditiveAttentionCache):
    """Backward pass of ``additive_attention_forward``.

    dout: (N, Tq, dv) upstream gradient ∂L/∂out
    Returns dq: (N, Tq, dq), dk: (N, Tk, dk), dv: (N, Tk, dv), dWq: (dq, A), dWk: (dk, A),
    dw: (A,).
    """
    q, k, v, Wq, Wk, w, hidden, alpha = cache
    dout = _check_dout(dout, (q.shape[0], q.shape[1], v.shape[2]), q.dtype)
    dv = np.matmul(alpha.swapaxes(1, 2), dout)
    de = _softmax_backward(np.matmul(dout, v.swapaxes(1, 2)), alpha)  # (N, Tq, Tk)
    dw = np.einsum("nij,nija->a", de, hidden)
    dpre = de[..., None] * w * (1 - hidden * hidden)  # ∂L/∂(q_i Wq + k_j Wk): (N, Tq, Tk, A)
    dpq, dpk = dpre.sum(axis=2), dpre.sum(axis=1)  # (N, Tq, A), (N, Tk, A)
    dq, dk = dpq @ Wq.T, dpk @ Wk.T
    dWq = q.reshape(-1, q.shape[2]).T @ dpq.reshape(-1, Wq.shape[1])
    dWk = k.reshape(-1, k.shape[2]).T @ dpk.reshape(-1, Wk.shape[1])
    return dq, dk, dv, dWq, dWk, dw
