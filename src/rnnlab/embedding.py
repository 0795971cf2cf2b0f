"""Learned embeddings: a lookup table of one D-dimensional vector per symbol. Chapter 6
("Seq2seq with attention").

Looking up row ``idx`` of W is the same as multiplying a one-hot vector by W, without building
the (N, T, V) one-hot array: ``onehot(idx) @ W == W[idx]``. The backward pass is the transpose
of that product, a scatter-add: every occurrence of a symbol adds its upstream gradient to that
symbol's row, so a symbol used three times in a batch gets three contributions.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnlab.validation import as_float_array, check_shape


class EmbeddingCache(NamedTuple):
    idx: np.ndarray  # (N, T) a copy of the indices
    W_shape: tuple[int, int]
    dtype: np.dtype


def check_indices(name: str, idx, V: int) -> np.ndarray:
    """An integer (N, T) array with entries in [0, V); returned as a fresh int64 copy."""
    arr = np.asarray(idx)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer symbol indices; got dtype {arr.dtype}")
    check_shape(name, arr, (None, None), "N, T")
    bad = (arr < 0) | (arr >= V)
    if np.any(bad):
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} must lie in [0, V={V}); got {int(np.count_nonzero(bad))} "
                         f"indices outside it, the first {int(arr[first])} at {first}")
    return arr.astype(np.int64, copy=True)


def embedding_forward(idx, W):
    """Look up one vector per symbol: out[n, t] = W[idx[n, t]]. Chapter 6.

    idx: (N, T) integer symbol indices in [0, V)
    W:   (V, D) embedding table, one row per symbol
    Returns out: (N, T, D) and the cache for ``embedding_backward``.
    """
    W = as_float_array("W", W)
    check_shape("W", W, (None, None), "V, D")
    idx = check_indices("idx", idx, W.shape[0])
    return W[idx], EmbeddingCache(idx, W.shape, W.dtype)


def embedding_backward(dout, cache: EmbeddingCache):
    """Backward pass of ``embedding_forward``: repeated indices accumulate.

    dout: (N, T, D) upstream gradient ∂L/∂out
    Returns dW: (V, D); rows of symbols that did not occur are zero.
    """
    idx, (V, D), dtype = cache
    dout = as_float_array("dout", dout, dtype)
    check_shape("dout", dout, (*idx.shape, D), "N, T, D")
    dW = np.zeros((V, D), dtype=dtype)
    # dW = onehot(idx).T @ dout, as an unbuffered scatter-add (dW[idx] += dout would count a
    # repeated index only once).
    np.add.at(dW, idx.ravel(), dout.reshape(-1, D))
    return dW
