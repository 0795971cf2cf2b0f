"""Embeddings and attention (layers.embedding_*, layers.dot_product_attention_*,
layers.additive_attention_*): gradients against centred finite differences (float64), parity
with torch.nn.Embedding and torch's scaled_dot_product_attention (skipped without torch unless
RNNLAB_REQUIRE_TORCH=1), masks, and the input checks."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import require_torch

from rnnlab import layers
from rnnlab.gradcheck import numerical_gradient_array, rel_error

TOL = 1e-7
TOL_PARITY = 1e-12


def _check(forward, args, grads, dout):
    for i, (arg, g) in enumerate(zip(args, grads, strict=True)):
        err = rel_error(g, numerical_gradient_array(lambda: forward(*args), arg, dout))
        assert err < TOL, f"gradient {i} has relative error {err:.2e}"


# ---- embeddings ------------------------------------------------------------------------------


def test_embedding_forward_is_a_one_hot_product(rng):
    W = rng.standard_normal((6, 4))
    idx = np.array([[0, 5, 5], [2, 2, 2]])
    out, _ = layers.embedding_forward(idx, W)
    np.testing.assert_array_equal(out, np.eye(6)[idx] @ W)


def test_embedding_gradient_accumulates_repeats(rng):
    W = rng.standard_normal((5, 3))
    idx = np.array([[1, 3, 1, 1], [0, 3, 1, 4]])  # 1 occurs four times, 2 never
    out, cache = layers.embedding_forward(idx, W)
    dout = rng.standard_normal(out.shape)
    dW = layers.embedding_backward(dout, cache)
    assert rel_error(dW, numerical_gradient_array(lambda: layers.embedding_forward(idx, W)[0],
                                                  W, dout)) < TOL
    np.testing.assert_allclose(dW[1], dout[0, 0] + dout[0, 2] + dout[0, 3] + dout[1, 2])
    assert np.all(dW[2] == 0)


def test_embedding_errors_and_aliasing(rng):
    W = rng.standard_normal((4, 2))
    with pytest.raises(ValueError, match=r"idx must lie in \[0, V=4\).*the first 4 at \(1, 0\)"):
        layers.embedding_forward(np.array([[0, 1], [4, 2]]), W)
    with pytest.raises(ValueError, match=r"idx must lie in \[0, V=4\)"):
        layers.embedding_forward(np.array([[-1]]), W)
    with pytest.raises(TypeError, match="idx must hold integer symbol indices"):
        layers.embedding_forward(np.array([[0.0, 1.0]]), W)
    with pytest.raises(ValueError, match=r"idx must have shape \(N, T\)"):
        layers.embedding_forward(np.array([0, 1]), W)
    with pytest.raises(ValueError, match=r"W must have shape \(V, D\)"):
        layers.embedding_forward(np.array([[0]]), np.ones(3))
    idx = np.array([[0, 1, 1]])
    out, cache = layers.embedding_forward(idx, W)
    with pytest.raises(ValueError, match=r"dout must have shape \(N=1, T=3, D=2\)"):
        layers.embedding_backward(np.ones((1, 3, 3)), cache)
    dW_ref = layers.embedding_backward(np.ones_like(out), cache)
    idx[0, 0] = 3  # a later change to the caller's array must not reach the cache
    np.testing.assert_array_equal(layers.embedding_backward(np.ones_like(out), cache), dW_ref)


# ---- dot-product attention -------------------------------------------------------------------


def _qkv(rng, N=2, Tq=3, Tk=4, d=5, dv=2):
    return rng.standard_normal((N, Tq, d)), rng.standard_normal((N, Tk, d)), \
        rng.standard_normal((N, Tk, dv))


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("scale", [None, 0.7])
def test_dot_product_attention_gradients(rng, masked, scale):
    q, k, v = _qkv(rng)
    mask = rng.random((2, 3, 4)) < 0.6 if masked else None
    if masked:
        mask[..., 0] = True  # every query may attend to at least one key
    out, cache = layers.dot_product_attention_forward(q, k, v, mask, scale)
    dout = rng.standard_normal(out.shape)
    grads = layers.dot_product_attention_backward(dout, cache)

    def fwd(q, k, v):
        return layers.dot_product_attention_forward(q, k, v, mask, scale)[0]

    _check(fwd, [q, k, v], grads, dout)


def test_attention_weights_and_mask(rng):
    q, k, v = _qkv(rng, N=1, Tq=2, Tk=3)
    mask = np.array([[True, False, True], [False, True, False]])  # (Tq, Tk): broadcast over N
    out, cache = layers.dot_product_attention_forward(q, k, v, mask)
    w = cache.weights
    assert w.shape == (1, 2, 3)
    np.testing.assert_allclose(w.sum(axis=-1), 1.0)
    assert np.all(w[0][~mask] == 0)
    np.testing.assert_allclose(out[0, 1], v[0, 1])  # the only allowed key: its value exactly
    # changing a masked key's value changes nothing
    v2 = v.copy()
    v2[0, 0] += 10
    out2, _ = layers.dot_product_attention_forward(q, k, v2, mask)
    np.testing.assert_array_equal(out2[0, 1], out[0, 1])


def test_attention_mask_errors(rng):
    q, k, v = _qkv(rng)
    bad = np.ones((2, 3, 4), dtype=bool)
    bad[1, 2] = False
    with pytest.raises(ValueError, match=r"mask allows no key for 1 queries .*batch 1, query 2"):
        layers.dot_product_attention_forward(q, k, v, bad)
    with pytest.raises(TypeError, match="mask must be a boolean array"):
        layers.dot_product_attention_forward(q, k, v, np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match=r"mask must be broadcastable to \(N, Tq, Tk\)"):
        layers.dot_product_attention_forward(q, k, v, np.ones((3, 3), dtype=bool))
    with pytest.raises(ValueError, match="k must have the feature size of q"):
        layers.dot_product_attention_forward(q, k[..., :4], v)
    with pytest.raises(ValueError, match=r"v must have shape \(N=2, Tk=4, dv\)"):
        layers.dot_product_attention_forward(q, k, v[:, :3])
    with pytest.raises(ValueError, match="scale must be a positive finite number"):
        layers.dot_product_attention_forward(q, k, v, scale=-1.0)
    with pytest.raises(TypeError, match="k must have dtype float64"):
        layers.dot_product_attention_forward(q, k.astype(np.float32), v)
    out, cache = layers.dot_product_attention_forward(q, k, v)
    with pytest.raises(ValueError, match="dout must have the shape of the forward output"):
        layers.dot_product_attention_backward(out[:, :2], cache)


def test_attention_caches_do_not_alias(rng):
    q, k, v = _qkv(rng)
    Wq, Wk, w = rng.standard_normal((5, 3)), rng.standard_normal((5, 3)), rng.standard_normal(3)
    for fwd, back, args in [
        (layers.dot_product_attention_forward, layers.dot_product_attention_backward, [q, k, v]),
        (layers.additive_attention_forward, layers.additive_attention_backward,
         [q, k, v, Wq, Wk, w]),
    ]:
        args = [a.copy() for a in args]
        out, cache = fwd(*args)
        ref = back(np.ones_like(out), cache)
        for a in args:
            a += 1.0
        for g, r in zip(back(np.ones_like(out), cache), ref, strict=True):
            np.testing.assert_array_equal(g, r)


# ---- additive (Bahdanau) attention -----------------------------------------------------------


@pytest.mark.parametrize("masked", [False, True])
def test_additive_attention_gradients(rng, masked):
    N, Tq, Tk, dq, dk, dv, A = 2, 3, 4, 5, 3, 2, 6
    q, k, v = rng.standard_normal((N, Tq, dq)), rng.standard_normal((N, Tk, dk)), \
        rng.standard_normal((N, Tk, dv))
    Wq, Wk, w = 0.5 * rng.standard_normal((dq, A)), 0.5 * rng.standard_normal((dk, A)), \
        rng.standard_normal(A)
    mask = None
    if masked:
        mask = np.arange(Tk)[None, None, :] < np.array([4, 2])[:, None, None]  # (N, 1, Tk)
    out, cache = layers.additive_attention_forward(q, k, v, Wq, Wk, w, mask)
    assert out.shape == (N, Tq, dv) and cache.weights.shape == (N, Tq, Tk)
    if masked:
        assert np.all(cache.weights[1, :, 2:] == 0)
    dout = rng.standard_normal(out.shape)
    grads = layers.additive_attention_backward(dout, cache)

    def fwd(*a):
        return layers.additive_attention_forward(*a, mask)[0]

    _check(fwd, [q, k, v, Wq, Wk, w], grads, dout)


def test_additive_attention_errors(rng):
    q, k, v = _qkv(rng)
    Wq, Wk, w = rng.standard_normal((5, 3)), rng.standard_normal((5, 3)), rng.standard_normal(3)
    with pytest.raises(ValueError, match=r"Wq must have shape \(dq=5, A\)"):
        layers.additive_attention_forward(q, k, v, Wq[:4], Wk, w)
    with pytest.raises(ValueError, match=r"Wk must have shape \(dk=5, A=3\)"):
        layers.additive_attention_forward(q, k, v, Wq, Wk[:, :2], w)
    with pytest.raises(ValueError, match=r"w must have shape \(A=3\)"):
        layers.additive_attention_forward(q, k, v, Wq, Wk, w[:2])
    with pytest.raises(ValueError, match="q contains NaN or inf"):
        layers.additive_attention_forward(np.full_like(q, np.nan), k, v, Wq, Wk, w)


# ---- parity with torch -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def torch():
    t = require_torch()
    t.set_default_dtype(t.float64)
    return t


def test_embedding_matches_torch(torch, rng):
    V, D = 7, 3
    emb = torch.nn.Embedding(V, D)
    idx = rng.integers(0, V, size=(4, 5))
    out_t = emb(torch.tensor(idx))
    dout = rng.standard_normal(out_t.shape)
    out_t.backward(torch.tensor(dout))
    out, cache = layers.embedding_forward(idx, emb.weight.detach().numpy().copy())
    assert np.max(np.abs(out - out_t.detach().numpy())) <= TOL_PARITY
    dW = layers.embedding_backward(dout, cache)
    assert np.max(np.abs(dW - emb.weight.grad.numpy())) <= TOL_PARITY


@pytest.mark.parametrize("mask_shape", [None, (2, 3, 4), (3, 4), (2, 1, 4)])
@pytest.mark.parametrize("scale", [None, 0.3])
def test_dot_product_attention_matches_torch(torch, rng, mask_shape, scale):
    q, k, v = _qkv(rng)
    mask = None
    if mask_shape is not None:
        mask = rng.random(mask_shape) < 0.5
        mask[..., 1] = True
    qt, kt, vt = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    out_t = torch.nn.functional.scaled_dot_product_attention(
        qt, kt, vt, attn_mask=None if mask is None else torch.tensor(mask), scale=scale)
    dout = rng.standard_normal(out_t.shape)
    out_t.backward(torch.tensor(dout))
    out, cache = layers.dot_product_attention_forward(q, k, v, mask, scale)
    assert np.max(np.abs(out - out_t.detach().numpy())) <= TOL_PARITY
    for g, t in zip(layers.dot_product_attention_backward(dout, cache), (qt, kt, vt), strict=True):
        assert np.max(np.abs(g - t.grad.numpy())) <= TOL_PARITY
