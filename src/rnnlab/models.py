"""Thin model classes over the functional core: a recurrent cell plus an output layer.

A model holds two dicts with the same keys, ``params`` and ``grads``, so that any optimiser in
``rnnlab.optim`` can update it. ``model.loss(x, targets)`` runs forward and backward and fills
``model.grads``; ``model.forward(x)`` only predicts.

Layouts (``output=``):
* "sequence" (many-to-many): y_t = h_t Wy + by at every step, y: (N, T, M).
* "last" (many-to-one): y = h_T Wy + by, y: (N, M); with ``lengths`` the output is read at each
  sequence's own last step (padded batches).

Losses (``loss=``): "mse" (targets like y) or "softmax" (integer targets, y are logits).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from rnnlab import init, layers
from rnnlab.validation import (
    check_activation,
    check_choice,
    check_nonneg_int,
    check_positive,
    check_positive_int,
    check_sequence,
)

State = np.ndarray | tuple[np.ndarray, np.ndarray]


class ForwardPass(NamedTuple):
    """What ``SequenceModel.loss`` needs from the forward pass to run the backward pass."""

    y: np.ndarray  # (N, T, M) for output="sequence", (N, M) for output="last"
    cell_cache: Any  # the cache of the cell's sequence forward (RNNCache, LSTMCache, GRUCache)
    output_cache: layers.AffineCache
    last_step: np.ndarray | None  # (N,) index of the step read out by output="last"
    h_shape: tuple[int, int, int]  # (N, T, H)


class DivergenceError(ValueError):
    """The forward pass overflowed: hidden states became inf/NaN (an exploding network)."""


class SequenceModel:
    """Base class: subclasses set ``cell``, ``gates`` and ``recurrent_keys`` and implement
    ``_cell_forward`` / ``_cell_backward``. Chapter 2 (training), chapter 5 (the cells)."""

    cell: str  # "rnn", "lstm" or "gru", the key in MODELS
    gates: int  # gate blocks G in the cell's weights: Wx (D, G·H), Wh (H, G·H)
    recurrent_keys: tuple[str, ...]  # the cell's bias names

    def __init__(self, input_dim: int, hidden_dim: int, output_dim: int, *,
                 loss: str = "mse", output: str = "sequence", seed: int = 0,
                 dtype=np.float64) -> None:
        self.D = check_positive_int("input_dim", input_dim)
        self.H = check_positive_int("hidden_dim", hidden_dim)
        self.M = check_positive_int("output_dim", output_dim)
        check_choice("loss", loss, ("mse", "softmax"))
        check_choice("output", output, ("sequence", "last"))
        if np.dtype(dtype) not in (np.float32, np.float64):
            raise TypeError(f"dtype must be float32 or float64; got {np.dtype(dtype)}")
        self.loss_kind, self.output, self.dtype = loss, output, np.dtype(dtype)
        rng = np.random.default_rng(seed)
        G = self.gates
        self.params: dict[str, np.ndarray] = {
            "Wx": init.xavier_uniform((self.D, G * self.H), rng),
            "Wh": np.concatenate([init.orthogonal((self.H, self.H), rng) for _ in range(G)],
                                 axis=1),
            **{k: np.zeros(G * self.H) for k in self.recurrent_keys},
            "Wy": init.xavier_uniform((self.H, self.M), rng),
            "by": np.zeros(self.M),
        }
        self._customise_init(rng)
        self.params = {k: v.astype(self.dtype) for k, v in self.params.items()}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.final_state: State | None = None

    # -- hooks for the subclasses ------------------------------------------------------------
    def _customise_init(self, rng: np.random.Generator) -> None:
        """Adjust the initial parameters (e.g. the LSTM's forget-gate bias)."""

    def _cell_forward(self, x: np.ndarray, state: State):
        raise NotImplementedError

    def _cell_backward(self, dh: np.ndarray, cache) -> dict[str, np.ndarray]:
        raise NotImplementedError

    # -- public API -------------------------------------------------------------------------
    @property
    def num_params(self) -> int:
        """Number of scalar parameters, output layer included."""
        return int(sum(p.size for p in self.params.values()))

    def initial_state(self, N: int) -> State:
        """The zero state for a batch of N sequences."""
        return np.zeros((N, self.H), dtype=self.dtype)

    def check_input(self, x) -> np.ndarray:
        """x as a (N >= 1, T >= 1, D) array of the model's dtype, or a ValueError/TypeError."""
        return check_sequence("x", x, self.D, self.dtype)

    def _check_lengths(self, lengths, N: int, T: int) -> np.ndarray | None:
        if lengths is None:
            return None
        if self.output != "last":
            raise ValueError("lengths only applies to output='last'; for output='sequence' pass "
                             "a mask to loss() instead")
        lengths = np.asarray(lengths)
        if lengths.shape != (N,) or lengths.dtype.kind not in "iu":
            raise ValueError(f"lengths must be an integer array of shape (N={N},); got "
                             f"{lengths.shape} of dtype {lengths.dtype}")
        if np.any((lengths < 1) | (lengths > T)):
            raise ValueError(f"lengths must lie in [1, T={T}]; got min {lengths.min()}, "
                             f"max {lengths.max()}")
        return lengths

    def _forward(self, x, h0=None, lengths=None) -> ForwardPass:
        x = self.check_input(x)
        N, T, _ = x.shape
        lengths = self._check_lengths(lengths, N, T)
        state = self.initial_state(N) if h0 is None else h0
        with np.errstate(over="ignore", invalid="ignore"):
            h, cache = self._cell_forward(x, state)
        if not np.all(np.isfinite(h)):
            bad_t = int(np.argmax(~np.isfinite(h).all(axis=(0, 2))))
            raise DivergenceError(
                f"the hidden states overflowed to inf/NaN from step t = {bad_t + 1}: the forward "
                "pass exploded (spectral radius of Wh too large, or the weights diverged)")
        self.final_state = layers.final_state(cache)
        if self.output == "last":
            last_step = np.full(N, T - 1) if lengths is None else lengths - 1
            h_out = h[np.arange(N), last_step][:, None, :]  # (N, 1, H)
        else:
            last_step = None
            h_out = h
        y, aff_cache = layers.temporal_affine_forward(h_out, self.params["Wy"], self.params["by"])
        if self.output == "last":
            y = y[:, 0, :]
        return ForwardPass(y, cache, aff_cache, last_step, h.shape)

    def forward(self, x, h0: State | None = None, lengths=None) -> np.ndarray:
        """Predictions. x: (N, T, D) -> y: (N, T, M) ("sequence") or (N, M) ("last").

        h0: initial state ((N, H), or (h0, c0) for the LSTM); None means zeros.
        The state after the last step is left in ``self.final_state``.
        """
        return self._forward(x, h0, lengths).y

    def loss(self, x, targets, mask=None, h0: State | None = None, lengths=None) -> float:
        """Forward, loss and backward: returns the loss and fills ``self.grads``.

        targets: like y for "mse"; integer class indices of y's shape without the last axis for
        "softmax". mask: 0/1 over the positions (y.shape[:-1]) for padded batches.
        """
        fp = self._forward(x, h0, lengths)
        if self.loss_kind == "mse":
            value, dy = layers.mse_loss(fp.y, targets, mask)
        else:
            value, dy = layers.softmax_cross_entropy(fp.y, targets, mask)
        if self.output == "last":
            dy = dy[:, None, :]
        dh_out, dWy, dby = layers.temporal_affine_backward(dy, fp.output_cache)
        if self.output == "last":
            dh = np.zeros(fp.h_shape, dtype=self.dtype)
            dh[np.arange(fp.h_shape[0]), fp.last_step] = dh_out[:, 0, :]
        else:
            dh = dh_out
        # A new dict every call: gradients handed out earlier are never overwritten.
        self.grads = {**self._cell_backward(dh, fp.cell_cache), "Wy": dWy, "by": dby}
        return value

    def sample(self, start: int, n: int, temperature: float = 1.0, seed: int = 0) -> list[int]:
        """Generate n symbol indices from a character model (one-hot inputs, softmax outputs).

        Each step feeds the previous symbol as a one-hot vector and draws the next one from
        softmax(logits / temperature): temperature < 1 sharpens the distribution (safer, more
        repetitive text), > 1 flattens it (more surprising, more errors).
        """
        if self.loss_kind != "softmax" or self.D != self.M or self.output != "sequence":
            raise ValueError("sample() needs a character model: loss='softmax', "
                             "output='sequence' and input_dim == output_dim (one-hot in and out)")
        temperature = check_positive("temperature", temperature)
        n = check_positive_int("n", n)
        idx = check_nonneg_int("start", start, below=self.D)  # a symbol index, not 1.7 or True
        rng = np.random.default_rng(seed)
        state: State | None = self.initial_state(1)
        out: list[int] = []
        for _ in range(n):
            x = np.zeros((1, 1, self.D), dtype=self.dtype)
            x[0, 0, idx] = 1
            logits = self.forward(x, state)[0, 0].astype(np.float64) / temperature
            state = self.final_state
            p = np.exp(logits - logits.max())
            idx = int(rng.choice(self.D, p=p / p.sum()))
            out.append(idx)
        return out


class VanillaRNN(SequenceModel):
    """Elman RNN: h_t = σ(x_t Wx + h_{t−1} Wh + b), y_t = h_t Wy + by.

    rho: if given, Wh is rescaled to this spectral radius (default: orthogonal, ρ = 1).
    """

    cell = "rnn"
    gates = 1
    recurrent_keys = ("b",)

    def __init__(self, input_dim: int, hidden_dim: int, output_dim: int, *,
                 activation: str = "tanh", rho: float | None = None, **kwargs) -> None:
        self.activation = check_activation(activation)
        self.rho = rho
        super().__init__(input_dim, hidden_dim, output_dim, **kwargs)

    def _customise_init(self, rng):
        if self.rho is not None:
            self.params["Wh"] = init.scale_to_spectral_radius(self.params["Wh"], self.rho)

    def _cell_forward(self, x, state):
        p = self.params
        return layers.rnn_forward(x, state, p["Wx"], p["Wh"], p["b"], activation=self.activation)

    def _cell_backward(self, dh, cache):
        _, _, dWx, dWh, db = layers.rnn_backward(dh, cache)
        return {"Wx": dWx, "Wh": dWh, "b": db}


class LSTM(SequenceModel):
    """LSTM (gate order i, f, g, o) with an output layer.

    The forget-gate bias starts at 1 (Gers et al. 2000; Jozefowicz et al. 2015) so that the cell
    remembers by default at the start of training. State: (h, c).
    """

    cell = "lstm"
    gates = 4
    recurrent_keys = ("b",)

    def _customise_init(self, rng):
        self.params["b"][self.H:2 * self.H] = 1.0

    def initial_state(self, N: int) -> State:
        z = np.zeros((N, self.H), dtype=self.dtype)
        return z, z.copy()

    def _cell_forward(self, x, state):
        if not isinstance(state, tuple) or len(state) != 2:
            raise TypeError("h0 for an LSTM must be a pair (h0, c0) of (N, H) arrays")
        h0, c0 = state
        p = self.params
        return layers.lstm_forward(x, h0, p["Wx"], p["Wh"], p["b"], c0=c0)

    def _cell_backward(self, dh, cache):
        _, _, dWx, dWh, db, _ = layers.lstm_backward(dh, cache)  # dx, dh0, …, dc0 unused
        return {"Wx": dWx, "Wh": dWh, "b": db}


class GRU(SequenceModel):
    """GRU in torch.nn.GRU's formulation (gate order r, z, n) with an output layer."""

    cell = "gru"
    gates = 3
    recurrent_keys = ("bx", "bh")

    def _cell_forward(self, x, state):
        p = self.params
        return layers.gru_forward(x, state, p["Wx"], p["Wh"], p["bx"], p["bh"])

    def _cell_backward(self, dh, cache):
        _, _, dWx, dWh, dbx, dbh = layers.gru_backward(dh, cache)
        return {"Wx": dWx, "Wh": dWh, "bx": dbx, "bh": dbh}


MODELS = {"rnn": VanillaRNN, "lstm": LSTM, "gru": GRU}


def make_model(cell: str, input_dim: int, hidden_dim: int, output_dim: int,
               **kwargs) -> SequenceModel:
    """Build a model by cell name: "rnn", "lstm" or "gru" (keyword arguments as the class's)."""
    check_choice("cell", cell, MODELS)
    return MODELS[cell](input_dim, hidden_dim, output_dim, **kwargs)


from rnnlab.encoder import Encoder  # noqa: E402, F401
from rnnlab.seq2seq import Seq2Seq  # noqa: E402, F401
from rnnlab.tagger import Tagger  # noqa: E402, F401
