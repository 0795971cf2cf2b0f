"""Inverted dropout (Srivastava et al. 2014), for use between stacked recurrent layers. Chapter 5
("Deep and bidirectional RNNs").

In training, every entry is kept with probability 1 − p and scaled by 1/(1 − p), so that its
expected value is unchanged and evaluation needs no rescaling:

    out = x ⊙ m / (1 − p),   m_i ~ Bernoulli(1 − p);        in evaluation, out = x.

Where it goes in an RNN: on the connections *between* layers (and before the output layer), never
on the recurrent connection h_{t−1} → h_t with a fresh mask at every step, which multiplies the
memory by T independent random masks (Zaremba, Sutskever & Vinyals 2014). Gal & Ghahramani (2016)
drop the recurrent connection too, but with *one* mask for all steps of a sequence.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnlab.validation import as_float_array


class DropoutCache(NamedTuple):
    scaled_mask: np.ndarray | None  # m / (1 − p), x's shape; None when dropout was the identity


def check_dropout_p(p: float, name: str = "p") -> float:
    """p as a float in [0, 1), or a ValueError naming it."""
    if isinstance(p, bool) or not isinstance(p, int | float | np.integer | np.floating) \
            or not 0 <= p < 1:
        raise ValueError(f"{name} must be a probability in [0, 1); got {p!r}")
    return float(p)


def dropout_forward(x, p: float, *, training: bool = True, rng: np.random.Generator | None = None,
                    mask=None):
    """Inverted dropout. Chapter 5.

    x:        any shape, float32 or float64
    p:        probability of dropping (zeroing) each entry, in [0, 1)
    training: False = evaluation: the identity, whatever p
    rng:      the generator that draws the mask (needed when training with p > 0 and no mask)
    mask:     optional fixed 0/1 keep-mask of x's shape (a gradient check, or a mask to reuse)
    Returns out: x's shape, x ⊙ m / (1 − p), and the cache for ``dropout_backward``.
    """
    x = as_float_array("x", x)
    p = check_dropout_p(p)
    if not training or (p == 0 and mask is None):
        return x.copy(), DropoutCache(None)
    if mask is None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator when training with p > 0 and "
                            f"no mask; got {type(rng).__name__}")
        keep = rng.random(x.shape) >= p
    else:
        keep = np.asarray(mask)
        if keep.shape != x.shape:
            raise ValueError(f"mask must have the shape of x {x.shape}; got {keep.shape}")
        if keep.dtype.kind not in "biuf" or not np.all((keep == 0) | (keep == 1)):
            raise ValueError("mask must contain only 0/1 (or False/True) values")
    scaled = keep.astype(x.dtype) / x.dtype.type(1 - p)
    return x * scaled, DropoutCache(scaled)


def dropout_backward(dout, cache: DropoutCache) -> np.ndarray:
    """Backward pass of ``dropout_forward``: dx = dout ⊙ m / (1 − p). Chapter 5.

    dout:  the shape of the forward's x, the upstream gradient
    cache: the DropoutCache from dropout_forward
    Returns dx.
    """
    if not isinstance(cache, DropoutCache):
        raise TypeError(f"cache must be the DropoutCache returned by dropout_forward; got "
                        f"{type(cache).__name__}")
    dout = as_float_array("dout", dout)
    if cache.scaled_mask is None:
        return dout.copy()
    if dout.shape != cache.scaled_mask.shape:
        raise ValueError(f"dout must have the shape of the forward's x "
                         f"{cache.scaled_mask.shape}; got {dout.shape}")
    return dout * cache.scaled_mask
