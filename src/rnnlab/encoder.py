"""A stacked, optionally bidirectional recurrent encoder with torch's conventions. Chapter 6
("Seq2seq with attention").

``Encoder("gru", D, H, num_layers=2, bidirectional=True)`` is the NumPy counterpart of
``torch.nn.GRU(D, H, num_layers=2, bidirectional=True, batch_first=True)``: the same shapes, the
same parameter names (``load_torch_state_dict`` / ``torch_named_grads``) and, with ``lengths``,
the semantics of torch's packed sequences:

* the forward direction stops at each sequence's own last step: padded steps change no state,
  their outputs are 0 and they receive no gradient;
* the reverse direction starts at each sequence's own last step (not at the padding);
* layer l > 0 reads the outputs of layer l − 1, both directions side by side (N, T, 2H);
* with ``dropout=p`` (and in training mode, as torch), inverted dropout is applied to the outputs
  of every layer but the last, never inside the recurrence (``rnnlab.dropout``, chapter 5).

The recurrence runs the public step functions of ``rnnlab.layers`` (``*_step_forward`` /
``*_step_backward``), one step at a time, so that a padded step can keep the previous state:
    h_t = m_t ⊙ cell(x_t, h_{t−1}) + (1 − m_t) ⊙ h_{t−1},   m_t = 1 if t < length else 0.
The sequence functions cannot do that, nor take a gradient for the final cell state of an LSTM.
"""

from __future__ import annotations

import warnings

import numpy as np

from rnnlab import init, layers
from rnnlab.dropout import check_dropout_p, dropout_backward, dropout_forward
from rnnlab.validation import as_float_array, check_positive_int

GATES = {"rnn": 1, "lstm": 4, "gru": 3}


