"""The functional core: forward and backward passes of the vanilla RNN, LSTM and GRU, the output
layer and the losses.

Conventions (the contract every chapter, widget and assignment relies on):

* Batch-first shapes with named axes: N batch, T time, D input, H hidden, M outputs, V vocabulary.
* Row vectors: one step of the vanilla RNN is ``h_t = σ(x_t Wx + h_{t-1} Wh + b)`` with
  x_t: (N, D), Wx: (D, H), Wh: (H, H). In the book's column-vector notation this is
  ``h_t = σ(W_xh x_t + W_hh h_{t-1} + b_h)`` with ``W_xh = Wx.T`` and ``W_hh = Wh.T``.
* Every ``*_forward`` returns ``(out, cache)``; every ``*_backward(dout, cache)`` returns the
  gradients in the order of the forward's arguments, always the same number of them.
* A cache holds its own copies of what the backward pass needs: changing the arrays you passed
  in, or the arrays you got back, never changes a later backward pass.
* float64 by default; float32 is accepted and preserved. All arrays of one call share a dtype.

How to read this file: the *step* functions (``rnn_step_forward`` …) are the maths of one time
step, written plainly; that is what the chapters print. The *sequence* functions
(``rnn_forward`` …) compute the same thing for all T steps and are where the speed is, each trick
named as such where it is used: the RNN makes the input projection of all steps one matmul and
its weight gradients one matmul after the loop; the LSTM and GRU make one matmul a step with the
stacked weights [Wx; b; Wh] on [x_t, 1, h_{t−1}], in feature-major buffers so that every gate
block is contiguous (``_stacked_inputs_T``), and compute one exp pass for all sigmoid gates.
``tests/test_layers.py`` proves every sequence function equal to a loop over the step function;
``benchmarks/README.md`` has the measurements behind each trick.
"""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

import numpy as np

from rnnlab.activations import activation_fn, activation_grad, check_activation, sigmoid
from rnnlab.validation import (
    as_float_array,
    check_mask,
    check_nonempty_batch,
    check_sequence,
    check_shape,
)

# --------------------------------------------------------------------------------------------
# Argument checks, once at the public boundary (the loops below are free of checks)
# --------------------------------------------------------------------------------------------

_CELL_NAMES = {1: "a vanilla RNN", 3: "a GRU", 4: "an LSTM"}  # by number of gate blocks


