"""A sequence tagger: one label per position, read from a (deep, bidirectional) encoder. Chapter 5
("Deep and bidirectional RNNs").

    out_1 … out_T = Encoder(x_1 … x_T)                 (models.Encoder: L layers, 1 or 2 directions)
    p(y_t | x_1 … x_T) = softmax(out_t Wy + by)         (the same output layer at every position)

With ``bidirectional=True``, out_t = [h→_t ; h←_t] holds the forward state (it has read x_1 … x_t)
and the reverse state (it has read x_T … x_t): the label at t may depend on the whole sequence.
Without it, out_t has read only x_1 … x_t. The output layer is *affine*: in a one-layer
bidirectional tagger the two directions meet only there, as a sum of a term from each; a second
layer lets them interact non-linearly before the output (Graves, Mohamed & Hinton 2013).

The maths is that of the layers it is built from: ``Encoder.forward/backward``,
``layers.temporal_affine_forward/backward`` and ``layers.softmax_cross_entropy``; this class only
chains them and keeps ``params`` / ``grads`` under one set of names for ``rnnlab.optim``.
"""

from __future__ import annotations

import numpy as np

from rnnlab import init, layers
from rnnlab.encoder import Encoder
from rnnlab.validation import check_positive_int


class Tagger:
    """Encoder + per-position softmax output layer, trained by cross-entropy. Chapter 5.

    cell:          "rnn", "lstm" or "gru" (as ``models.Encoder``)
    input_dim:     D, the size of each input vector
    hidden_dim:    H, the size of each direction's hidden state
    num_classes:   M, the number of labels
    num_layers:    L, encoder layers stacked on top of each other
    bidirectional: also read every layer from the last step to the first
    seed:          seeds the initial weights (encoder, then output layer)
    dropout:       p of the dropout between the encoder's layers (training mode only)

    ``params`` and ``grads`` are dicts with the same keys: the encoder's (``Wx_l0``, …,
    ``…_reverse``) and the output layer's ``Wy`` (dirs·H, M), ``by`` (M,).
    """

    def __init__(self, cell: str, input_dim: int, hidden_dim: int, num_classes: int, *,
                 num_layers: int = 1, bidirectional: bool = False, seed: int = 0,
                 dropout: float = 0.0) -> None:
        self.encoder = Encoder(cell, input_dim, hidden_dim, num_layers=num_layers,
                               bidirectional=bidirectional, seed=seed, dropout=dropout)
        self.M = check_positive_int("num_classes", num_classes)
        rng = np.random.default_rng([seed, 1])  # the output layer's own stream
        width = self.encoder.dirs * self.encoder.H
        self.head = {"Wy": init.xavier_uniform((width, self.M), rng), "by": np.zeros(self.M)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    @property
    def params(self) -> dict[str, np.ndarray]:
        """Every trainable array by name (the arrays themselves, which optimisers update)."""
        return {**self.encoder.params, **self.head}

    def train(self, mode: bool = True) -> Tagger:
        """Training mode (dropout on) or, with mode=False, evaluation mode. Returns self."""
        self.encoder.train(mode)
        return self

    def eval(self) -> Tagger:
        """Evaluation mode: no dropout. Returns self."""
        return self.train(False)

    @property
    def num_params(self) -> int:
        """Number of scalar parameters, output layer included."""
        return int(sum(p.size for p in self.params.values()))

    def _forward(self, x, lengths):
        out, _ = self.encoder.forward(x, lengths)
        return layers.temporal_affine_forward(out, self.head["Wy"], self.head["by"])

    def forward(self, x, lengths=None) -> np.ndarray:
        """Logits at every position. Chapter 5.

        x:       (N, T, D) inputs
        lengths: (N,) real steps of each sequence, or None (all T); see ``models.Encoder``
        Returns logits: (N, T, M).
        """
        return self._forward(x, lengths)[0]

    def predict(self, x, lengths=None) -> np.ndarray:
        """The most probable label at every position: (N, T) integers in [0, M).

        Runs in the current mode: call ``eval()`` first if the tagger was trained with dropout.
        """
        return self.forward(x, lengths).argmax(axis=-1)

    def loss(self, x, targets, mask=None, lengths=None) -> float:
        """Mean cross-entropy over the positions that count; fills ``self.grads``. Chapter 5.

        x:       (N, T, D) inputs
        targets: (N, T) integer labels in [0, M)
        mask:    (N, T) 0/1, the positions that count (None: all; with lengths, the padded
                 positions are left out automatically)
        lengths: (N,) real steps of each sequence, or None
        """
        logits, head_cache = self._forward(x, lengths)
        if lengths is not None:
            pad = np.arange(logits.shape[1])[None, :] < np.asarray(lengths)[:, None]
            mask = pad if mask is None else np.asarray(mask) * pad
        value, dlogits = layers.softmax_cross_entropy(logits, targets, mask)
        dout, dWy, dby = layers.temporal_affine_backward(dlogits, head_cache)
        self.encoder.backward(dout)
        # A new dict every call: gradients handed out earlier are never overwritten.
        self.grads = {**self.encoder.grads, "Wy": dWy, "by": dby}
        return value
