"""The functional core: forward and backward passes of the vanilla RNN, LSTM and GRU, the output
layer and the losses.

Conventions (the contract every chapter, widget and assignment relies on):

* Batch-first shapes with named axes: N batch, T time, D input, H hidden, M outputs, V vocabulary.
* Row vectors: one step of the vanilla RNN is ``h_t = σ(x_t Wx + h_{t-1} Wh + b)`` with
  x_t: (N, D), Wx: (D, H), Wh: (H, H). In the book's column-vector notation this is
  ``h_t = σ(W_xh x_t + W_hh h_{t-1} + b_h)`` with ``W_xh = Wx.T`` and ``W_hh = Wh.T``.
* Every ``*_forward`` returns ``(out, cache)``; every ``*_backward(dout, cache)`` returns the
  gradients in the order of the forward's arguments.
* float64 by default; float32 is accepted and preserved. All arrays of one call share a dtype.

The sequence functions are vectorised versions of the step functions (the input projection of all
steps is one matmul, the weight gradients are one matmul after the loop); ``tests/test_layers.py``
proves them equal to a loop over the step functions.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnlab.activations import activation_fn, activation_grad
from rnnlab.validation import (
    as_float_array,
    check_activation,
    check_mask,
    check_nonempty_time,
    check_shape,
)

# --------------------------------------------------------------------------------------------
# Validation shared by the cells
# --------------------------------------------------------------------------------------------


def _check_weights(D: int, Wx, Wh, gates: int, dtype):
    """Wx: (D, gates·H) and Wh: (H, gates·H); returns them and H."""
    Wx = as_float_array("Wx", Wx, dtype)
    check_shape("Wx", Wx, (D, None), "D, G*H")
    if Wx.shape[1] % gates:
        raise ValueError(f"Wx must have shape (D={D}, {gates}*H); got {Wx.shape}, whose second "
                         f"axis is not a multiple of {gates}")
    H = Wx.shape[1] // gates
    Wh = as_float_array("Wh", Wh, dtype)
    check_shape("Wh", Wh, (H, gates * H), f"H, {gates}*H" if gates > 1 else "H, H")
    return Wx, Wh, H


def _check_step(x, h_prev, Wx, Wh, gates: int):
    x = as_float_array("x", x)
    check_shape("x", x, (None, None), "N, D")
    N, D = x.shape
    Wx, Wh, H = _check_weights(D, Wx, Wh, gates, x.dtype)
    h_prev = as_float_array("h_prev", h_prev, x.dtype)
    check_shape("h_prev", h_prev, (N, H), "N, H")
    return x, h_prev, Wx, Wh


def _check_sequence(x, h0, Wx, Wh, gates: int):
    x = as_float_array("x", x)
    check_shape("x", x, (None, None, None), "N, T, D")
    check_nonempty_time("x", x)
    N, _, D = x.shape
    Wx, Wh, H = _check_weights(D, Wx, Wh, gates, x.dtype)
    h0 = as_float_array("h0", h0, x.dtype)
    check_shape("h0", h0, (N, H), "N, H")
    return x, h0, Wx, Wh


def _check_bias(name: str, b, size: int, dtype, gates: int = 1) -> np.ndarray:
    b = as_float_array(name, b, dtype)
    check_shape(name, b, (size,), "H" if gates == 1 else f"{gates}*H")
    return b


def _check_dout(name: str, dout, shape, dtype) -> np.ndarray:
    dout = as_float_array(name, dout, dtype)
    if dout.shape != tuple(shape):
        raise ValueError(f"{name} must have the shape of the forward output {tuple(shape)}; "
                         f"got {dout.shape}")
    return dout


def _time_major(a: np.ndarray) -> np.ndarray:
    """(N, T, ...) -> a contiguous *copy* (T, N, ...), so that a[t] is one contiguous block.

    Always a copy: the caches must not alias the caller's arrays, and the backward passes
    overwrite these buffers in place.
    """
    return np.array(a.swapaxes(0, 1), order="C", copy=True)


def _batch_major(a: np.ndarray) -> np.ndarray:
    """(T, N, ...) -> a contiguous copy (N, T, ...): the caller may modify it freely."""
    return np.array(a.swapaxes(0, 1), order="C", copy=True)


# --------------------------------------------------------------------------------------------
# Vanilla RNN (Elman 1990)
# --------------------------------------------------------------------------------------------


class RNNStepCache(NamedTuple):
    x: np.ndarray
    h_prev: np.ndarray
    Wx: np.ndarray
    Wh: np.ndarray
    h: np.ndarray
    activation: str


def rnn_step_forward(x, h_prev, Wx, Wh, b, activation: str = "tanh"):
    """One time step of a vanilla (Elman) RNN.

    x: (N, D) input at this step; h_prev: (N, H); Wx: (D, H); Wh: (H, H); b: (H,).
    activation: "tanh" (default), "relu", "linear" or "sigmoid".
    Returns h: (N, H) and the cache for ``rnn_step_backward``.
    """
    x, h_prev, Wx, Wh = _check_step(x, h_prev, Wx, Wh, gates=1)
    b = _check_bias("b", b, Wh.shape[0], x.dtype)
    check_activation(activation)
    # h_t = σ(x_t Wx + h_{t-1} Wh + b)
    h = activation_fn(activation)(x @ Wx + h_prev @ Wh + b)
    return h, RNNStepCache(x, h_prev, Wx, Wh, h, activation)


def rnn_step_backward(dh, cache: RNNStepCache):
    """Backward pass of ``rnn_step_forward``.

    dh: (N, H) upstream gradient ∂L/∂h_t (total: from the output at t and from step t+1).
    Returns dx: (N, D), dh_prev: (N, H), dWx: (D, H), dWh: (H, H), db: (H,).
    """
    x, h_prev, Wx, Wh, h, activation = cache
    dh = _check_dout("dh", dh, h.shape, h.dtype)
    da = dh * activation_grad(activation)(h)  # ∂L/∂a_t, a_t the pre-activation
    return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)


class RNNCache(NamedTuple):
    x: np.ndarray  # (T, N, D) time-major copy of the input
    h0: np.ndarray  # (N, H)
    Wx: np.ndarray
    Wh: np.ndarray
    h: np.ndarray  # (T, N, H) time-major hidden states h_1 … h_T
    activation: str


def rnn_forward(x, h0, Wx, Wh, b, activation: str = "tanh"):
    """Run a vanilla RNN over a whole sequence.

    x: (N, T, D); h0: (N, H); Wx: (D, H); Wh: (H, H); b: (H,).
    Returns h: (N, T, H), the hidden states h_1 … h_T, and the cache for ``rnn_backward``.
    """
    x, h0, Wx, Wh = _check_sequence(x, h0, Wx, Wh, gates=1)
    b = _check_bias("b", b, Wh.shape[0], x.dtype)
    check_activation(activation)
    act = activation_fn(activation)
    xs = _time_major(x)
    T, N, D = xs.shape
    H = Wh.shape[0]
    # One matmul for the input projections of all T steps: a_t = x_t Wx + b (+ h_{t-1} Wh below).
    hs = (xs.reshape(T * N, D) @ Wx + b).reshape(T, N, H)
    h = h0
    for t in range(T):
        a = hs[t]
        a += h @ Wh
        h = act(a) if activation != "tanh" else np.tanh(a, out=a)
        hs[t] = h
    return _batch_major(hs), RNNCache(xs, h0, Wx, Wh, hs, activation)


def rnn_backward(dh, cache: RNNCache):
    """Backpropagation through time for ``rnn_forward``.

    dh: (N, T, H) upstream gradients ∂L/∂h_t coming from the outputs at every step (immediate,
    not yet including the path through later steps, which this function adds).
    Returns dx: (N, T, D), dh0: (N, H), dWx: (D, H), dWh: (H, H), db: (H,).
    """
    xs, h0, Wx, Wh, hs, activation = cache
    T, N, H = hs.shape
    D = xs.shape[2]
    dh = _check_dout("dh", dh, (N, T, H), hs.dtype)
    grad = activation_grad(activation)
    da = _time_major(dh)  # becomes ∂L/∂a_t in place
    carry = np.zeros_like(h0)  # ∂L/∂h_t through step t+1
    WhT = np.ascontiguousarray(Wh.T)
    for t in range(T - 1, -1, -1):
        d = da[t]
        d += carry  # total derivative ∂L/∂h_t
        d *= grad(hs[t])
        carry = d @ WhT
    # The weight gradients sum over time: one matmul each after the loop.
    da2 = da.reshape(T * N, H)
    h_prev = np.concatenate([h0[None], hs[:-1]], axis=0).reshape(T * N, H)
    dWx = xs.reshape(T * N, D).T @ da2
    dWh = h_prev.T @ da2
    db = da2.sum(axis=0)
    dx = (da2 @ Wx.T).reshape(T, N, D).swapaxes(0, 1)
    return dx, carry, dWx, dWh, db


# --------------------------------------------------------------------------------------------
# LSTM (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000)
# --------------------------------------------------------------------------------------------


def _split4(a: np.ndarray, H: int):
    return a[..., :H], a[..., H:2 * H], a[..., 2 * H:3 * H], a[..., 3 * H:]


def _sigmoid_(a: np.ndarray) -> np.ndarray:
    """In place a ← σ(a) = 1 / (1 + e^(−a)); returns a.

    One exp per entry: NumPy's exp is about twice as fast as its tanh. For a ≲ −88 (float32) the
    exp overflows to inf and σ = 0 exactly; callers run inside np.errstate(over="ignore").
    """
    np.negative(a, out=a)
    np.exp(a, out=a)
    a += 1
    return np.reciprocal(a, out=a)


def _lstm_gates(a: np.ndarray, H: int) -> np.ndarray:
    """Apply σ to the i, f, o blocks and tanh to the g block of a: (..., 4H), in place."""
    # tanh(x) = 2σ(2x) − 1, so one σ pass over all 4H columns serves every gate.
    g = a[..., 2 * H:3 * H]
    g *= 2
    _sigmoid_(a)
    g *= 2
    g -= 1
    return a


class LSTMStepCache(NamedTuple):
    x: np.ndarray
    h_prev: np.ndarray
    c_prev: np.ndarray
    Wx: np.ndarray
    Wh: np.ndarray
    gates: np.ndarray  # (N, 4H): i, f, g, o after their nonlinearities
    c: np.ndarray
    tanh_c: np.ndarray


def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    """One time step of an LSTM, gate order i, f, g, o (PyTorch's).

    x: (N, D); h_prev, c_prev: (N, H); Wx: (D, 4H); Wh: (H, 4H); b: (4H,).
        i = σ(a_i), f = σ(a_f), g = tanh(a_g), o = σ(a_o) with a = x Wx + h_prev Wh + b
        c = f ⊙ c_prev + i ⊙ g,   h = o ⊙ tanh(c)
    Returns ((h, c), cache) with h, c: (N, H).
    """
    x, h_prev, Wx, Wh = _check_step(x, h_prev, Wx, Wh, gates=4)
    H = Wh.shape[0]
    b = _check_bias("b", b, 4 * H, x.dtype, 4)
    c_prev = as_float_array("c_prev", c_prev, x.dtype)
    check_shape("c_prev", c_prev, h_prev.shape, "N, H")
    with np.errstate(over="ignore"):
        gates = _lstm_gates(x @ Wx + h_prev @ Wh + b, H)
    i, f, g, o = _split4(gates, H)
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c
    return (h, c), LSTMStepCache(x, h_prev, c_prev, Wx, Wh, gates, c, tanh_c)


def _lstm_step_back(dh, dc, gates, c_prev, tanh_c, H, out):
    """∂L/∂a (N, 4H) into `out`, and ∂L/∂c_prev, from the total dh and dc at this step.

    Written with in-place products to keep temporaries few (this is the hot loop of the LSTM).
    """
    i, f, g, o = _split4(gates, H)
    di, df, dg, do = _split4(out, H)
    # do = dh ⊙ tanh(c) ⊙ o(1 − o)
    np.multiply(dh, tanh_c, out=do)
    do *= o
    do *= 1 - o
    # total ∂L/∂c_t = dc + dh ⊙ o ⊙ (1 − tanh²(c_t))
    dct = np.multiply(tanh_c, tanh_c)
    np.subtract(1, dct, out=dct)
    dct *= o
    dct *= dh
    dct += dc
    # di = dct ⊙ g ⊙ i(1 − i);  df = dct ⊙ c_prev ⊙ f(1 − f);  dg = dct ⊙ i ⊙ (1 − g²)
    np.multiply(dct, g, out=di)
    di *= i
    di *= 1 - i
    np.multiply(dct, c_prev, out=df)
    df *= f
    df *= 1 - f
    np.multiply(g, g, out=dg)
    np.subtract(1, dg, out=dg)
    dg *= dct
    dg *= i
    dct *= f  # ∂c_t/∂c_{t-1} = f_t: the additive path
    return dct


def lstm_step_backward(dout, cache: LSTMStepCache):
    """Backward pass of ``lstm_step_forward``.

    dout: (dh, dc), each (N, H), the total upstream gradients of h and c (dc may be None: zero).
    Returns dx: (N, D), dh_prev: (N, H), dc_prev: (N, H), dWx: (D, 4H), dWh: (H, 4H), db: (4H,).
    """
    x, h_prev, c_prev, Wx, Wh, gates, c, tanh_c = cache
    dh, dc = _unpack_pair("dout", dout)
    dh = _check_dout("dh", dh, c.shape, c.dtype)
    dc = np.zeros_like(c) if dc is None else _check_dout("dc", dc, c.shape, c.dtype)
    H = c.shape[1]
    da = np.empty_like(gates)
    dc_prev = _lstm_step_back(dh, dc, gates, c_prev, tanh_c, H, da)
    return da @ Wx.T, da @ Wh.T, dc_prev, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def _unpack_pair(name, dout):
    if not isinstance(dout, tuple | list) or len(dout) != 2:
        raise TypeError(f"{name} must be a pair (dh, dc) of (N, H) arrays; "
                        f"got {type(dout).__name__}")
    return dout


class LSTMCache(NamedTuple):
    x: np.ndarray  # (T, N, D)
    h0: np.ndarray
    c0: np.ndarray
    Wx: np.ndarray
    Wh: np.ndarray
    gates: np.ndarray  # (T, N, 4H)
    c: np.ndarray  # (T, N, H) cell states c_1 … c_T
    tanh_c: np.ndarray  # (T, N, H)
    h: np.ndarray  # (T, N, H)
    c0_given: bool


def lstm_forward(x, h0, Wx, Wh, b, c0=None):
    """Run an LSTM over a whole sequence (gate order i, f, g, o).

    x: (N, T, D); h0: (N, H); Wx: (D, 4H); Wh: (H, 4H); b: (4H,); c0: (N, H) or None (zeros).
    Returns h: (N, T, H) and the cache for ``lstm_backward``. The cell states are in
    ``cache.c`` (time-major, (T, N, H)); ``final_state(cache)`` gives the last (h, c).
    """
    x, h0, Wx, Wh = _check_sequence(x, h0, Wx, Wh, gates=4)
    H = Wh.shape[0]
    b = _check_bias("b", b, 4 * H, x.dtype, 4)
    c0_given = c0 is not None
    if c0_given:
        c0 = as_float_array("c0", c0, x.dtype)
        check_shape("c0", c0, h0.shape, "N, H")
    else:
        c0 = np.zeros_like(h0)
    xs = _time_major(x)
    T, N, D = xs.shape
    gates = (xs.reshape(T * N, D) @ Wx + b).reshape(T, N, 4 * H)
    cs = np.empty((T, N, H), dtype=x.dtype)
    tcs = np.empty_like(cs)
    hs = np.empty_like(cs)
    h, c = h0, c0
    with np.errstate(over="ignore"):
        for t in range(T):
            a = gates[t]
            a += h @ Wh
            _lstm_gates(a, H)
            i, f, g, o = _split4(a, H)
            # c_t = f ⊙ c_{t-1} + i ⊙ g ;  h_t = o ⊙ tanh(c_t)
            c = np.multiply(f, c, out=cs[t])
            c += i * g
            np.tanh(c, out=tcs[t])
            h = np.multiply(o, tcs[t], out=hs[t])
    cache = LSTMCache(xs, h0, c0, Wx, Wh, gates, cs, tcs, hs, c0_given)
    return _batch_major(hs), cache


def lstm_backward(dh, cache: LSTMCache):
    """Backpropagation through time for ``lstm_forward``.

    dh: (N, T, H) upstream gradients of the hidden states from the outputs.
    Returns dx: (N, T, D), dh0: (N, H), dWx: (D, 4H), dWh: (H, 4H), db: (4H,), and dc0: (N, H)
    as a sixth value when ``lstm_forward`` was given c0.
    """
    xs, h0, c0, Wx, Wh, gates, cs, tcs, hs, c0_given = cache
    T, N, H = hs.shape
    D = xs.shape[2]
    dh = _time_major(_check_dout("dh", dh, (N, T, H), hs.dtype))
    da = np.empty_like(gates)
    WhT = np.ascontiguousarray(Wh.T)
    dh_carry = np.zeros_like(h0)
    dc = np.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        c_prev = cs[t - 1] if t > 0 else c0
        dc = _lstm_step_back(dh[t] + dh_carry, dc, gates[t], c_prev, tcs[t], H, da[t])
        dh_carry = da[t] @ WhT
    da2 = da.reshape(T * N, 4 * H)
    h_prev = np.concatenate([h0[None], hs[:-1]], axis=0).reshape(T * N, H)
    dWx = xs.reshape(T * N, D).T @ da2
    dWh = h_prev.T @ da2
    db = da2.sum(axis=0)
    dx = (da2 @ Wx.T).reshape(T, N, D).swapaxes(0, 1)
    if c0_given:
        return dx, dh_carry, dWx, dWh, db, dc
    return dx, dh_carry, dWx, dWh, db


# --------------------------------------------------------------------------------------------
# GRU (Cho et al. 2014), in the formulation of torch.nn.GRU / cuDNN
# --------------------------------------------------------------------------------------------
#
#   r = σ(x Wx_r + bx_r + h Wh_r + bh_r)
#   z = σ(x Wx_z + bx_z + h Wh_z + bh_z)
#   n = tanh(x Wx_n + bx_n + r ⊙ (h Wh_n + bh_n))
#   h' = (1 − z) ⊙ n + z ⊙ h
#
# Cho et al. (2014) apply the reset gate *before* the recurrent matmul,
# n = tanh(x W + U (r ⊙ h)), and write h' = z ⊙ h + (1 − z) ⊙ h̃ with their z playing the role of
# our z (keep the old state). The two candidate states differ (r ⊙ (U h) vs U (r ⊙ h)), so weights
# trained in one formulation do not give the same outputs in the other. PyTorch and cuDNN use the
# form above because U h can then be computed for all three gates in one matmul; so do we, so
# that weights port to and from torch.nn.GRU unchanged (tests/test_torch_parity.py proves it).


class GRUStepCache(NamedTuple):
    x: np.ndarray
    h_prev: np.ndarray
    Wx: np.ndarray
    Wh: np.ndarray
    r: np.ndarray
    z: np.ndarray
    n: np.ndarray
    hn: np.ndarray  # h_prev Wh_n + bh_n, the recurrent part of n before the reset gate


def _gru_step(xa, h_prev, Wh, bh, H):
    """xa = x Wx + bx: (N, 3H). Returns h, r, z, n, hn."""
    ha = h_prev @ Wh + bh
    with np.errstate(over="ignore"):
        rz = _sigmoid_(xa[:, :2 * H] + ha[:, :2 * H])
    r, z = rz[:, :H], rz[:, H:]
    hn = ha[:, 2 * H:]
    n = np.tanh(xa[:, 2 * H:] + r * hn)
    h = n + z * (h_prev - n)  # = (1 − z) ⊙ n + z ⊙ h_prev
    return h, r, z, n, hn


def _gru_step_back(dh, h_prev, r, z, n, hn, out):
    """Fill out = [∂L/∂a_r, ∂L/∂a_z, ∂L/∂a_n] (N, 3H) for the x-side pre-activations and
    return ∂L/∂(recurrent pre-activation) (N, 3H) and the direct part of ∂L/∂h_prev (z ⊙ dh)."""
    H = r.shape[1]
    dn = dh * (1 - z)
    dz = dh * (h_prev - n)
    dan = dn * (1 - n * n)  # ∂L/∂(pre-activation of n)
    dr = dan * hn
    dar, daz, dxn = out[:, :H], out[:, H:2 * H], out[:, 2 * H:]
    np.multiply(dr, r * (1 - r), out=dar)
    np.multiply(dz, z * (1 - z), out=daz)
    dxn[...] = dan
    dha = out.copy()
    dha[:, 2 * H:] *= r  # the recurrent n-part passes through the reset gate
    return dha, dh * z


def gru_step_forward(x, h_prev, Wx, Wh, bx, bh):
    """One time step of a GRU in torch.nn.GRU's formulation, gate order r, z, n.

    x: (N, D); h_prev: (N, H); Wx: (D, 3H); Wh: (H, 3H); bx, bh: (3H,).
    Returns h: (N, H) and the cache for ``gru_step_backward``.
    """
    x, h_prev, Wx, Wh = _check_step(x, h_prev, Wx, Wh, gates=3)
    H = Wh.shape[0]
    bx = _check_bias("bx", bx, 3 * H, x.dtype, 3)
    bh = _check_bias("bh", bh, 3 * H, x.dtype, 3)
    h, r, z, n, hn = _gru_step(x @ Wx + bx, h_prev, Wh, bh, H)
    return h, GRUStepCache(x, h_prev, Wx, Wh, r, z, n, hn)


def gru_step_backward(dh, cache: GRUStepCache):
    """Backward pass of ``gru_step_forward``.

    dh: (N, H). Returns dx: (N, D), dh_prev: (N, H), dWx: (D, 3H), dWh: (H, 3H), dbx, dbh: (3H,).
    """
    x, h_prev, Wx, Wh, r, z, n, hn = cache
    dh = _check_dout("dh", dh, h_prev.shape, h_prev.dtype)
    dxa = np.empty((dh.shape[0], Wx.shape[1]), dtype=dh.dtype)
    dha, dh_direct = _gru_step_back(dh, h_prev, r, z, n, hn, dxa)
    dh_prev = dh_direct + dha @ Wh.T
    return dxa @ Wx.T, dh_prev, x.T @ dxa, h_prev.T @ dha, dxa.sum(axis=0), dha.sum(axis=0)


class GRUCache(NamedTuple):
    x: np.ndarray  # (T, N, D)
    h0: np.ndarray
    Wx: np.ndarray
    Wh: np.ndarray
    r: np.ndarray  # (T, N, H)
    z: np.ndarray
    n: np.ndarray
    hn: np.ndarray
    h: np.ndarray  # (T, N, H)


def gru_forward(x, h0, Wx, Wh, bx, bh):
    """Run a GRU (torch.nn.GRU formulation, gate order r, z, n) over a whole sequence.

    x: (N, T, D); h0: (N, H); Wx: (D, 3H); Wh: (H, 3H); bx, bh: (3H,).
    Returns h: (N, T, H) and the cache for ``gru_backward``.
    """
    x, h0, Wx, Wh = _check_sequence(x, h0, Wx, Wh, gates=3)
    H = Wh.shape[0]
    bx = _check_bias("bx", bx, 3 * H, x.dtype, 3)
    bh = _check_bias("bh", bh, 3 * H, x.dtype, 3)
    xs = _time_major(x)
    T, N, D = xs.shape
    xa = (xs.reshape(T * N, D) @ Wx + bx).reshape(T, N, 3 * H)
    rs, zs, ns, hns, hs = (np.empty((T, N, H), dtype=x.dtype) for _ in range(5))
    h = h0
    for t in range(T):
        h, rs[t], zs[t], ns[t], hns[t] = _gru_step(xa[t], h, Wh, bh, H)
        hs[t] = h
    return _batch_major(hs), GRUCache(xs, h0, Wx, Wh, rs, zs, ns, hns, hs)


def gru_backward(dh, cache: GRUCache):
    """Backpropagation through time for ``gru_forward``.

    dh: (N, T, H). Returns dx: (N, T, D), dh0: (N, H), dWx: (D, 3H), dWh: (H, 3H),
    dbx: (3H,), dbh: (3H,).
    """
    xs, h0, Wx, Wh, rs, zs, ns, hns, hs = cache
    T, N, H = hs.shape
    D = xs.shape[2]
    dh = _time_major(_check_dout("dh", dh, (N, T, H), hs.dtype))
    dxa = np.empty((T, N, 3 * H), dtype=hs.dtype)
    dha = np.empty_like(dxa)
    WhT = np.ascontiguousarray(Wh.T)
    carry = np.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        h_prev = hs[t - 1] if t > 0 else h0
        dha[t], direct = _gru_step_back(dh[t] + carry, h_prev, rs[t], zs[t], ns[t], hns[t],
                                        dxa[t])
        carry = direct + dha[t] @ WhT
    dxa2 = dxa.reshape(T * N, 3 * H)
    dha2 = dha.reshape(T * N, 3 * H)
    h_prev = np.concatenate([h0[None], hs[:-1]], axis=0).reshape(T * N, H)
    dWx = xs.reshape(T * N, D).T @ dxa2
    dWh = h_prev.T @ dha2
    dx = (dxa2 @ Wx.T).reshape(T, N, D).swapaxes(0, 1)
    return dx, carry, dWx, dWh, dxa2.sum(axis=0), dha2.sum(axis=0)


def final_state(cache):
    """The last hidden state of a sequence cache: h_T (N, H), or (h_T, c_T) for an LSTM.

    Truncated BPTT carries this into the next chunk as a plain value (no gradient flows back).
    """
    if isinstance(cache, LSTMCache):
        return cache.h[-1].copy(), cache.c[-1].copy()
    if isinstance(cache, RNNCache | GRUCache):
        return cache.h[-1].copy()
    raise TypeError(f"cache must come from rnn_forward, lstm_forward or gru_forward; "
                    f"got {type(cache).__name__}")


# --------------------------------------------------------------------------------------------
# Output layer and losses
# --------------------------------------------------------------------------------------------


class AffineCache(NamedTuple):
    h: np.ndarray
    W: np.ndarray


def temporal_affine_forward(h, W, b):
    """The output layer applied at every time step: y_t = h_t W + b.

    h: (N, T, H); W: (H, M); b: (M,). Returns y: (N, T, M) and the cache.
    """
    h = as_float_array("h", h)
    check_shape("h", h, (None, None, None), "N, T, H")
    W = as_float_array("W", W, h.dtype)
    check_shape("W", W, (h.shape[2], None), "H, M")
    b = as_float_array("b", b, h.dtype)
    check_shape("b", b, (W.shape[1],), "M")
    N, T, H = h.shape
    y = (h.reshape(N * T, H) @ W + b).reshape(N, T, W.shape[1])
    return y, AffineCache(h, W)


def temporal_affine_backward(dy, cache: AffineCache):
    """Backward pass of ``temporal_affine_forward``.

    dy: (N, T, M). Returns dh: (N, T, H), dW: (H, M), db: (M,).
    """
    h, W = cache
    N, T, H = h.shape
    M = W.shape[1]
    dy = _check_dout("dy", dy, (N, T, M), h.dtype).reshape(N * T, M)
    return (dy @ W.T).reshape(N, T, H), h.reshape(N * T, H).T @ dy, dy.sum(axis=0)


def mse_loss(y, target, mask=None):
    """Mean squared error over the positions the mask keeps, and its gradient.

    y, target: (N, T, M) or (N, M); mask: y.shape[:-1] of 0/1 (None: every position counts).
        L = Σ mask ⊙ (y − target)² / (number of kept positions · M)
    so with mask=None this is ``torch.nn.MSELoss()`` (the mean over all entries).
    Returns (loss, dy) with dy = ∂L/∂y, zero at masked-out positions.
    """
    y = as_float_array("y", y)
    target = as_float_array("target", target, y.dtype)
    if target.shape != y.shape:
        raise ValueError(f"target must have the shape of y {y.shape}; got {target.shape}")
    if y.ndim < 2:
        raise ValueError(f"y must have shape (N, T, M) or (N, M); got {y.shape}")
    if mask is None:
        m = np.ones(y.shape[:-1], dtype=y.dtype)
    else:
        m = check_mask(mask, y.shape[:-1], y.dtype)
    count = m.sum() * y.shape[-1]
    diff = (y - target) * m[..., None]
    loss = float(np.sum(diff * diff) / count)
    return loss, (2 / count) * diff


def softmax_cross_entropy(logits, targets, mask=None):
    """Softmax cross-entropy averaged over the positions the mask keeps, and its gradient.

    logits: (N, T, V) or (N, V); targets: integer class indices of shape logits.shape[:-1];
    mask: same shape as targets, 0/1 (None: every position counts).
        L = −Σ mask · log softmax(logits)[target] / (number of kept positions)
    i.e. ``torch.nn.CrossEntropyLoss()`` with padded positions ignored.
    Returns (loss, dlogits).
    """
    logits = as_float_array("logits", logits)
    if logits.ndim < 2:
        raise ValueError(f"logits must have shape (N, T, V) or (N, V); got {logits.shape}")
    targets = np.asarray(targets)
    if targets.dtype.kind not in "iu":
        raise TypeError(f"targets must hold integer class indices; got dtype {targets.dtype}")
    if targets.shape != logits.shape[:-1]:
        raise ValueError(f"targets must have shape {logits.shape[:-1]} (logits without the class "
                         f"axis); got {targets.shape}")
    V = logits.shape[-1]
    if m_bad := np.count_nonzero((targets < 0) | (targets >= V)):
        raise ValueError(f"targets must lie in [0, V={V}); got {m_bad} indices outside it")
    if mask is None:
        m = np.ones(targets.shape, dtype=logits.dtype)
    else:
        m = check_mask(mask, targets.shape, logits.dtype)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    log_p = shifted - log_z
    picked = np.take_along_axis(log_p, targets[..., None], axis=-1)[..., 0]
    count = m.sum()
    loss = float(-(picked * m).sum() / count)
    dlogits = np.exp(log_p)
    np.put_along_axis(dlogits, targets[..., None],
                      np.take_along_axis(dlogits, targets[..., None], axis=-1) - 1, axis=-1)
    dlogits *= (m / count)[..., None]
    return loss, dlogits


from rnnlab.attention import (  # noqa: E402, F401
    additive_attention_backward,
    additive_attention_forward,
    dot_product_attention_backward,
    dot_product_attention_forward,
)
from rnnlab.embedding import embedding_backward, embedding_forward  # noqa: E402, F401
