"""Sentence classifiers: bag-of-words logistic regression and an embedding + RNN encoder.
Chapter 6 ("Text classification on real data").

Both models take the same input, padded word indices and lengths (``Vocabulary.encode_batch``),
and give class logits (N, C); ``loss`` runs forward and backward and fills ``grads``, so the
optimisers of ``rnnlab.optim`` and ``fit`` below train either.

* ``BagOfWordsClassifier``: logits = bow(ids) W + b, one weight per word and class, blind to
  word order ("not good" and "good, not bad" have nearly the same features).
* ``RNNClassifier``: embedding lookup (``layers.embedding_forward``), a (bi)directional RNN, LSTM
  or GRU (``models.Encoder``, which honours the lengths), pooling over each sentence's real
  steps (``pool_forward``) and an affine output layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from rnnlab import init, layers
from rnnlab.encoder import Encoder
from rnnlab.text_data import bag_of_words, check_ids_and_lengths
from rnnlab.validation import (
    as_float_array,
    check_choice,
    check_finite,
    check_nonneg_int,
    check_positive_int,
    check_shape,
)

# -- the functional core ---------------------------------------------------------------------


class LinearCache(NamedTuple):
    x: np.ndarray  # (N, F)
    W: np.ndarray  # (F, C)


def logistic_regression_forward(x, W, b):
    """Class scores of a (multinomial) logistic regression: logits = x W + b. Chapter 6.

    x: (N, F) features (e.g. ``text_data.bag_of_words``)
    W: (F, C) one weight per feature and class
    b: (C,)   class biases
    Returns logits: (N, C) (softmax gives the class probabilities) and the cache.
    """
    x = as_float_array("x", x)
    check_shape("x", x, (None, None), "N, F")
    W = as_float_array("W", W, x.dtype)
    check_shape("W", W, (x.shape[1], None), "F, C")
    b = as_float_array("b", b, x.dtype)
    check_shape("b", b, (W.shape[1],), "C")
    return x @ W + b, LinearCache(x.copy(), W.copy())


def logistic_regression_backward(dlogits, cache: LinearCache):
    """Backward pass of ``logistic_regression_forward``.

    dlogits: (N, C) upstream gradient ∂L/∂logits
    Returns dx: (N, F), dW: (F, C), db: (C,).
    """
    x, W = cache
    dlogits = as_float_array("dlogits", dlogits, x.dtype)
    check_shape("dlogits", dlogits, (x.shape[0], W.shape[1]), "N, C")
    return dlogits @ W.T, x.T @ dlogits, dlogits.sum(axis=0)


class PoolCache(NamedTuple):
    mask: np.ndarray  # (N, T) 1.0 at real steps
    lengths: np.ndarray  # (N,)
    mode: str
    directions: int
    shape: tuple[int, int, int]


POOLING = ("mean", "last")


def pool_forward(h, lengths, mode: str = "mean", directions: int = 1):
    """One vector per sentence from the encoder's states at its real steps. Chapter 6.

    h:          (N, T, F) encoder outputs, F = directions · H, zero (ignored) after each length
    lengths:    (N,) number of real steps of each sentence, in [1, T]
    mode:       "mean": (1/len) Σ_{t < len} h_t, the average over the real steps;
                "last": the final state of each direction, h_{len−1} of the forward one and,
                if directions = 2, h_0 of the reverse one (which read the sentence backwards)
    directions: 1, or 2 for a bidirectional encoder (h = [forward | reverse] along F)
    Returns pooled: (N, F) and the cache.
    """
    h = as_float_array("h", h)
    check_shape("h", h, (None, None, None), "N, T, F")
    check_choice("mode", mode, POOLING)
    if directions not in (1, 2) or h.shape[2] % directions:
        raise ValueError(f"directions must be 1 or 2 and divide F={h.shape[2]}; got "
                         f"{directions!r}")
    N, T, F = h.shape
    lengths = np.asarray(lengths)
    if lengths.dtype.kind not in "iu" or lengths.shape != (N,) \
            or np.any((lengths < 1) | (lengths > T)):
        raise ValueError(f"lengths must be integers in [1, T={T}] of shape (N={N},); got shape "
                         f"{lengths.shape}, dtype {lengths.dtype}")
    mask = (np.arange(T)[None, :] < lengths[:, None]).astype(h.dtype)
    if mode == "mean":
        pooled = (h * mask[:, :, None]).sum(axis=1) / lengths[:, None]
    else:
        H = F // directions
        pooled = h[np.arange(N), lengths - 1].copy()
        if directions == 2:
            pooled[:, H:] = h[:, 0, H:]
    return pooled, PoolCache(mask, lengths.copy(), mode, directions, h.shape)


def pool_backward(dpooled, cache: PoolCache):
    """Backward pass of ``pool_forward``: dpooled (N, F) -> dh (N, T, F), zero at padding."""
    mask, lengths, mode, directions, (N, T, F) = cache
    dpooled = as_float_array("dpooled", dpooled, mask.dtype)
    check_shape("dpooled", dpooled, (N, F), "N, F")
    if mode == "mean":
        return mask[:, :, None] * (dpooled / lengths[:, None])[:, None, :]
    dh = np.zeros((N, T, F), dtype=mask.dtype)
    H = F // directions
    dh[np.arange(N), lengths - 1, :H] = dpooled[:, :H]
    if directions == 2:
        dh[:, 0, H:] = dpooled[:, H:]
    return dh


# -- thin classes ----------------------------------------------------------------------------


def _check_labels(labels, N: int, C: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu" or labels.shape != (N,):
        raise ValueError(f"labels must be an integer array of shape (N={N},); got shape "
                         f"{labels.shape} of dtype {labels.dtype}")
    if np.any((labels < 0) | (labels >= C)):
        raise ValueError(f"labels must lie in [0, C={C}); got min {labels.min()}, "
                         f"max {labels.max()}")
    return labels


class BagOfWordsClassifier:
    """Logistic regression on binary bag-of-words features, with an L2 penalty. Chapter 6.

    vocab_size:  V (``Vocabulary.size``)
    num_classes: C
    l2:          λ ≥ 0; the loss adds (λ/2) ‖W‖² (not the biases)
    seed:        seeds the small random initial weights, N(0, 0.01²)
    """

    def __init__(self, vocab_size: int, num_classes: int = 2, *, l2: float = 0.0,
                 seed: int = 0) -> None:
        self.V = check_positive_int("vocab_size", vocab_size)
        self.C = check_positive_int("num_classes", num_classes)
        self.l2 = check_finite("l2", l2, minimum=0.0)
        rng = np.random.default_rng(seed)
        self.params = {"W": 0.01 * rng.standard_normal((self.V, self.C)),
                       "b": np.zeros(self.C)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    @property
    def num_params(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    def forward(self, ids, lengths) -> np.ndarray:
        """ids: (N, T), lengths: (N,) -> logits: (N, C)."""
        x = bag_of_words(ids, lengths, self.V)
        return logistic_regression_forward(x, self.params["W"], self.params["b"])[0]

    def loss(self, ids, lengths, labels) -> float:
        """Mean cross-entropy + (λ/2)‖W‖²; fills ``self.grads`` (a new dict each call)."""
        x = bag_of_words(ids, lengths, self.V)
        labels = _check_labels(labels, x.shape[0], self.C)
        W = self.params["W"]
        logits, cache = logistic_regression_forward(x, W, self.params["b"])
        value, dlogits = layers.softmax_cross_entropy(logits, labels)
        _, dW, db = logistic_regression_backward(dlogits, cache)
        self.grads = {"W": dW + self.l2 * W, "b": db}
        return value + 0.5 * self.l2 * float(np.sum(W * W))

    def predict(self, ids, lengths) -> np.ndarray:
        return self.forward(ids, lengths).argmax(axis=1)


class RNNClassifier:
    """Learned word embeddings, a recurrent encoder, pooling and an output layer. Chapter 6.

    vocab_size:    V; row 0 of the embedding table belongs to ``<pad>`` and never gets a gradient
    embed_dim:     E, the size of each word vector
    hidden_dim:    H, the state size of each direction
    num_classes:   C
    cell:          "rnn", "lstm" or "gru" (``models.Encoder``)
    bidirectional: also read each sentence from its last word to its first
    pooling:       "mean" over the real steps, or the "last" state of each direction
    seed:          seeds all initial weights (embeddings N(0, 0.1²), encoder, output layer)

    ``params``/``grads`` are dicts with the same keys: ``embedding``, ``encoder.<name>`` (the
    encoder's own arrays, shared, so an optimiser's in-place update reaches the encoder), ``Wy``
    and ``by``.
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden_dim: int, num_classes: int = 2,
                 *, cell: str = "gru", bidirectional: bool = False, pooling: str = "mean",
                 seed: int = 0) -> None:
        self.V = check_positive_int("vocab_size", vocab_size)
        self.E = check_positive_int("embed_dim", embed_dim)
        self.C = check_positive_int("num_classes", num_classes)
        self.pooling = check_choice("pooling", pooling, POOLING)
        check_nonneg_int("seed", seed)
        rng = np.random.default_rng(seed)
        self.encoder = Encoder(cell, self.E, hidden_dim, bidirectional=bidirectional,
                               seed=int(rng.integers(2**31)))
        F = self.encoder.dirs * self.encoder.H
        self._own = {"embedding": 0.1 * rng.standard_normal((self.V, self.E)),
                     "Wy": init.xavier_uniform((F, self.C), rng), "by": np.zeros(self.C)}
        self._own["embedding"][0] = 0.0  # <pad>: never read at a real step
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self._cache = None

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {"embedding": self._own["embedding"],
                **{f"encoder.{k}": v for k, v in self.encoder.params.items()},
                "Wy": self._own["Wy"], "by": self._own["by"]}

    @property
    def num_params(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    def _forward(self, ids, lengths):
        ids, lengths = check_ids_and_lengths(ids, lengths, self.V)
        emb, emb_cache = layers.embedding_forward(ids, self._own["embedding"])
        h, _ = self.encoder.forward(emb, lengths)
        pooled, pool_cache = pool_forward(h, lengths, self.pooling, self.encoder.dirs)
        logits, out_cache = logistic_regression_forward(pooled, self._own["Wy"],
                                                        self._own["by"])
        return logits, (emb_cache, pool_cache, out_cache)

    def forward(self, ids, lengths) -> np.ndarray:
        """ids: (N, T) word indices, lengths: (N,) -> logits: (N, C)."""
        return self._forward(ids, lengths)[0]

    def loss(self, ids, lengths, labels) -> float:
        """Mean cross-entropy; runs the backward pass and fills ``self.grads`` (a new dict)."""
        logits, (emb_cache, pool_cache, out_cache) = self._forward(ids, lengths)
        labels = _check_labels(labels, logits.shape[0], self.C)
        value, dlogits = layers.softmax_cross_entropy(logits, labels)
        dpooled, dWy, dby = logistic_regression_backward(dlogits, out_cache)
        demb = self.encoder.backward(pool_backward(dpooled, pool_cache))
        dE = layers.embedding_backward(demb, emb_cache)
        self.grads = {"embedding": dE,
                      **{f"encoder.{k}": v for k, v in self.encoder.grads.items()},
                      "Wy": dWy, "by": dby}
        return value

    def predict(self, ids, lengths) -> np.ndarray:
        return self.forward(ids, lengths).argmax(axis=1)


# -- training with early stopping on validation accuracy -------------------------------------


@dataclass
class FitHistory:
    """Per epoch: the mean training loss and the validation accuracy; the epoch kept."""

    train_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    best_epoch: int = 0  # 1-based; the parameters of this epoch are restored


def accuracy(model, ids, lengths, labels, batch_size: int = 256) -> float:
    """Fraction of sentences whose predicted class equals the label."""
    preds = predict_in_batches(model, ids, lengths, batch_size)
    return float(np.mean(preds == np.asarray(labels)))


def predict_in_batches(model, ids, lengths, batch_size: int = 256) -> np.ndarray:
    """model.predict over (N, T) ids: sentences of similar length batched together, each batch
    cut to its own longest sentence; the predictions come back in the order of `ids`."""
    order = np.argsort(lengths, kind="stable")
    preds = np.empty(len(ids), dtype=np.int64)
    for s in range(0, len(ids), batch_size):
        idx = order[s:s + batch_size]
        L = lengths[idx]
        preds[idx] = model.predict(ids[idx, :L.max()], L)
    return preds


def length_buckets(lengths, batch_size: int, rng: np.random.Generator,
                   chunk: int = 20) -> list[np.ndarray]:
    """Minibatches of similar-length sentences, in random order (bucketing). Chapter 6.

    Shuffle, cut into chunks of `chunk` batches, sort each chunk by length, cut it into
    batches, shuffle the batches: a padded batch then wastes few steps, and which sentences
    meet in a batch still changes every epoch.
    """
    order = rng.permutation(len(lengths))
    batches = []
    for s in range(0, len(order), chunk * batch_size):
        part = order[s:s + chunk * batch_size]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches += [part[i:i + batch_size] for i in range(0, len(part), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def _check_split(name: str, split, model) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids, lengths, labels) of one split, checked against the model's V and C."""
    if not isinstance(split, tuple | list) or len(split) != 3:
        got = f"{len(split)} items" if isinstance(split, tuple | list) else type(split).__name__
        raise TypeError(f"{name} must be a tuple (ids, lengths, labels), as "
                        f"(*vocab.encode_batch(texts), labels); got {got}")
    ids, lengths = check_ids_and_lengths(split[0], split[1], model.V)
    return ids, lengths, _check_labels(split[2], ids.shape[0], model.C)


def fit(model, optimizer, train_data, val_data, *, epochs: int, batch_size: int = 32,
        patience: int | None = None, seed: int = 0) -> FitHistory:
    """Minibatch training; keeps the parameters of the epoch with the best validation accuracy.
    Chapter 6.

    model:      a BagOfWordsClassifier or RNNClassifier
    optimizer:  e.g. ``optim.Adam(lr=0.01)``
    train_data: (ids (N, T), lengths (N,), labels (N,))
    val_data:   the same for the validation split (never the test split)
    epochs:     maximum number of passes over the training data
    patience:   stop after this many epochs without a better validation accuracy (None: never)
    seed:       seeds the order of the training sentences in every epoch (``length_buckets``)
    Ties in validation accuracy keep the earlier epoch.
    """
    epochs = check_positive_int("epochs", epochs)
    batch_size = check_positive_int("batch_size", batch_size)
    if patience is not None:
        patience = check_positive_int("patience", patience)
    ids, lengths, labels = _check_split("train_data", train_data, model)
    val_data = _check_split("val_data", val_data, model)
    rng = np.random.default_rng(seed)
    history = FitHistory()
    best: dict[str, np.ndarray] = {}  # set in epoch 1: every accuracy beats -1
    best_acc = -1.0
    for epoch in range(1, epochs + 1):
        losses = []
        for idx in length_buckets(lengths, batch_size, rng):
            L = lengths[idx]
            losses.append(model.loss(ids[idx, :L.max()], L, labels[idx]))
            optimizer.step(model.params, model.grads)
        history.train_loss.append(float(np.mean(losses)))
        acc = accuracy(model, *val_data)
        history.val_accuracy.append(acc)
        if acc > best_acc:
            best_acc, history.best_epoch = acc, epoch
            best = {k: v.copy() for k, v in model.params.items()}
        elif patience is not None and epoch - history.best_epoch >= patience:
            break
    for k, v in model.params.items():
        v[...] = best[k]  # in place: the model (and its encoder) keep their arrays
    return history


__all__ = ["BagOfWordsClassifier", "FitHistory", "RNNClassifier", "accuracy", "fit",
           "length_buckets", "logistic_regression_backward", "logistic_regression_forward",
           "pool_backward", "pool_forward", "predict_in_batches"]