def _check_weights(x: np.ndarray, h, Wx, Wh, gates: int, h_name: str):
    """Check Wx: (D, G·H), Wh: (H, G·H) and h: (N, H) against x: (N, [T,] D); returns them.

    H is what most of Wh, h and Wx agree on, so that the message blames the one that disagrees
    (an LSTM given a GRU's weights gets "Wh must have shape (H=…, 4*H=…)", not a wrong H).
    """
    G = gates
    Wx = as_float_array("Wx", Wx, x.dtype)
    Wh = as_float_array("Wh", Wh, x.dtype)
    h = as_float_array(h_name, h, x.dtype)
    check_shape("Wx", Wx, (None, None), f"D, {G}*H" if G > 1 else "D, H")
    check_shape("Wh", Wh, (None, None), f"H, {G}*H" if G > 1 else "H, H")
    check_shape(h_name, h, (None, None), "N, H")
    votes = [Wh.shape[0], h.shape[1]] + ([Wx.shape[1] // G] if Wx.shape[1] % G == 0 else [])
    H = Counter(votes).most_common(1)[0][0]
    axis = f"{G}*H" if G > 1 else "H"
    if Wh.shape != (H, G * H):
        hint = ""
        if Wh.shape[1] % Wh.shape[0] == 0 and Wh.shape[1] // Wh.shape[0] in _CELL_NAMES:
            k = Wh.shape[1] // Wh.shape[0]
            hint = (f" (that is the shape of the Wh of {_CELL_NAMES[k]}, with {k} gate block"
                    f"{'s' if k > 1 else ''}; {_CELL_NAMES[G]} needs {G})")
        raise ValueError(f"Wh must have shape (H={H}, {axis}={G * H}); got {Wh.shape}{hint}")
    check_shape("Wx", Wx, (x.shape[-1], G * H), f"D, {axis}")
    check_shape(h_name, h, (x.shape[0], H), "N, H")
    return Wx, Wh, h


def _check_step(x, h_prev, Wx, Wh, gates: int):
    x = as_float_array("x", x)
    check_shape("x", x, (None, None), "N, D")
    Wx, Wh, h_prev = _check_weights(x, h_prev, Wx, Wh, gates, "h_prev")
    return x, h_prev, Wx, Wh


def _check_sequence(x, h0, Wx, Wh, gates: int):
    x = check_sequence("x", x)
    h0_arr = np.asarray(h0)
    if h0_arr.ndim == 2 and h0_arr.shape[0] != x.shape[0] and h0_arr.shape[0] == x.shape[1]:
        # Either x is time-major or h0 has the wrong batch size: name both, x first.
        raise ValueError(f"x must be batch-first, (N, T, D) with N = {h0_arr.shape[0]} like h0, "
                         f"or h0 must have shape (N={x.shape[0]}, H); got x {x.shape} and h0 "
                         f"{h0_arr.shape}. If x is time-major (T, N, D), pass x.swapaxes(0, 1)")
    Wx, Wh, h0 = _check_weights(x, h0, Wx, Wh, gates, "h0")
    return x, h0, Wx, Wh


def _check_bias(name: str, b, H: int, dtype, gates: int = 1) -> np.ndarray:
    b = as_float_array(name, b, dtype)
    check_shape(name, b, (gates * H,), f"{gates}*H" if gates > 1 else "H")
    return b


def _check_dout(name: str, dout, shape, dtype) -> np.ndarray:
    dout = as_float_array(name, dout, dtype)
    if dout.shape != tuple(shape):
        raise ValueError(f"{name} must have the shape of the forward output {tuple(shape)}; "
                         f"got {dout.shape}")
    return dout


def _check_cache(cache, kind: type, forward: str) -> None:
    if not isinstance(cache, kind):
        raise TypeError(f"cache must be the {kind.__name__} returned by {forward}; got "
                        f"{type(cache).__name__}")


def _time_major(a: np.ndarray) -> np.ndarray:
    """(N, T, ...) -> (T, N, ...) as a contiguous *copy*, so that a[t] is one contiguous block.

    Always a copy: the caches must not alias the caller's arrays, and the backward passes
    overwrite these buffers in place. The swap is its own inverse (see ``_batch_major``).
    """
    return np.array(a.swapaxes(0, 1), order="C", copy=True)


def _batch_major(a: np.ndarray) -> np.ndarray:
    """(T, N, ...) -> (N, T, ...) as a contiguous copy: the caller may modify it freely."""
    return _time_major(a)


def _sum_over_time(xs: np.ndarray, h0: np.ndarray, hs: np.ndarray, dxa: np.ndarray,
                   dha: np.ndarray, Wx: np.ndarray):
    """The gradients that sum over time, each one matmul over all T·N rows at once.

    xs: (T, N, D) inputs; h0: (N, H); hs: (T, N, H) states h_1 … h_T;
    dxa: (T, N, G·H) gradient of the input-side pre-activations x_t Wx (+ bias);
    dha: (T, N, G·H) gradient of the recurrent pre-activations h_{t−1} Wh (+ bias) — the same
    array as dxa for the RNN and the LSTM.
    Returns dx: (N, T, D), dWx = Σ_t x_tᵀ dxa_t, dWh = Σ_t h_{t−1}ᵀ dha_t.
    """
    T, N, D = xs.shape
    H, GH = h0.shape[1], dxa.shape[2]
    dxa2 = dxa.reshape(T * N, GH)
    dWx = xs.reshape(T * N, D).T @ dxa2
    # h_{t−1} is h0 at t = 1 and hs[t − 2] after it: two matmuls instead of a concatenated copy
    dWh = h0.T @ dha[0] + hs[:-1].reshape((T - 1) * N, H).T @ dha[1:].reshape((T - 1) * N, GH)
    dx = (dxa2 @ Wx.T).reshape(T, N, D).swapaxes(0, 1)
    return dx, dWx, dWh


# --------------------------------------------------------------------------------------------
# Vanilla RNN (Elman 1990). Chapters 2 and 3.
# --------------------------------------------------------------------------------------------


class RNNStepCache(NamedTuple):
    x: np.ndarray  # (N, D)
    h_prev: np.ndarray  # (N, H)
    Wx: np.ndarray  # (D, H)
    Wh: np.ndarray  # (H, H)
    h: np.ndarray  # (N, H)
    activation: str


def rnn_step_forward(x, h_prev, Wx, Wh, b, activation: str = "tanh"):
    """One time step of a vanilla (Elman) RNN: h = σ(x Wx + h_prev Wh + b). Chapter 2.

    x:      (N, D) input at this step
    h_prev: (N, H) previous hidden state
    Wx:     (D, H) input-to-hidden weights
    Wh:     (H, H) hidden-to-hidden weights
    b:      (H,)   bias
    activation: "tanh" (default), "relu", "linear" or "sigmoid"
    Returns h: (N, H) and the cache for ``rnn_step_backward``.
    """
    x, h_prev, Wx, Wh = _check_step(x, h_prev, Wx, Wh, gates=1)
    b = _check_bias("b", b, Wh.shape[0], x.dtype)
    check_activation(activation)
    # h_t = σ(x_t Wx + h_{t-1} Wh + b)
    h = activation_fn(activation)(x @ Wx + h_prev @ Wh + b)
    # The cache keeps copies: the caller may reuse x or update the weights before backward.
    cache = RNNStepCache(x.copy(), h_prev.copy(), Wx.copy(), Wh.copy(), h, activation)
    return h.copy(), cache


def rnn_step_backward(dh, cache: RNNStepCache):
    """Backward pass of ``rnn_step_forward``. Chapter 3.

    dh:    (N, H) upstream gradient ∂L/∂h_t (total: from the output at t and from step t+1)
    cache: the RNNStepCache from rnn_step_forward
    Returns dx: (N, D), dh_prev: (N, H), dWx: (D, H), dWh: (H, H), db: (H,).
    """
    _check_cache(cache, RNNStepCache, "rnn_step_forward")
    x, h_prev, Wx, Wh, h, activation = cache
    dh = _check_dout("dh", dh, h.shape, h.dtype)
    da = dh * activation_grad(activation)(h)  # ∂L/∂a_t, a_t the pre-activation
    return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)


class RNNCache(NamedTuple):
    x: np.ndarray  # (T, N, D) time-major copy of the input
    h0: np.ndarray  # (N, H)
    Wx: np.ndarray  # (D, H)
    Wh: np.ndarray  # (H, H)
    h: np.ndarray  # (T, N, H) time-major hidden states h_1 … h_T
    activation: str


def rnn_forward(x, h0, Wx, Wh, b, activation: str = "tanh"):
    """Run a vanilla RNN over a whole sequence. Chapter 2.

    x:  (N, T, D) inputs
    h0: (N, H) initial hidden state
    Wx: (D, H) input-to-hidden weights
    Wh: (H, H) hidden-to-hidden weights
    b:  (H,) bias
    activation: "tanh" (default), "relu", "linear" or "sigmoid"
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
    return _batch_major(hs), RNNCache(xs, h0.copy(), Wx.copy(), Wh.copy(), hs, activation)


def rnn_backward(dh, cache: RNNCache):
    """Backpropagation through time for ``rnn_forward``. Chapter 3.

    dh:    (N, T, H) upstream gradients ∂L/∂h_t from the outputs at every step (immediate, not
           yet including the path through later steps, which this function adds)
    cache: the RNNCache from rnn_forward
    Returns dx: (N, T, D), dh0: (N, H), dWx: (D, H), dWh: (H, H), db: (H,).
    """
    _check_cache(cache, RNNCache, "rnn_forward")
    xs, h0, Wx, Wh, hs, activation = cache
    T, N, H = hs.shape
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
    dh0 = carry  # what flows out of step 1 is ∂L/∂h_0
    dx, dWx, dWh = _sum_over_time(xs, h0, hs, da, da, Wx)
    return dx, dh0, dWx, dWh, da.sum(axis=(0, 1))


# --------------------------------------------------------------------------------------------
# LSTM (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000). Chapter 5.
# --------------------------------------------------------------------------------------------


class LSTMStepCache(NamedTuple):
    x: np.ndarray  # (N, D)
    h_prev: np.ndarray  # (N, H)
    c_prev: np.ndarray  # (N, H)
    Wx: np.ndarray  # (D, 4H)
    Wh: np.ndarray  # (H, 4H)
    gates: np.ndarray  # (N, 4H): i, f, g, o after their nonlinearities
    c: np.ndarray  # (N, H)
    tanh_c: np.ndarray  # (N, H)


def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    """One time step of an LSTM, gate order i, f, g, o (PyTorch's). Chapter 5.

    x:      (N, D) input at this step
    h_prev: (N, H) previous hidden state
    c_prev: (N, H) previous cell state
    Wx:     (D, 4H) input weights of the four gates
    Wh:     (H, 4H) recurrent weights of the four gates
    b:      (4H,) biases of the four gates
        i = σ(a_i), f = σ(a_f), g = tanh(a_g), o = σ(a_o) with a = x Wx + h_prev Wh + b
        c = f ⊙ c_prev + i ⊙ g,   h = o ⊙ tanh(c)
    Returns ((h, c), cache) with h, c: (N, H).
    """
    x, h_prev, Wx, Wh = _check_step(x, h_prev, Wx, Wh, gates=4)
    H = Wh.shape[0]
    b = _check_bias("b", b, H, x.dtype, gates=4)
    c_prev = as_float_array("c_prev", c_prev, x.dtype)
    check_shape("c_prev", c_prev, h_prev.shape, "N, H")
    a = x @ Wx + h_prev @ Wh + b  # (N, 4H): the pre-activations of all four gates
    i = sigmoid(a[:, :H])  # input gate: how much of g to write
    f = sigmoid(a[:, H:2 * H])  # forget gate: how much of c_prev to keep
    g = np.tanh(a[:, 2 * H:3 * H])  # candidate values
    o = sigmoid(a[:, 3 * H:])  # output gate: how much of the cell to show
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c
    gates = np.concatenate([i, f, g, o], axis=1)
    cache = LSTMStepCache(x.copy(), h_prev.copy(), c_prev.copy(), Wx.copy(), Wh.copy(), gates,
                          c.copy(), tanh_c)
    return (h, c), cache


def lstm_step_backward(dout, cache: LSTMStepCache):
    """Backward pass of ``lstm_step_forward``. Chapter 5.

    dout:  (dh, dc), each (N, H): the total upstream gradients of h and c (dc may be None: zero)
    cache: the LSTMStepCache from lstm_step_forward
    Returns dx: (N, D), dh_prev: (N, H), dc_prev: (N, H), dWx: (D, 4H), dWh: (H, 4H), db: (4H,).
    """
    _check_cache(cache, LSTMStepCache, "lstm_step_forward")
    x, h_prev, c_prev, Wx, Wh, gates, c, tanh_c = cache
    dh, dc = _unpack_pair("dout", dout)
    dh = _check_dout("dh", dh, c.shape, c.dtype)
    dc = np.zeros_like(c) if dc is None else _check_dout("dc", dc, c.shape, c.dtype)
    H = c.shape[1]
    i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    dc = dc + dh * o * (1 - tanh_c ** 2)  # c_t reaches the loss directly and through h_t
    da_i = dc * g * i * (1 - i)  # σ'(a) = σ (1 − σ)
    da_f = dc * c_prev * f * (1 - f)
    da_g = dc * i * (1 - g ** 2)  # tanh'(a) = 1 − tanh²
    da_o = dh * tanh_c * o * (1 - o)
    da = np.concatenate([da_i, da_f, da_g, da_o], axis=1)  # (N, 4H), gate order i, f, g, o
    dc_prev = dc * f  # ∂c_t/∂c_{t−1} = diag(f_t): the additive path
    return da @ Wx.T, da @ Wh.T, dc_prev, x.T @ da, h_prev.T @ da, da.sum(axis=0)


# Chapter 5 of rnnlab 1.x printed the backward step under this name; it now shows the plain maths.
_lstm_step_back = lstm_step_backward


def _unpack_pair(name: str, dout):
    if not isinstance(dout, tuple | list) or len(dout) != 2:
        raise TypeError(f"{name} must be a pair (dh, dc) of (N, H) arrays; "
                        f"got {type(dout).__name__}")
    return dout


class LSTMCache(NamedTuple):
    x: np.ndarray  # (T, N, D) copy of the input, time-major (a view of xhT)
    h0: np.ndarray  # (N, H) (a view of xhT)
    c0: np.ndarray  # (N, H), zeros when lstm_forward was given none
    Wx: np.ndarray  # (D, 4H)
    Wh: np.ndarray  # (H, 4H)
    gates: np.ndarray  # (T, N, 4H): i, f, g, o after their nonlinearities
    c: np.ndarray  # (T, N, H) cell states c_1 … c_T
    tanh_c: np.ndarray  # (T, N, H)
    h: np.ndarray  # (T, N, H) hidden states h_1 … h_T (a view of xhT)
    xhT: np.ndarray  # (T+1, D+1+H, N): xhT[t] = [x_t, 1, h_{t−1}]ᵀ (xhT[T] = [0, 1, h_T]ᵀ)


def _exp_sigmoid_scale(H: int, dtype) -> np.ndarray:
    """Column scale (4H,) that turns the LSTM pre-activations a into −a (i, f, o) and −2a (g).

    Speed only (used by lstm_forward): with the weights scaled by it, one pass of
    1 / (1 + exp(·)) over all 4H columns gives σ(a) for i, f, o and σ(2a) for g, and
    tanh(a) = 2σ(2a) − 1. One exp pass replaces three σ and one tanh call per step (NumPy's tanh
    is about twice as slow as its exp in float64), and the sign and the factor 2 are applied to
    the small weight matrices once instead of to the activations at every step.
    """
    scale = np.full(4 * H, -1.0, dtype=dtype)
    scale[2 * H:3 * H] = -2.0
    return scale


def _stacked_inputs_T(x: np.ndarray, h0: np.ndarray) -> np.ndarray:
    """Speed only: the feature-major buffer xhT, (T+1, D+1+H, N), with xhT[t] = [x_t, 1, h_{t−1}]ᵀ.

    x:  (N, T, D) inputs (batch-first, as the caller passed them); copied
    h0: (N, H) initial state, stored in xhT[0]; the caller's loop writes h_tᵀ into xhT[t+1]
    Why feature-major (features × batch) inside the fast paths: one step's gate pre-activations
    come out of one matmul as Wᵀ xhT[t], (G·H, N), in which every gate block is one contiguous
    (H, N) slab, so that the element-wise work of a step runs over contiguous arrays (NumPy is
    about 3× slower on the strided (N, H) column blocks of an (N, G·H) array). With the stacked
    weights [Wx; b; Wh] that one matmul is x_t Wx + b + h_{t−1} Wh, and in the backward pass one
    product per step with [x_t, 1, h_{t−1}] gives that step's share of dWx, db and dWh at once.
    """
    N, T, D = x.shape
    xhT = np.empty((T + 1, D + 1 + h0.shape[1], N), dtype=x.dtype)
    xhT[:T, :D] = x.transpose(1, 2, 0)
    xhT[T, :D] = 0  # xhT[T] holds only h_T
    xhT[:, D] = 1
    xhT[0, D + 1:] = h0.T
    return xhT


def lstm_forward(x, h0, Wx, Wh, b, c0=None):
    """Run an LSTM over a whole sequence (gate order i, f, g, o). Chapter 5.

    x:  (N, T, D) inputs
    h0: (N, H) initial hidden state
    Wx: (D, 4H) input weights of the four gates
    Wh: (H, 4H) recurrent weights of the four gates
    b:  (4H,) biases of the four gates
    c0: (N, H) initial cell state, or None for zeros
    Returns h: (N, T, H) and the cache for ``lstm_backward``. The cell states are in
    ``cache.c`` (time-major, (T, N, H)); ``final_state(cache)`` gives the last (h, c).
    """
    x, h0, Wx, Wh = _check_sequence(x, h0, Wx, Wh, gates=4)
    H = Wh.shape[0]
    b = _check_bias("b", b, H, x.dtype, gates=4)
    if c0 is None:
        c0 = np.zeros_like(h0)
    else:
        c0 = as_float_array("c0", c0, x.dtype).copy()
        check_shape("c0", c0, h0.shape, "N, H")
    N, T, D = x.shape
    # Speed: everything below is feature-major, (features, N) per step (see _stacked_inputs_T),
    # and the weights [Wx; b; Wh] are scaled so that the one matmul per step gives −a (i, f, o)
    # and −2a (g), and one exp pass gives every gate (see _exp_sigmoid_scale).
    xhT = _stacked_inputs_T(x, h0)
    W = np.concatenate([Wx, b[None], Wh]) * _exp_sigmoid_scale(H, x.dtype)
    WT = np.ascontiguousarray(W.T)
    gatesT = np.empty((T, 4 * H, N), dtype=x.dtype)
    cT, tanh_cT = np.empty((T, H, N), dtype=x.dtype), np.empty((T, H, N), dtype=x.dtype)
    ig = np.empty((H, N), dtype=x.dtype)
    c = np.ascontiguousarray(c0.T)
    out = np.empty((N, T, H), dtype=x.dtype)  # h_t, batch-first, copied from xhT step by step
    with np.errstate(over="ignore"):  # exp(large) = inf gives σ = 1/(1 + inf) = 0 exactly
        for t in range(T):
            a = np.matmul(WT, xhT[t], out=gatesT[t])
            np.exp(a, out=a)
            a += 1
            np.reciprocal(a, out=a)  # σ(a_i), σ(a_f), σ(2 a_g), σ(a_o)
            i, f, g, o = a[:H], a[H:2 * H], a[2 * H:3 * H], a[3 * H:]
            g *= 2
            g -= 1  # g = tanh(a_g) = 2σ(2a_g) − 1
            # c_t = f ⊙ c_{t-1} + i ⊙ g ;  h_t = o ⊙ tanh(c_t), written into xhT[t+1]
            c = np.multiply(f, c, out=cT[t])
            c += np.multiply(i, g, out=ig)
            np.tanh(c, out=tanh_cT[t])
            h = np.multiply(o, tanh_cT[t], out=xhT[t + 1, D + 1:])
            out[:, t] = h.T  # while h_t is in the cache (a transposing copy of all T is slower)
    hT = xhT[1:, D + 1:]
    # The cache's (T, N, ·) arrays are transposed views of the feature-major buffers.
    cache = LSTMCache(xhT[:T, :D].transpose(0, 2, 1), xhT[0, D + 1:].T, c0, Wx.copy(), Wh.copy(),
                      gatesT.transpose(0, 2, 1), cT.transpose(0, 2, 1),
                      tanh_cT.transpose(0, 2, 1), hT.transpose(0, 2, 1), xhT)
    return out, cache


def lstm_backward(dh, cache: LSTMCache):
    """Backpropagation through time for ``lstm_forward``. Chapter 5.

    dh:    (N, T, H) upstream gradients of the hidden states from the outputs
    cache: the LSTMCache from lstm_forward
    Returns dx: (N, T, D), dh0: (N, H), dWx: (D, 4H), dWh: (H, 4H), db: (4H,), dc0: (N, H) —
    always six values; dc0 is ∂L/∂c0 also when lstm_forward was given no c0 (then c0 = 0).
    """
    _check_cache(cache, LSTMCache, "lstm_forward")
    xs, h0, c0, Wx, Wh, gates, cs, tanh_cs, hs, xhT = cache
    T, N, H = hs.shape
    D = xs.shape[2]
    dh = _check_dout("dh", dh, (N, T, H), hs.dtype)
    dtype = hs.dtype
    # Speed: feature-major like lstm_forward (these transposes are its contiguous buffers).
    gatesT, cT, tanh_cT = (a.transpose(0, 2, 1) for a in (gates, cs, tanh_cs))
    dhT = np.ascontiguousarray(dh.transpose(1, 2, 0))  # (T, H, N), a copy: dh is not changed
    W = np.concatenate([Wx, np.zeros((1, 4 * H), dtype=dtype), Wh])  # [Wx; 0; Wh]: (D+1+H, 4H)
    daT = np.empty((4 * H, N), dtype=dtype)  # ∂L/∂a_tᵀ, gate order i, f, g, o
    dxhT = np.empty((D + 1 + H, N), dtype=dtype)  # W daT = [dx_t, ·, ∂L/∂h_{t−1} via step t]ᵀ
    dxT = np.empty((T, D, N), dtype=dtype)
    dWT, dWT_t = np.zeros((4 * H, D + 1 + H), dtype=dtype), np.empty((4 * H, D + 1 + H), dtype)
    d, dct, sig_grad = (np.empty((H, N), dtype=dtype) for _ in range(3))
    if_grad = np.empty((2 * H, N), dtype=dtype)
    dh_next = np.zeros((H, N), dtype=dtype)  # ∂L/∂h_t through step t+1
    dc = np.zeros((H, N), dtype=dtype)  # ∂L/∂c_t through step t+1
    # The maths of lstm_step_backward with in-place products (the LSTM's hot loop).
    for t in range(T - 1, -1, -1):
        np.add(dhT[t], dh_next, out=d)  # total ∂L/∂h_t
        gt, tanh_c = gatesT[t], tanh_cT[t]
        i, f, g, o = gt[:H], gt[H:2 * H], gt[2 * H:3 * H], gt[3 * H:]
        di, df, dg, do = daT[:H], daT[H:2 * H], daT[2 * H:3 * H], daT[3 * H:]
        # do = d ⊙ tanh(c_t) ⊙ o(1 − o)
        np.subtract(1, o, out=sig_grad)
        sig_grad *= o
        np.multiply(d, tanh_c, out=do)
        do *= sig_grad
        # dct = total ∂L/∂c_t = dc + d ⊙ o ⊙ (1 − tanh²(c_t))
        np.multiply(tanh_c, tanh_c, out=dct)
        np.subtract(1, dct, out=dct)
        dct *= o
        dct *= d
        dct += dc
        # di = dct ⊙ g ⊙ i(1 − i),  df = dct ⊙ c_{t−1} ⊙ f(1 − f): i and f side by side
        np.subtract(1, gt[:2 * H], out=if_grad)
        if_grad *= gt[:2 * H]
        np.multiply(dct, g, out=di)
        np.multiply(dct, cT[t - 1] if t > 0 else c0.T, out=df)
        daT[:2 * H] *= if_grad
        # dg = dct ⊙ i ⊙ (1 − g²)
        np.multiply(g, g, out=dg)
        np.subtract(1, dg, out=dg)
        dg *= dct
        dg *= i
        np.multiply(dct, f, out=dc)  # ∂L/∂c_{t−1} = dct ⊙ f: the additive path
        np.matmul(W, daT, out=dxhT)
        dxT[t] = dxhT[:D]
        dh_next = dxhT[D + 1:]
        # this step's share of [dWx; db; dWh]ᵀ: da_tᵀ [x_t, 1, h_{t−1}]
        dWT += np.matmul(daT, xhT[t].T, out=dWT_t)
    dW = dWT.T
    return (np.ascontiguousarray(dxT.transpose(2, 0, 1)), np.ascontiguousarray(dh_next.T),
            np.ascontiguousarray(dW[:D]), np.ascontiguousarray(dW[D + 1:]), dW[D].copy(),
            np.ascontiguousarray(dc.T))


# --------------------------------------------------------------------------------------------
# GRU (Cho et al. 2014), in the formulation of torch.nn.GRU / cuDNN. Chapter 5.
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
    x: np.ndarray  # (N, D)
    h_prev: np.ndarray  # (N, H)
    Wx: np.ndarray  # (D, 3H)
    Wh: np.ndarray  # (H, 3H)
    r: np.ndarray  # (N, H) reset gate
    z: np.ndarray  # (N, H) update gate
    n: np.ndarray  # (N, H) candidate state
    hn: np.ndarray  # (N, H) h_prev Wh_n + bh_n, the recurrent part of n before the reset gate


def gru_step_forward(x, h_prev, Wx, Wh, bx, bh):
    """One time step of a GRU in torch.nn.GRU's formulation, gate order r, z, n. Chapter 5.

    x:      (N, D) input at this step
    h_prev: (N, H) previous hidden state
    Wx:     (D, 3H) input weights of r, z, n
    Wh:     (H, 3H) recurrent weights of r, z, n
    bx:     (3H,) input-side biases
    bh:     (3H,) recurrent-side biases
    Returns h: (N, H) and the cache for ``gru_step_backward``.
    """
    x, h_prev, Wx, Wh = _check_step(x, h_prev, Wx, Wh, gates=3)
    H = Wh.shape[0]
    bx = _check_bias("bx", bx, H, x.dtype, gates=3)
    bh = _check_bias("bh", bh, H, x.dtype, gates=3)
    xa = x @ Wx + bx  # (N, 3H) input side of r, z, n
    ha = h_prev @ Wh + bh  # (N, 3H) recurrent side of r, z, n
    r = sigmoid(xa[:, :H] + ha[:, :H])
    z = sigmoid(xa[:, H:2 * H] + ha[:, H:2 * H])
    hn = ha[:, 2 * H:]
    n = np.tanh(xa[:, 2 * H:] + r * hn)
    h = (1 - z) * n + z * h_prev
    cache = GRUStepCache(x.copy(), h_prev.copy(), Wx.copy(), Wh.copy(), r, z, n, hn)
    return h, cache


def gru_step_backward(dh, cache: GRUStepCache):
    """Backward pass of ``gru_step_forward``. Chapter 5.

    dh:    (N, H) total upstream gradient ∂L/∂h_t
    cache: the GRUStepCache from gru_step_forward
    Returns dx: (N, D), dh_prev: (N, H), dWx: (D, 3H), dWh: (H, 3H), dbx: (3H,), dbh: (3H,).
    """
    _check_cache(cache, GRUStepCache, "gru_step_forward")
    x, h_prev, Wx, Wh, r, z, n, hn = cache
    dh = _check_dout("dh", dh, h_prev.shape, h_prev.dtype)
    dn = dh * (1 - z)
    dz = dh * (h_prev - n)
    dan = dn * (1 - n ** 2)  # ∂L/∂(pre-activation of n)
    dar = dan * hn * r * (1 - r)
    daz = dz * z * (1 - z)
    dxa = np.concatenate([dar, daz, dan], axis=1)  # ∂L/∂(x Wx + bx), order r, z, n
    dha = np.concatenate([dar, daz, dan * r], axis=1)  # ∂L/∂(h_prev Wh + bh): n passes r
    dh_prev = dh * z + dha @ Wh.T
    return dxa @ Wx.T, dh_prev, x.T @ dxa, h_prev.T @ dha, dxa.sum(axis=0), dha.sum(axis=0)


class GRUCache(NamedTuple):
    x: np.ndarray  # (T, N, D) copy of the input, time-major (a view of xhT)
    h0: np.ndarray  # (N, H) (a view of xhT)
    Wx: np.ndarray  # (D, 3H)
    Wh: np.ndarray  # (H, 3H)
    r: np.ndarray  # (T, N, H)
    z: np.ndarray  # (T, N, H)
    n: np.ndarray  # (T, N, H)
    hn: np.ndarray  # (T, N, H)
    h: np.ndarray  # (T, N, H) hidden states h_1 … h_T (a view of xhT)
    xhT: np.ndarray  # (T+1, D+1+H, N): xhT[t] = [x_t, 1, h_{t−1}]ᵀ (xhT[T] = [0, 1, h_T]ᵀ)


def _gru_stacked_weights(Wx, Wh, bx, bh, sign: float = 1.0) -> np.ndarray:
    """Speed only: the (D+1+H, 4H) weights of gru_forward's one matmul per step.

    Its 4H columns are [x-side of n | r | z | h-side of n]:
        [x_t, 1, h_{t−1}] @ [[Wx_n, Wx_rz,         0   ],
                             [bx_n, bx_rz + bh_rz, bh_n],
                             [0,    Wh_rz,         Wh_n]]
    sign multiplies the r and z columns (−1 in the forward pass, for σ(a) = 1 / (1 + exp(−a))).
    """
    D, H = Wx.shape[0], Wh.shape[0]
    W = np.zeros((D + 1 + H, 4 * H), dtype=Wx.dtype)
    W[:D, :H], W[:D, H:3 * H] = Wx[:, 2 * H:], sign * Wx[:, :2 * H]
    W[D, :H], W[D, H:3 * H], W[D, 3 * H:] = bx[2 * H:], sign * (bx[:2 * H] + bh[:2 * H]), bh[2 * H:]
    W[D + 1:, H:3 * H], W[D + 1:, 3 * H:] = sign * Wh[:, :2 * H], Wh[:, 2 * H:]
    return W


def gru_forward(x, h0, Wx, Wh, bx, bh):
    """Run a GRU (torch.nn.GRU formulation, gate order r, z, n) over a whole sequence. Chapter 5.

    x:  (N, T, D) inputs
    h0: (N, H) initial hidden state
    Wx: (D, 3H) input weights of r, z, n
    Wh: (H, 3H) recurrent weights of r, z, n
    bx: (3H,) input-side biases
    bh: (3H,) recurrent-side biases
    Returns h: (N, T, H) and the cache for ``gru_backward``.
    """
    x, h0, Wx, Wh = _check_sequence(x, h0, Wx, Wh, gates=3)
    H = Wh.shape[0]
    bx = _check_bias("bx", bx, H, x.dtype, gates=3)
    bh = _check_bias("bh", bh, H, x.dtype, gates=3)
    N, T, D = x.shape
    # Speed: feature-major (see _stacked_inputs_T), one matmul per step with the stacked weights
    # of _gru_stacked_weights, r and z columns negated so that one exp pass gives σ.
    xhT = _stacked_inputs_T(x, h0)
    WT = np.ascontiguousarray(_gru_stacked_weights(Wx, Wh, bx, bh, sign=-1.0).T)
    actsT = np.empty((T, 4 * H, N), dtype=x.dtype)  # becomes [n | r | z | hn]ᵀ for every step
    r_hn = np.empty((H, N), dtype=x.dtype)
    out = np.empty((N, T, H), dtype=x.dtype)  # h_t, batch-first, copied from xhT step by step
    with np.errstate(over="ignore"):  # exp(large) = inf gives σ = 0 exactly
        for t in range(T):
            a = np.matmul(WT, xhT[t], out=actsT[t])
            rz = a[H:3 * H]
            np.exp(rz, out=rz)
            rz += 1
            np.reciprocal(rz, out=rz)  # r, z
            n, r, z, hn = a[:H], a[H:2 * H], a[2 * H:3 * H], a[3 * H:]
            # n = tanh(x Wx_n + bx_n + r ⊙ (h_{t−1} Wh_n + bh_n))
            n += np.multiply(r, hn, out=r_hn)
            np.tanh(n, out=n)
            # h_t = (1 − z) ⊙ n + z ⊙ h_{t−1} = n + z ⊙ (h_{t−1} − n), written into xhT[t+1]
            h = np.subtract(xhT[t, D + 1:], n, out=xhT[t + 1, D + 1:])
            h *= z
            h += n
            out[:, t] = h.T
    n, r, z, hn = (actsT[:, k * H:(k + 1) * H].transpose(0, 2, 1) for k in range(4))
    cache = GRUCache(xhT[:T, :D].transpose(0, 2, 1), xhT[0, D + 1:].T, Wx.copy(), Wh.copy(),
                     r, z, n, hn, xhT[1:, D + 1:].transpose(0, 2, 1), xhT)
    return out, cache


def gru_backward(dh, cache: GRUCache):
    """Backpropagation through time for ``gru_forward``. Chapter 5.

    dh:    (N, T, H) upstream gradients of the hidden states from the outputs
    cache: the GRUCache from gru_forward
    Returns dx: (N, T, D), dh0: (N, H), dWx: (D, 3H), dWh: (H, 3H), dbx: (3H,), dbh: (3H,).
    """
    _check_cache(cache, GRUCache, "gru_forward")
    xs, h0, Wx, Wh, rs, zs, ns, hns, hs, xhT = cache
    T, N, H = hs.shape
    D = xs.shape[2]
    dh = _check_dout("dh", dh, (N, T, H), hs.dtype)
    dtype = hs.dtype
    # Speed: feature-major like gru_forward (these transposes are its contiguous buffers).
    rT, zT, nT, hnT = (a.transpose(0, 2, 1) for a in (rs, zs, ns, hns))
    dhT = np.ascontiguousarray(dh.transpose(1, 2, 0))  # (T, H, N), a copy: dh is not changed
    zero = np.zeros(3 * H, dtype=dtype)
    W = _gru_stacked_weights(Wx, Wh, zero, zero)  # its bias row is not needed here
    # ∂L/∂ of the forward's matmul output, rows [x-side of n | r | z | h-side of n]
    daT = np.empty((4 * H, N), dtype=dtype)
    dxhT = np.empty((D + 1 + H, N), dtype=dtype)  # W daT = [dx_t, ·, ∂L/∂h_{t−1} via Wh]ᵀ
    dxT = np.empty((T, D, N), dtype=dtype)
    dWT, dWT_t = np.zeros((4 * H, D + 1 + H), dtype=dtype), np.empty((4 * H, D + 1 + H), dtype)
    d, one_minus = np.empty((H, N), dtype=dtype), np.empty((H, N), dtype=dtype)
    dh_next = np.zeros((H, N), dtype=dtype)  # ∂L/∂h_t through step t+1
    dan, dar, daz, dahn = daT[:H], daT[H:2 * H], daT[2 * H:3 * H], daT[3 * H:]
    # The maths of gru_step_backward with in-place products (the GRU's hot loop).
    for t in range(T - 1, -1, -1):
        np.add(dhT[t], dh_next, out=d)  # total ∂L/∂h_t
        r, z, n, hn = rT[t], zT[t], nT[t], hnT[t]
        # dan = d ⊙ (1 − z) ⊙ (1 − n²)
        np.multiply(n, n, out=dan)
        np.subtract(1, dan, out=dan)
        dan *= d
        np.subtract(1, z, out=one_minus)
        dan *= one_minus
        # daz = d ⊙ (h_{t−1} − n) ⊙ z(1 − z)
        np.subtract(xhT[t, D + 1:], n, out=daz)
        daz *= d
        daz *= z
        daz *= one_minus
        # dar = dan ⊙ hn ⊙ r(1 − r)
        np.multiply(dan, hn, out=dar)
        dar *= r
        np.subtract(1, r, out=one_minus)
        dar *= one_minus
        np.multiply(dan, r, out=dahn)  # the recurrent n-part passes the reset gate
        # ∂L/∂h_{t−1} = d ⊙ z (the direct path) + Wh [dar, daz, dahn]ᵀ; dx_t = Wx [dar, daz, dan]ᵀ
        np.matmul(W, daT, out=dxhT)
        dxT[t] = dxhT[:D]
        dh_next = dxhT[D + 1:]
        dh_next += np.multiply(d, z, out=one_minus)
        # this step's share of the stacked weights' gradient: da_tᵀ [x_t, 1, h_{t−1}]
        dWT += np.matmul(daT, xhT[t].T, out=dWT_t)
    dW = dWT.T  # (D+1+H, 4H), columns [n_x | r | z | hn]; bx_rz and bh_rz get the same gradient
    dWx = np.concatenate([dW[:D, H:3 * H], dW[:D, :H]], axis=1)
    dbx = np.concatenate([dW[D, H:3 * H], dW[D, :H]])
    return (np.ascontiguousarray(dxT.transpose(2, 0, 1)), np.ascontiguousarray(dh_next.T), dWx,
            np.ascontiguousarray(dW[D + 1:, H:]), dbx, dW[D, H:].copy())


def final_state(cache):
    """The last state of a sequence cache: h_T (N, H), or (h_T, c_T) for an LSTM. Chapter 3.

    cache: the cache from rnn_forward, lstm_forward or gru_forward
    Truncated BPTT carries this into the next chunk as a plain value (no gradient flows back).
    """
    if isinstance(cache, LSTMCache):
        return cache.h[-1].copy(), cache.c[-1].copy()
    if isinstance(cache, RNNCache | GRUCache):
        return cache.h[-1].copy()
    raise TypeError(f"cache must come from rnn_forward, lstm_forward or gru_forward; "
                    f"got {type(cache).__name__}")


# --------------------------------------------------------------------------------------------
# Output layer and losses. Chapter 2.
# --------------------------------------------------------------------------------------------


class AffineCache(NamedTuple):
    h: np.ndarray  # (N, T, H)
    W: np.ndarray  # (H, M)


def temporal_affine_forward(h, W, b):
    """The output layer applied at every time step: y_t = h_t W + b. Chapter 3.

    h: (N, T, H) hidden states
    W: (H, M) output weights
    b: (M,) output bias
    Returns y: (N, T, M) and the cache for ``temporal_affine_backward``.
    """
    h = as_float_array("h", h)
    check_shape("h", h, (None, None, None), "N, T, H")
    W = as_float_array("W", W, h.dtype)
    check_shape("W", W, (h.shape[2], None), "H, M")
    b = as_float_array("b", b, h.dtype)
    check_shape("b", b, (W.shape[1],), "M")
    N, T, H = h.shape
    y = (h.reshape(N * T, H) @ W + b).reshape(N, T, W.shape[1])
    return y, AffineCache(h.copy(), W.copy())


def temporal_affine_backward(dy, cache: AffineCache):
    """Backward pass of ``temporal_affine_forward``. Chapter 3.

    dy:    (N, T, M) upstream gradient
    cache: the AffineCache from temporal_affine_forward
    Returns dh: (N, T, H), dW: (H, M), db: (M,).
    """
    _check_cache(cache, AffineCache, "temporal_affine_forward")
    h, W = cache
    N, T, H = h.shape
    M = W.shape[1]
    dy = _check_dout("dy", dy, (N, T, M), h.dtype).reshape(N * T, M)
    return (dy @ W.T).reshape(N, T, H), h.reshape(N * T, H).T @ dy, dy.sum(axis=0)


def mse_loss(y, target, mask=None):
    """Mean squared error over the positions the mask keeps, and its gradient. Chapter 2.

    y:      (N, T, M) or (N, M) predictions
    target: the shape of y
    mask:   y.shape[:-1] of 0/1, or None: every position counts
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
    check_nonempty_batch("y", y)
    if y.shape[-1] == 0:
        raise ValueError(f"y must have at least one output (M >= 1); got shape {y.shape}")
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
    Chapter 6.

    logits:  (N, T, V) or (N, V) unnormalised log-probabilities
    targets: logits.shape[:-1] integer class indices in [0, V)
    mask:    the shape of targets, 0/1, or None: every position counts
        L = −Σ mask · log softmax(logits)[target] / (number of kept positions)
    i.e. ``torch.nn.CrossEntropyLoss()`` with padded positions ignored.
    Returns (loss, dlogits).
    """
    logits = as_float_array("logits", logits)
    if logits.ndim < 2:
        raise ValueError(f"logits must have shape (N, T, V) or (N, V); got {logits.shape}")
    check_nonempty_batch("logits", logits)
    targets = np.asarray(targets)
    if targets.dtype.kind not in "iu":
        raise TypeError(f"targets must hold integer class indices; got dtype {targets.dtype}")
    if targets.shape != logits.shape[:-1]:
        raise ValueError(f"targets must have shape {logits.shape[:-1]} (logits without the class "
                         f"axis); got {targets.shape}")
    V = logits.shape[-1]
    if n_outside := np.count_nonzero((targets < 0) | (targets >= V)):
        raise ValueError(f"targets must lie in [0, V={V}); got {n_outside} indices outside it")
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
