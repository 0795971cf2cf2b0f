"""How gradients travel back through time: Jacobians, their norms, and the Pascanu et al. bound.

For the vanilla RNN h_t = σ(a_t), a_t = x_t Wx + h_{t−1} Wh + b (row vectors), the Jacobian of
one step is

    J_t = ∂h_t/∂h_{t−1} = diag(σ'(a_t)) Whᵀ              (H, H)

and by the chain rule ∂h_T/∂h_k = J_T J_{T−1} ⋯ J_{k+1}. Since ‖diag(σ'(a))‖ ≤ γ (γ = 1 for tanh,
relu and linear, 1/4 for the sigmoid) and ‖Whᵀ‖₂ = λ₁, the largest singular value of Wh,

    ‖∂h_T/∂h_k‖₂ ≤ (λ₁ γ)^(T−k)                           (Pascanu, Mikolov & Bengio 2013, eq. 7)

so λ₁ < 1/γ is *sufficient* for the gradient to vanish exponentially; λ₁ > 1/γ is only
*necessary* for it to explode.

Products of many Jacobians overflow float64 long before the plot stops being interesting, so this
module keeps every product as (scale, matrix) with the matrix renormalised after each step and the
scale tracked as a logarithm. A norm that really exceeds float64 is reported as ``inf``, with no
RuntimeWarning; ``log10`` versions stay finite.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import NamedTuple

import numpy as np

from rnnlab import layers
from rnnlab.activations import activation_grad, check_activation
from rnnlab.activations import gamma as activation_gamma
from rnnlab.init import spectral_radius
from rnnlab.validation import as_float_array, check_choice, check_shape, check_square


def singular_values(W) -> np.ndarray:
    """Singular values of a matrix, largest first. Chapter 4.

    W: (D, H) matrix
    """
    W = as_float_array("W", W)
    if W.ndim != 2:
        raise ValueError(f"W must be a matrix; got shape {W.shape}")
    return np.linalg.svd(W, compute_uv=False)


def eigenvalues(W) -> np.ndarray:
    """Eigenvalues of a square matrix (complex in general), largest modulus first. Chapter 4.

    W: (H, H) square matrix
    """
    W = check_square("W", W)
    ev = np.linalg.eigvals(W)
    return ev[np.argsort(-np.abs(ev))]


def _exp10(log10_values: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.power(10.0, log10_values)


Carried = tuple[np.ndarray, ...]


def _renormalised_backward(carried: Carried, step: Callable[[int, Carried], Carried],
                           T: int) -> Iterator[tuple[int, float, Carried]]:
    """Carry arrays back through time, k = T−1 … 0, with ``carried = step(k, carried)``.

    Yields (k, log10 scale, unit arrays) for k = T, T−1, …, 0; the true carried value at k is
    10**scale · unit. `step` must be linear in what it carries (a product of Jacobians, or a
    backward pass), so after each step the arrays are rescaled to max |·| = 1 and the scale is
    kept as a logarithm: no overflow or underflow however long the sequence. A value that becomes
    exactly zero stays zero (scale −inf) for every earlier k; inf or NaN is passed on unscaled.
    """
    log_scale = 0.0
    yield T, log_scale, carried
    for k in range(T - 1, -1, -1):
        if log_scale != -np.inf:
            carried = step(k, carried)
            s = max(float(np.max(np.abs(a))) for a in carried)
            if s == 0:
                log_scale = -np.inf
            elif np.isfinite(s):
                carried = tuple(a * (1.0 / s) for a in carried)
                log_scale += float(np.log10(s))
        yield k, log_scale, carried


def rnn_jacobians(h, h0, Wh, activation: str = "tanh") -> np.ndarray:
    """Per-step Jacobians J_t = ∂h_t/∂h_{t−1} = diag(σ'(a_t)) Whᵀ of one sequence.

    h: (T, H) hidden states h_1 … h_T of *one* sequence (e.g. ``rnn_forward(...)[0][0]``);
    h0: (H,) is not needed for the values but checked for consistency; Wh: (H, H).
    Returns J: (T, H, H) with J[t − 1] = ∂h_t/∂h_{t−1}.
    """
    check_activation(activation)
    Wh = np.asarray(Wh)
    h = np.asarray(h)
    check_shape("h", h, (None, Wh.shape[0]), "T, H")
    check_shape("h0", np.asarray(h0), (Wh.shape[0],), "H")
    with np.errstate(all="ignore"):
        d = activation_grad(activation)(h)  # σ'(a_t) from h_t = σ(a_t): (T, H)
        d = np.nan_to_num(d, nan=0.0)
        return d[:, :, None] * Wh.T[None, :, :]


def _log_products(jacobians: np.ndarray, ks: np.ndarray):
    """For each k in `ks` the product P_k = J_T ⋯ J_{k+1} as (log10 scale, unit-max matrix)."""
    T, H, _ = jacobians.shape
    slot = {int(k): i for i, k in enumerate(ks)}
    mats = np.empty((len(ks), H, H))
    logs = np.zeros(len(ks))
    with np.errstate(all="ignore"):
        steps = _renormalised_backward((np.eye(H),), lambda k, P: (P[0] @ jacobians[k],), T)
        for k, log_scale, (P,) in steps:
            if k in slot:
                mats[slot[k]] = P
                logs[slot[k]] = log_scale
    return logs, mats


def _check_ks(ks, T: int) -> np.ndarray:
    if ks is None:
        return np.arange(T + 1)
    ks = np.asarray(ks)
    if ks.ndim != 1 or ks.dtype.kind not in "iu" or np.any((ks < 0) | (ks > T)):
        raise ValueError(f"ks must be a 1-D array of integer steps in [0, T={T}]; got {ks!r}")
    return ks


def jacobian_log10_norms(jacobians, ord: int | str = 2, ks=None) -> np.ndarray:
    """log10 ‖∂h_T/∂h_k‖ for k = 0 … T (length T + 1; the entry k = T is log10 ‖I‖). Chapter 4.

    jacobians: (T, H, H) from ``rnn_jacobians``
    ord:       2 (spectral norm) or "fro"
    ks:        (K,) integer steps to evaluate, or None for all 0 … T; the result then has len K
    One SVD per k is the expensive part, so the explorer asks for ~128 evenly spaced k.
    Entries are −inf where the product is exactly zero (e.g. all ReLUs off).
    """
    J = np.asarray(jacobians, dtype=np.float64)
    if J.ndim != 3 or J.shape[1] != J.shape[2]:
        raise ValueError(f"jacobians must have shape (T, H, H); got {J.shape}")
    if ord not in (2, "fro"):
        raise ValueError(f"ord must be 2 or 'fro'; got {ord!r}")
    logs, mats = _log_products(J, _check_ks(ks, J.shape[0]))
    if ord == 2:
        unit_norms = np.linalg.svd(mats, compute_uv=False)[:, 0]
    else:
        unit_norms = np.sqrt(np.einsum("kij,kij->k", mats, mats))
    with np.errstate(divide="ignore", invalid="ignore"):
        return logs + np.log10(unit_norms)


def rnn_jacobian_log10_norms_fast(h, Wh, activation: str = "tanh", ord: int | str = 2,
                                  ks=None) -> np.ndarray:
    """Fast path of ``jacobian_log10_norms(rnn_jacobians(h, h0, Wh, activation), ord, ks)``.

    h:  (T, H) hidden states h_1 … h_T of one sequence
    Wh: (H, H) recurrent weights
    activation, ord, ks: as ``rnn_jacobians`` and ``jacobian_log10_norms``
    Same numbers as the plain version (tests/test_analysis.py checks them to 1e-12), faster (the
    live explorer's slider at T = 500, H = 64: benchmarks/bench_explorer.py):

    * the (T, H, H) Jacobians are never built: P J_k = (P diag(σ'(a_k))) Whᵀ, a column scaling
      and one product per step, written into two preallocated buffers;
    * the carried product is rescaled by a power of two, which is exact in floating point, so
      the result does not depend on how often it is rescaled: only at the stored steps `ks`
      and where an a-priori bound on its growth says it might leave float64's comfortable
      range (``_stored_products``); an interval whose end came out tiny is redone step by step;
    * the spectral norm of each stored product P is the square root of the largest eigenvalue
      of the Gram matrix P Pᵀ (one batched ``eigvalsh``), cheaper than an SVD; for the largest
      singular value this loses nothing (its relative error stays O(H ε)).
    """
    check_activation(activation)
    if ord not in (2, "fro"):
        raise ValueError(f"ord must be 2 or 'fro'; got {ord!r}")
    Wh = np.asarray(Wh, dtype=np.float64)
    h = np.asarray(h, dtype=np.float64)
    check_shape("h", h, (None, Wh.shape[0]), "T, H")
    T, H = h.shape
    ks = _check_ks(ks, T)
    with np.errstate(all="ignore"):
        d = np.nan_to_num(activation_grad(activation)(h), nan=0.0)  # σ'(a_t): (T, H)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow: inf/NaN, as the plain one
        mats, exps = _stored_products(d, Wh, ks)
    if ord == 2 and np.isfinite(mats).all():
        # σ₁(P)² = λ_max(P Pᵀ); eigvalsh sorts ascending
        gram = np.matmul(mats, mats.transpose(0, 2, 1))
        unit_norms = np.sqrt(np.maximum(np.linalg.eigvalsh(gram)[:, -1], 0.0))
    elif ord == 2:  # inf/NaN in a product: let the SVD report it as the plain version does
        unit_norms = np.linalg.svd(mats, compute_uv=False)[:, 0]
    else:
        unit_norms = np.sqrt(np.einsum("kij,kij->k", mats, mats))
    with np.errstate(divide="ignore", invalid="ignore"):
        return exps * np.log10(2.0) + np.log10(unit_norms)


# The carried product's largest entry is kept within 2^±_SAFE_LOG2 between rescalings, far from
# float64's limits (2^1024 and, for full precision, 2^−1022).
_SAFE_LOG2 = 300.0
_TINY_LOG2 = -1000.0  # below 2^−1022 numbers are subnormal and lose precision
_MAX_INTERVAL = 32  # steps between rescalings at most, so that a redone interval stays short


def _stored_products(d: np.ndarray, Wh: np.ndarray, ks: np.ndarray):
    """P_k = J_T ⋯ J_{k+1} for each k in `ks`, as (unit-max matrices, log2 scales).

    d:  (T, H) σ'(a_t), so that J_t = diag(d[t − 1]) Whᵀ
    Wh: (H, H)
    ks: (K,) the steps to store
    Returns mats: (K, H, H) with max |·| in [1/2, 1) (or exactly 0) and exps: (K,) such that
    P_k = 2**exps · mats (exps = −inf where the product is exactly zero).
    """
    T, H = d.shape
    WhT = np.ascontiguousarray(Wh.T)
    slots = np.full(T + 1, -1)
    slots[ks] = np.arange(len(ks))
    slot = slots.tolist()
    mats = np.empty((len(ks), H, H))
    exps = np.zeros(len(ks))
    # max |(P diag(d_k) Whᵀ)_ij| ≤ max |P| · max_j Σ_l |d_kl| |Wh_jl|: a bound on each step's growth
    with np.errstate(all="ignore"):
        growth = np.log2(np.max(np.abs(d) @ np.abs(Wh).T, axis=1, initial=0.0))
    growth = np.nan_to_num(growth, nan=np.inf).tolist()  # Python floats: a faster inner loop
    P, buf, saved = np.eye(H), np.empty((H, H)), np.empty((H, H))
    e = 0  # P_k = 2**e · P
    start, bound, low = T, 0.0, 0.0  # last rescaling; log2 bound of max|P| since, its minimum
    k = T
    while True:
        # rescale at k: P's largest entry into [1/2, 1), exactly (a power of two)
        m = max(float(P.max()), -float(P.min()))
        # every max |P| since `start` was ≥ m · 2^−(bound − low); below 2^−1000 some entries
        # may have lost precision to subnormal numbers: redo the interval one step at a time
        if start - k > 1 and not (m > 0.0 and math.log2(m) - (bound - low) >= _TINY_LOG2):
            P[...] = saved
            for j in range(start - 1, k - 1, -1):
                np.matmul(np.multiply(P, d[j], out=buf), WhT, out=P)
                m = max(float(P.max()), -float(P.min()))
                if m == 0.0:
                    break
                if math.isfinite(m):
                    shift = math.frexp(m)[1]
                    np.ldexp(P, -shift, out=P)
                    e += shift
            if m != 0.0:
                m = max(float(P.max()), -float(P.min()))
        if m == 0.0:  # this and every earlier (smaller k) product is exactly zero
            done = slots[: k + 1][slots[: k + 1] >= 0]
            mats[done] = 0.0
            exps[done] = -np.inf
            break
        if math.isfinite(m):
            shift = math.frexp(m)[1]
            np.ldexp(P, -shift, out=P)
            e += shift
        if slot[k] >= 0:
            mats[slot[k]] = P
            exps[slot[k]] = e
        if k == 0:
            break
        start, bound, low = k, 0.0, 0.0
        saved[...] = P
        # steps without rescaling while the bound allows, up to the next stored k
        while True:
            k -= 1
            np.matmul(np.multiply(P, d[k], out=buf), WhT, out=P)
            bound += growth[k]
            low = min(low, bound)
            if (slot[k] >= 0 or k == 0 or start - k >= _MAX_INTERVAL
                    or not bound + growth[k - 1] <= _SAFE_LOG2 or bound < -_SAFE_LOG2):
                break
    return mats, exps


def jacobian_norms(jacobians, ord: int | str = 2, ks=None) -> np.ndarray:
    """‖∂h_T/∂h_k‖ for k = 0 … T (or for `ks`); ``inf`` where it exceeds float64. Chapter 4.

    Arguments as ``jacobian_log10_norms``.
    """
    return _exp10(jacobian_log10_norms(jacobians, ord, ks))


def evenly_spaced_steps(T: int, max_points: int = 128) -> np.ndarray:
    """At most max_points + 1 integer steps from 0 to T inclusive, evenly spaced. Chapter 4."""
    return np.unique(np.round(np.linspace(0, T, min(T, max_points) + 1)).astype(int))


def loss_gradient_log10_norms(jacobians, dL_dhT) -> np.ndarray:
    """log10 ‖∂L/∂h_k‖ for k = 0 … T when the loss L depends on h_T only. Chapter 4.

    jacobians: (T, H, H) from ``rnn_jacobians``
    dL_dhT:    (H,) gradient of the loss with respect to h_T
    ∂L/∂h_k = ∂L/∂h_T · J_T ⋯ J_{k+1} (a row vector pushed back step by step: O(T H²), cheaper
    than the full Jacobian products). Entries are −inf where the gradient is exactly zero.
    """
    J = np.asarray(jacobians, dtype=np.float64)
    g = as_float_array("dL_dhT", dL_dhT).astype(np.float64)
    check_shape("dL_dhT", g, (J.shape[1],), "H")
    T = J.shape[0]
    out = np.empty(T + 1)
    with np.errstate(all="ignore"):
        for k, log_scale, (unit,) in _renormalised_backward((g,), lambda k, v: (v[0] @ J[k],), T):
            out[k] = log_scale + np.log10(np.linalg.norm(unit))
    return out


def gamma(activation: str) -> float:
    """γ = sup |σ'|: 1 for tanh, relu, linear; 1/4 for the sigmoid. Chapter 4."""
    return activation_gamma(activation)


def pascanu_log10_bound(Wh, T: int, activation: str = "tanh") -> np.ndarray:
    """log10 of the bound (λ₁ γ)^(T−k), k = 0 … T, λ₁ the largest singular value of Wh. Chapter 4.

    Wh: (H, H) recurrent weights
    T:  sequence length
    activation: "tanh", "relu", "linear" or "sigmoid" (sets γ)
    """
    return _log10_bound(singular_values(Wh)[0], gamma(activation), T)


def _log10_bound(lam1: float, g: float, T: int) -> np.ndarray:
    k = np.arange(T + 1)
    with np.errstate(divide="ignore"):
        return (T - k) * np.log10(lam1 * g)


def pascanu_bound(Wh, T: int, activation: str = "tanh") -> np.ndarray:
    """(λ₁ γ)^(T−k) for k = 0 … T (Pascanu et al. 2013); inf where it exceeds float64. Chapter 4.

    Arguments as ``pascanu_log10_bound``.
    """
    return _exp10(pascanu_log10_bound(Wh, T, activation))


class GradientFlow(NamedTuple):
    """What the gradient explorer shows for one setting (one sequence)."""

    h: np.ndarray  # (T, H) hidden states h_1 … h_T (may hold inf/nan where the forward overflowed)
    k: np.ndarray  # the steps k at which the norms were measured (all 0 … T by default)
    log10_norms: np.ndarray  # log10 ‖∂h_T/∂h_k‖₂ at those k
    log10_bound: np.ndarray  # log10 (λ₁ γ)^(T−k) at those k
    spectral_radius: float
    lambda1: float  # largest singular value of Wh
    gamma: float

    @property
    def norms(self) -> np.ndarray:
        return _exp10(self.log10_norms)

    @property
    def bound(self) -> np.ndarray:
        return _exp10(self.log10_bound)


def rnn_gradient_flow(x, h0, Wx, Wh, b, activation: str = "tanh", ord: int | str = 2,
                      ks=None) -> GradientFlow:
    """Forward one sequence, measure ‖∂h_T/∂h_k‖ for every k (or `ks`) and the bound. Chapter 4.

    x:  (T, D) one input sequence
    h0: (H,) initial state
    Wx: (D, H), Wh: (H, H), b: (H,) the vanilla RNN's weights
    activation, ord, ks: as ``rnn_forward`` and ``jacobian_log10_norms``
    The forward may overflow for large spectral radius × T with relu/linear: the states then hold
    inf/nan (no warning), and the norms are still reported, as inf where they exceed float64.
    """
    x = as_float_array("x", x)
    check_shape("x", x, (None, None), "T, D")
    h0 = as_float_array("h0", h0, x.dtype)
    check_shape("h0", h0, (None,), "H")
    with np.errstate(all="ignore"):
        h, _ = layers.rnn_forward(x[None], h0[None], Wx, Wh, b, activation=activation)
    h = h[0]
    T = h.shape[0]
    ks = _check_ks(ks, T)
    lam1, g = float(singular_values(Wh)[0]), gamma(activation)
    return GradientFlow(
        h=h,
        k=ks,
        # = jacobian_log10_norms(rnn_jacobians(h, h0, Wh, activation), ord, ks), faster
        log10_norms=rnn_jacobian_log10_norms_fast(h, Wh, activation, ord, ks),
        log10_bound=_log10_bound(lam1, g, T)[ks],
        spectral_radius=spectral_radius(Wh),
        lambda1=lam1,
        gamma=g,
    )


def lstm_cell_path_log10_norms(forget_gates) -> np.ndarray:
    """log10 ‖∂c_T/∂c_k‖ along the LSTM's additive path only, k = 0 … T. Chapter 5.

    On that path ∂c_t/∂c_{t−1} = diag(f_t), so the product is diag(∏ f_t) and its spectral norm is
    max_i ∏_{t=k+1}^{T} f_t[i].

    forget_gates: (T, H) for one sequence, e.g. ``cache.gates[:, n, H:2*H]`` of ``lstm_forward``
    """
    f = np.asarray(forget_gates, dtype=np.float64)
    if f.ndim != 2:
        raise ValueError(f"forget_gates must have shape (T, H); got {f.shape}")
    with np.errstate(divide="ignore"):
        logf = np.log10(f)
    # cumulative sums from the end: Σ_{t=k+1}^{T} log f_t, per unit
    tail = np.concatenate([np.cumsum(logf[::-1], axis=0)[::-1], np.zeros((1, f.shape[1]))])
    return tail.max(axis=1)


def state_gradient_log10_norms(cell: str, x, h0, params: dict, u=None,
                               activation: str = "tanh") -> dict[str, np.ndarray]:
    """log10 ‖∂L/∂h_k‖ (and ‖∂L/∂c_k‖ for the LSTM), k = 0 … T, for L = u · h_T. Chapter 5.

    Works for every cell by running its *step* backward functions from ``rnnlab.layers``
    backwards through time. The backward pass is linear in the upstream gradient, so the carried
    gradient is renormalised after each step and its scale kept as a logarithm (no overflow).

    cell:   "rnn", "lstm" or "gru"
    x:      (T, D) one sequence
    h0:     (H,) initial state
    params: {"Wx", "Wh", "b"} (rnn, lstm) or {"Wx", "Wh", "bx", "bh"} (gru), shapes as in layers
    u:      (H,) direction of the loss, or None for all ones / √H
    activation: the vanilla RNN's σ (ignored by the gated cells)
    Returns {"h": (T+1,)} plus {"c": (T+1,)} for the LSTM.
    """
    check_choice("cell", cell, ("rnn", "lstm", "gru"))
    x = as_float_array("x", x)
    check_shape("x", x, (None, None), "T, D")
    T = x.shape[0]
    h = as_float_array("h0", h0, x.dtype)[None]
    H = h.shape[1]
    u = np.ones(H) / np.sqrt(H) if u is None else as_float_array("u", u, x.dtype)
    check_shape("u", u, (H,), "H")
    if cell == "rnn":
        # The vanilla RNN's Jacobians are explicit; this path survives a forward that overflows.
        with np.errstate(all="ignore"):
            hs, _ = layers.rnn_forward(x[None], h, params["Wx"], params["Wh"], params["b"],
                                       activation=activation)
        J = rnn_jacobians(hs[0], h[0], params["Wh"], activation)
        return {"h": loss_gradient_log10_norms(J, u)}
    c = np.zeros_like(h)
    caches = []
    with np.errstate(all="ignore"):
        for t in range(T):
            xt = x[t:t + 1]
            if cell == "lstm":
                (h, c), cache = layers.lstm_step_forward(xt, h, c, params["Wx"], params["Wh"],
                                                         params["b"])
            else:
                h, cache = layers.gru_step_forward(xt, h, params["Wx"], params["Wh"],
                                                   params["bx"], params["bh"])
            caches.append(cache)
    def step(k: int, carried: Carried) -> Carried:
        dh, dc = carried
        if cell == "lstm":
            _, dh, dc, *_ = layers.lstm_step_backward((dh, dc), caches[k])
        else:
            dh = layers.gru_step_backward(dh, caches[k])[1]
        return dh, dc

    out_h = np.empty(T + 1)
    out_c = np.empty(T + 1)
    dh = u[None].copy()
    dc = np.zeros_like(dh)
    if cell == "lstm":  # L reaches c_T through h_T = o_T ⊙ tanh(c_T)
        last = caches[-1]
        dc_T = dh * last.gates[:, 3 * H:] * (1 - last.tanh_c ** 2)
    with np.errstate(all="ignore"):
        for k, log_scale, (dh_k, dc_k) in _renormalised_backward((dh, dc), step, T):
            out_h[k] = log_scale + np.log10(np.linalg.norm(dh_k))
            out_c[k] = log_scale + np.log10(np.linalg.norm(dc_k))
        if cell == "lstm":
            out_c[T] = np.log10(np.linalg.norm(dc_T))
    result = {"h": out_h}
    if cell == "lstm":
        result["c"] = out_c
    return result