class Encoder:
    """Stacked (bi)directional RNN / LSTM / GRU over batch-first sequences. Chapter 6.

    cell:          "rnn" (tanh), "lstm" (gate order i, f, g, o) or "gru" (r, z, n; torch's form)
    input_dim:     D, the size of each input vector
    hidden_dim:    H, the size of each direction's hidden state
    num_layers:    L, layers stacked on top of each other
    bidirectional: also run every layer from the last step to the first
    seed:          seeds the initial weights (Xavier inputs, orthogonal recurrent, zero biases;
                   the LSTM's forget-gate bias starts at 1) and, through ``dropout_rng``, the
                   dropout masks
    dtype:         float64 (default) or float32
    dropout:       p in [0, 1): inverted dropout on the outputs of every layer except the last,
                   in training mode only (``train()`` / ``eval()``; training is the default), as
                   ``torch.nn.RNN/LSTM/GRU(..., dropout=p)``

    ``params`` and ``grads`` are dicts with the same keys (``Wx_l0``, ``Wh_l0``, ``b_l0`` —
    ``bx_l0``, ``bh_l0`` for the GRU — and ``…_reverse`` for the reverse direction), so the
    optimisers of ``rnnlab.optim`` can train it.
    """

    def __init__(self, cell: str, input_dim: int, hidden_dim: int, *, num_layers: int = 1,
                 bidirectional: bool = False, seed: int = 0, dtype=np.float64,
                 dropout: float = 0.0) -> None:
        if cell not in GATES:
            raise ValueError(f"cell must be one of {sorted(GATES)}; got {cell!r}")
        if not isinstance(bidirectional, bool | np.bool_):
            raise TypeError(f"bidirectional must be True or False; got {bidirectional!r}")
        if np.dtype(dtype) not in (np.float32, np.float64):
            raise TypeError(f"dtype must be float32 or float64; got {np.dtype(dtype)}")
        self.cell = cell
        self.D = check_positive_int("input_dim", input_dim)
        self.H = check_positive_int("hidden_dim", hidden_dim)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.bidirectional = bool(bidirectional)
        self.dirs = 2 if self.bidirectional else 1
        self.dtype = np.dtype(dtype)
        self.dropout = check_dropout_p(dropout, "dropout")
        if self.dropout > 0 and self.num_layers == 1:
            warnings.warn("dropout acts between stacked layers only; with num_layers=1 it does "
                          "nothing (as in torch)", UserWarning, stacklevel=2)
        self.training = True
        self.dropout_rng = np.random.default_rng([seed, 2])  # draws the dropout masks
        rng = np.random.default_rng(seed)
        G, H = GATES[cell], self.H
        self.params: dict[str, np.ndarray] = {}
        for layer, suffix in self._units():
            d_in = self.D if layer == 0 else self.dirs * H
            p = {"Wx": init.xavier_uniform((d_in, G * H), rng),
                 "Wh": np.concatenate([init.orthogonal((H, H), rng) for _ in range(G)], axis=1)}
            if cell == "gru":
                p["bx"], p["bh"] = np.zeros(G * H), np.zeros(G * H)
            else:
                p["b"] = np.zeros(G * H)
                if cell == "lstm":
                    p["b"][H:2 * H] = 1.0  # forget gate open at the start (Gers et al. 2000)
            for name, value in p.items():
                self.params[f"{name}_l{layer}{suffix}"] = value.astype(self.dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self._cache = None

    # -- bookkeeping -------------------------------------------------------------------------
    def train(self, mode: bool = True) -> Encoder:
        """Training mode (dropout on) or, with mode=False, evaluation mode. Returns self."""
        if not isinstance(mode, bool | np.bool_):
            raise TypeError(f"mode must be True or False; got {mode!r}")
        self.training = bool(mode)
        return self

    def eval(self) -> Encoder:
        """Evaluation mode: no dropout. Returns self."""
        return self.train(False)

    def _units(self):
        """(layer, name suffix) of every direction of every layer, in torch's order."""
        return [(layer, suffix) for layer in range(self.num_layers)
                for suffix in ("", "_reverse")[:self.dirs]]

    @property
    def num_params(self) -> int:
        """Number of scalar parameters (torch counts one more bias vector per RNN/LSTM unit)."""
        return int(sum(p.size for p in self.params.values()))

    def _unit_params(self, layer: int, suffix: str) -> list[np.ndarray]:
        names = ["Wx", "Wh"] + (["bx", "bh"] if self.cell == "gru" else ["b"])
        return [self.params[f"{n}_l{layer}{suffix}"] for n in names]

    # -- forward -----------------------------------------------------------------------------
    def _check_inputs(self, x, lengths):
        x = as_float_array("x", x, self.dtype)
        if x.ndim != 3 or x.shape[2] != self.D:
            raise ValueError(f"x must have shape (N, T, D={self.D}); got {x.shape}")
        N, T, _ = x.shape
        if T == 0 or N == 0:
            raise ValueError(f"x must have at least one sequence and one time step; got {x.shape}")
        if lengths is None:
            return x.copy(), np.ones((N, T), dtype=bool)
        lengths = np.asarray(lengths)
        if lengths.shape != (N,) or lengths.dtype.kind not in "iu":
            raise ValueError(f"lengths must be an integer array of shape (N={N},); got shape "
                             f"{lengths.shape} of dtype {lengths.dtype}")
        if np.any((lengths < 1) | (lengths > T)):
            raise ValueError(f"lengths must lie in [1, T={T}]; got min {lengths.min()}, "
                             f"max {lengths.max()}")
        return x.copy(), np.arange(T)[None, :] < lengths[:, None]

    def _step(self, xt, h, c, p):
        """One step of the cell: returns the new h, the new c (LSTM, else None) and the cache."""
        if self.cell == "rnn":
            h_new, cache = layers.rnn_step_forward(xt, h, *p)
            return h_new, None, cache
        if self.cell == "lstm":
            (h_new, c_new), cache = layers.lstm_step_forward(xt, h, c, *p)
            return h_new, c_new, cache
        h_new, cache = layers.gru_step_forward(xt, h, *p)
        return h_new, None, cache

    def _direction_forward(self, x, mask, p, reverse):
        N, T, _ = x.shape
        h = np.zeros((N, self.H), dtype=self.dtype)
        c = h.copy() if self.cell == "lstm" else None
        out = np.zeros((N, T, self.H), dtype=self.dtype)
        caches = {}
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            m = mask[:, t, None]
            h_new, c_new, caches[t] = self._step(x[:, t], h, c, p)
            # a padded step (m = 0) keeps the state: h_t = h_{t−1}
            h = np.where(m, h_new, h)
            if c is not None:
                c = np.where(m, c_new, c)
            out[:, t] = np.where(m, h, 0)
        return out, h, c, caches

    def forward(self, x, lengths=None):
        """Run every layer and direction. Chapter 6.

        x:       (N, T, D) inputs (padding after each sequence's end, if lengths are given)
        lengths: (N,) integers in [1, T], each sequence's number of real steps; None = all T
        Returns out: (N, T, dirs·H), the last layer's states (directions concatenated, 0 at
        padded steps), and h_n: (L·dirs, N, H), the final state of every layer and direction
        (index layer·dirs + direction) — for the LSTM the pair (h_n, c_n).
        """
        x, mask = self._check_inputs(x, lengths)
        layer_in, units, h_n, c_n, drops = x, [], [], [], []
        for layer in range(self.num_layers):
            if layer > 0:  # dropout between layers: on the input of every layer but the first
                layer_in, drop = dropout_forward(layer_in, self.dropout, training=self.training,
                                                 rng=self.dropout_rng)
                drops.append(drop)
            outs = []
            for suffix in ("", "_reverse")[:self.dirs]:
                out, h, c, caches = self._direction_forward(
                    layer_in, mask, self._unit_params(layer, suffix), reverse=bool(suffix))
                outs.append(out)
                h_n.append(h)
                c_n.append(c)
                units.append(caches)
            layer_in = np.concatenate(outs, axis=2) if self.dirs == 2 else outs[0]
        self._cache = (mask, units, layer_in.shape, drops)
        h_n = np.stack(h_n)
        if self.cell == "lstm":
            return layer_in.copy(), (h_n, np.stack(c_n))
        return layer_in.copy(), h_n

    # -- backward ----------------------------------------------------------------------------
    def _step_backward(self, dh, dc, cache):
        """(dx, dh_prev, dc_prev or None, weight gradients) of one step."""
        if self.cell == "rnn":
            dx, dh_prev, *dw = layers.rnn_step_backward(dh, cache)
            return dx, dh_prev, None, dw
        if self.cell == "lstm":
            dx, dh_prev, dc_prev, *dw = layers.lstm_step_backward((dh, dc), cache)
            return dx, dh_prev, dc_prev, dw
        dx, dh_prev, *dw = layers.gru_step_backward(dh, cache)
        return dx, dh_prev, None, dw

    def _direction_backward(self, dout, dh, dc, mask, caches, d_in, reverse):
        """dout: (N, T, H) into this direction's outputs; dh, dc: (N, H) into its final state."""
        N, T, _ = dout.shape
        dx = np.zeros((N, T, d_in), dtype=self.dtype)
        dw_total = None
        for t in (range(T) if reverse else range(T - 1, -1, -1)):
            m = mask[:, t, None]
            g = dh + np.where(m, dout[:, t], 0)  # total ∂L/∂h_t
            # h_t = m ⊙ h_new + (1 − m) ⊙ h_{t−1}: the step gets m ⊙ g, h_{t−1} also (1 − m) ⊙ g
            dxt, dh_prev, dc_prev, dw = self._step_backward(
                np.where(m, g, 0), None if dc is None else np.where(m, dc, 0), caches[t])
            dh = dh_prev + np.where(m, 0, g)
            if dc is not None:
                dc = dc_prev + np.where(m, 0, dc)
            dx[:, t] = dxt
            dw_total = dw if dw_total is None else [a + b for a, b in zip(dw_total, dw,
                                                                           strict=True)]
        return dx, dw_total

    def _check_dh_n(self, dh_n, N: int):
        shape = (self.num_layers * self.dirs, N, self.H)
        zeros = np.zeros(shape, dtype=self.dtype)
        if self.cell == "lstm":
            if dh_n is None:
                return zeros, zeros.copy()
            if not isinstance(dh_n, tuple | list) or len(dh_n) != 2:
                raise TypeError(f"dh_n for an LSTM must be None or a pair (dh_n, dc_n) of "
                                f"{shape} arrays (either may be None); got {type(dh_n).__name__}")
            return tuple(zeros.copy() if a is None else self._check_grad(name, a, shape)
                         for name, a in zip(("dh_n", "dc_n"), dh_n, strict=True))
        return (zeros if dh_n is None else self._check_grad("dh_n", dh_n, shape)), None

    def _check_grad(self, name, a, shape):
        a = as_float_array(name, a, self.dtype)
        if a.shape != shape:
            raise ValueError(f"{name} must have shape (L·dirs, N, H) = {shape}; got {a.shape}")
        return a

    def backward(self, dout, dh_n=None) -> np.ndarray:
        """Backpropagation through every layer and direction; fills ``self.grads``. Chapter 6.

        dout: (N, T, dirs·H) upstream gradient of ``out`` (ignored at padded steps)
        dh_n: (L·dirs, N, H) upstream gradient of h_n, or None (zero); for the LSTM a pair
              (dh_n, dc_n), either of which may be None
        Returns dx: (N, T, D), zero at padded steps.
        """
        if self._cache is None:
            raise RuntimeError("backward() needs a forward() first")
        mask, units, out_shape, drops = self._cache
        dout = as_float_array("dout", dout, self.dtype)
        if dout.shape != out_shape:
            raise ValueError(f"dout must have the shape of out (N, T, dirs·H) = {out_shape}; "
                             f"got {dout.shape}")
        N = out_shape[0]
        dh_all, dc_all = self._check_dh_n(dh_n, N)
        grads: dict[str, np.ndarray] = {}
        d_layer_out = dout
        for layer in range(self.num_layers - 1, -1, -1):
            d_in = self.D if layer == 0 else self.dirs * self.H
            d_layer_in = np.zeros((N, out_shape[1], d_in), dtype=self.dtype)
            for d, suffix in enumerate(("", "_reverse")[:self.dirs]):
                i = layer * self.dirs + d
                dx, dw = self._direction_backward(
                    d_layer_out[:, :, d * self.H:(d + 1) * self.H], dh_all[i],
                    None if dc_all is None else dc_all[i], mask, units[i], d_in,
                    reverse=bool(suffix))
                d_layer_in += dx
                names = ["Wx", "Wh"] + (["bx", "bh"] if self.cell == "gru" else ["b"])
                for n, g in zip(names, dw, strict=True):
                    grads[f"{n}_l{layer}{suffix}"] = g
            # through the dropout between layer − 1 and layer (identity when p = 0 or eval)
            d_layer_out = d_layer_in if layer == 0 else dropout_backward(d_layer_in,
                                                                         drops[layer - 1])
        self.grads = {k: grads[k] for k in self.params}
        return d_layer_out

    # -- torch interoperability --------------------------------------------------------------
    def torch_keys(self) -> list[str]:
        """The keys of the matching torch module's ``state_dict()``, in torch's order."""
        return [f"{kind}_{part}_l{layer}{suffix}" for layer, suffix in self._units()
                for kind in ("weight", "bias") for part in ("ih", "hh")]

    def load_torch_state_dict(self, sd) -> None:
        """Copy weights from ``torch.nn.RNN/LSTM/GRU(..., batch_first=True).state_dict()``.

        sd: dict of arrays keyed ``weight_ih_l0`` (G·H, D), ``weight_hh_l0`` (G·H, H),
            ``bias_ih_l0``, ``bias_hh_l0`` (G·H,), and ``…_reverse``, NumPy (or anything
            np.asarray accepts, e.g. ``{k: v.numpy() for k, v in net.state_dict().items()}``)
        Wx = weight_ihᵀ, Wh = weight_hhᵀ; the RNN and LSTM keep one bias b = bias_ih + bias_hh.
        """
        expected = self.torch_keys()
        if not hasattr(sd, "keys") or set(sd.keys()) != set(expected):
            got = sorted(sd.keys()) if hasattr(sd, "keys") else type(sd).__name__
            raise ValueError(f"sd must have exactly the keys {expected}; got {got}")
        new = {}
        G = GATES[self.cell]
        for layer, suffix in self._units():
            tag = f"_l{layer}{suffix}"
            d_in = self.D if layer == 0 else self.dirs * self.H
            w = {}
            for key, shape in ((f"weight_ih{tag}", (G * self.H, d_in)),
                               (f"weight_hh{tag}", (G * self.H, self.H)),
                               (f"bias_ih{tag}", (G * self.H,)), (f"bias_hh{tag}", (G * self.H,))):
                a = np.asarray(sd[key], dtype=np.float64)
                if a.shape != shape:
                    raise ValueError(f"sd[{key!r}] must have shape {shape}; got {a.shape}")
                if not np.all(np.isfinite(a)):
                    raise ValueError(f"sd[{key!r}] contains NaN or inf")
                w[key.split("_l")[0]] = a
            new[f"Wx{tag}"] = w["weight_ih"].T
            new[f"Wh{tag}"] = w["weight_hh"].T
            if self.cell == "gru":
                new[f"bx{tag}"], new[f"bh{tag}"] = w["bias_ih"], w["bias_hh"]
            else:
                new[f"b{tag}"] = w["bias_ih"] + w["bias_hh"]
        self.params = {k: np.array(new[k], dtype=self.dtype, order="C") for k in self.params}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self._cache = None

    def torch_named_grads(self) -> dict[str, np.ndarray]:
        """The gradients of the last ``backward`` under torch's parameter names and layouts
        (the RNN/LSTM bias gradient goes to both bias_ih and bias_hh, as in torch)."""
        out = {}
        for layer, suffix in self._units():
            tag = f"_l{layer}{suffix}"
            out[f"weight_ih{tag}"] = self.grads[f"Wx{tag}"].T.copy()
            out[f"weight_hh{tag}"] = self.grads[f"Wh{tag}"].T.copy()
            if self.cell == "gru":
                out[f"bias_ih{tag}"] = self.grads[f"bx{tag}"].copy()
                out[f"bias_hh{tag}"] = self.grads[f"bh{tag}"].copy()
            else:
                out[f"bias_ih{tag}"] = self.grads[f"b{tag}"].copy()
                out[f"bias_hh{tag}"] = self.grads[f"b{tag}"].copy()
        return out


def param_count(cell: str, input_dim: int, hidden_dim: int, *, num_layers: int = 1,
                bidirectional: bool = False, torch_biases: bool = False) -> int:
    """The number of parameters of an encoder, by the formula. Chapter 5 ("Deep and
    bidirectional RNNs").

    cell, input_dim, hidden_dim, num_layers, bidirectional: as ``Encoder``
    torch_biases: count as ``torch.nn.RNN/LSTM/GRU`` do, with two bias vectors (bias_ih and
                  bias_hh) per direction of every layer; rnnlab's RNN and LSTM keep their sum,
                  one vector (the GRU needs both, in either library: bh sits inside r ⊙ (…))
    With G gate blocks, D_l = D for layer 0 and dirs·H above it, and B bias vectors:
        count = dirs · Σ_l G·H·(D_l + H + B)
    """
    if cell not in GATES:
        raise ValueError(f"cell must be one of {sorted(GATES)}; got {cell!r}")
    D = check_positive_int("input_dim", input_dim)
    H = check_positive_int("hidden_dim", hidden_dim)
    L = check_positive_int("num_layers", num_layers)
    dirs = 2 if bidirectional else 1
    B = 2 if (torch_biases or cell == "gru") else 1
    G = GATES[cell]
    return sum(dirs * G * H * ((D if layer == 0 else dirs * H) + H + B) for layer in range(L))
