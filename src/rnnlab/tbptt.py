"""Truncated backpropagation through time (Williams & Peng 1990; Sutskever 2013, §3.2).

The sequence is cut into chunks of k steps. The forward pass runs through the chunks in order and
**carries the state forward as a value**, so the predictions are exactly those of the full forward
pass. The backward pass stays inside each chunk: no gradient crosses a chunk boundary. Memory for
the caches is O(k) instead of O(T), and the price is that a dependency longer than k steps
receives no gradient at all.

With k ≥ T there is one chunk and the result is the full BPTT gradient.
"""

from __future__ import annotations

import numpy as np

from rnnlab.models import SequenceModel
from rnnlab.validation import check_mask, check_positive_int


def chunk_bounds(T: int, k: int) -> list[tuple[int, int]]:
    """[(start, stop), …] covering 0 … T in chunks of k steps (the last may be shorter). Chapter 3.

    T: sequence length >= 1
    k: chunk length >= 1
    """
    T = check_positive_int("T", T)
    k = check_positive_int("k", k)
    return [(s, min(s + k, T)) for s in range(0, T, k)]


def truncated_bptt(model: SequenceModel, x, targets, k: int, mask=None, h0=None):
    """Loss and k-step truncated gradient of a many-to-many model over a long sequence. Chapter 3.

    model:   a SequenceModel with output="sequence"
    x:       (N, T, D) inputs
    targets: (N, T, M) for loss="mse", (N, T) integer classes for loss="softmax"
    k:       chunk length >= 1 (k >= T is full BPTT)
    mask:    (N, T) of 0/1, or None: every position counts
    h0:      initial state as model.forward takes it, or None for zeros
    Returns (loss, grads, states): the loss of the whole sequence (equal to ``model.loss``'s),
    grads = Σ_chunks (share of positions) · ∇ loss_chunk with the chunk's incoming state held
    fixed, and the list of states that entered each chunk. ``model.grads`` is set to grads and
    ``model.final_state`` to the state after the last step.
    """
    if model.output != "sequence":
        raise ValueError("truncated_bptt needs a many-to-many model (output='sequence')")
    x = model.check_input(x)
    N, T, _ = x.shape
    k = check_positive_int("k", k)
    targets = np.asarray(targets)
    if targets.shape[:2] != (N, T):
        raise ValueError(f"targets must start with the axes (N={N}, T={T}) of x; got "
                         f"{targets.shape}")
    weights = np.ones((N, T)) if mask is None else check_mask(mask, (N, T), np.float64)
    total = weights.sum()
    state = model.initial_state(N) if h0 is None else h0
    grads = {name: np.zeros_like(p) for name, p in model.params.items()}
    loss, states = 0.0, []
    for start, stop in chunk_bounds(T, k):
        states.append(state)
        share = weights[:, start:stop].sum() / total
        if share == 0:  # fully padded chunk: no loss, but the state still moves on
            model.forward(x[:, start:stop], state)
        else:
            chunk_mask = None if mask is None else weights[:, start:stop]
            loss += share * model.loss(x[:, start:stop], targets[:, start:stop], chunk_mask,
                                       h0=state)
            for name, g in model.grads.items():
                grads[name] += share * g
        state = model.final_state  # a value: the next chunk's backward stops here
    model.grads = grads
    return float(loss), grads, states
