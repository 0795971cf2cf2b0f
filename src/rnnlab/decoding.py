"""Decoding a trained sequence model: greedy search and beam search. Chapter 6 ("Seq2seq with
attention").

Both functions work with any decoder, with or without attention, through one callable:

    step(tokens, state) -> (log_probs, new_state)
        tokens:    (B,) int, the previous output symbol of each of B hypotheses
        state:     an array with B rows (axis 0), or a tuple / list / dict of such arrays
                   (e.g. the decoder state and the encoder outputs attention reads)
        log_probs: (B, V) log p(next symbol | hypothesis), each row a log-softmax

Beam search reorders the hypotheses by indexing axis 0 of every array in the state, so
everything in the state must have the hypotheses on axis 0.

Beam search (width k) keeps the k most probable partial outputs instead of only the most
probable one. It usually finds outputs of higher model probability than greedy search, but it is
a heuristic, not an exact search: a wider beam is *not guaranteed* to score higher. Pruning can
drop a prefix whose continuation would have been the best (``tests/test_decoding.py`` builds such
a model). Width 1 is exactly greedy search.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rnnlab.validation import check_positive_int

Step = Callable[[np.ndarray, Any], tuple[np.ndarray, Any]]


def take_rows(state, rows: np.ndarray):
    """state with every array indexed along axis 0 by `rows` (a copy), structure kept."""
    if isinstance(state, np.ndarray):
        return state[rows]
    if isinstance(state, tuple | list):
        return type(state)(take_rows(s, rows) for s in state)
    if isinstance(state, dict):
        return {k: take_rows(v, rows) for k, v in state.items()}
    if state is None:
        return None
    raise TypeError(f"state must be an array or a tuple/list/dict of arrays; got "
                    f"{type(state).__name__}")


def _batch_size(state) -> int:
    sizes = set()

    def visit(s):
        if isinstance(s, np.ndarray):
            if s.ndim == 0:
                raise ValueError("state arrays need the hypotheses on axis 0; got a 0-d array")
            sizes.add(s.shape[0])
        elif isinstance(s, tuple | list):
            for a in s:
                visit(a)
        elif isinstance(s, dict):
            for a in s.values():
                visit(a)
        elif s is not None:
            raise TypeError(f"state must be an array or a tuple/list/dict of arrays; got "
                            f"{type(s).__name__}")

    visit(state)
    if len(sizes) != 1:
        raise ValueError(f"every array in state must have the same batch size on axis 0; got "
                         f"sizes {sorted(sizes) or 'none (no array in state)'}")
    return sizes.pop()


def _call_step(step: Step, tokens: np.ndarray, state):
    log_probs, state = step(tokens, state)
    log_probs = np.asarray(log_probs, dtype=np.float64)
    if log_probs.ndim != 2 or log_probs.shape[0] != len(tokens):
        raise ValueError(f"step must return log_probs of shape (B={len(tokens)}, V); got "
                         f"{log_probs.shape}")
    total = np.exp(log_probs).sum(axis=1)
    if np.any(np.isnan(log_probs)) or np.any(np.abs(total - 1) > 1e-6):
        raise ValueError("step must return log-probabilities (each row's exp sums to 1); got "
                         f"rows summing to {total.min():.4g} … {total.max():.4g} "
                         "(apply a log-softmax to the logits)")
    return log_probs, state


def _check_symbols(start, end, max_len):
    for name, value in (("start", start), ("end", end)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            raise ValueError(f"{name} must be a non-negative symbol index; got {value!r}")
    return check_positive_int("max_len", max_len)


def greedy_decode(step: Step, state, *, start: int, end: int, max_len: int):
    """Greedy search: at every step take the most probable symbol and feed it back. Chapter 6.

    step:    the decoder's step function (see the module docstring)
    state:   the initial decoder state, N rows (e.g. the encoder's final state)
    start:   the start symbol fed at the first step
    end:     the end symbol; a sequence stops after emitting it
    max_len: the most symbols emitted per sequence
    Returns (sequences, log_probs): a list of N int arrays (each ends with `end` unless it was
    cut at max_len) and (N,) their log-probabilities under the model.
    """
    max_len = _check_symbols(start, end, max_len)
    N = _batch_size(state)
    tokens = np.full(N, start, dtype=np.int64)
    done = np.zeros(N, dtype=bool)
    total = np.zeros(N)
    steps: list[np.ndarray] = []
    for _ in range(max_len):
        log_probs, state = _call_step(step, tokens, state)
        tokens = log_probs.argmax(axis=1)  # the first maximum, like beam search's tie-break
        total += np.where(done, 0.0, log_probs[np.arange(N), tokens])
        steps.append(np.where(done, end, tokens))
        done |= tokens == end
        if done.all():
            break
    out = np.stack(steps, axis=1)
    sequences = []
    for row in out:
        stop = np.flatnonzero(row == end)
        sequences.append(row[:stop[0] + 1].copy() if stop.size else row.copy())
    return sequences, total


def beam_search(step: Step, state, *, start: int, end: int, max_len: int, beam_width: int,
                length_penalty: float = 0.0):
    """Beam search: keep the `beam_width` most probable partial outputs at every step. Chapter 6.

    step, state, start, end, max_len: as for ``greedy_decode``
    beam_width:     k, the number of hypotheses kept (k = 1 is greedy search)
    length_penalty: α ≥ 0; finished hypotheses are ranked by log p / length^α (length counts the
                    end symbol). α = 0 ranks by log-probability, which favours short outputs;
                    α = 1 by the mean log-probability per symbol.
    At each step all k·V one-symbol extensions of the live hypotheses are ranked by
    log-probability and the best k kept; those that end in `end` are finished and leave the
    beam. The search stops when no live hypothesis is left, when none can still beat the best
    finished one, or at max_len (where the unfinished ones count as finished).
    Returns (sequences, log_probs, scores): N int arrays, (N,) their log-probabilities and (N,)
    the length-normalised scores that chose them.
    """
    max_len = _check_symbols(start, end, max_len)
    k = check_positive_int("beam_width", beam_width)
    if np.ndim(length_penalty) != 0 or not np.isfinite(length_penalty) or length_penalty < 0:
        raise ValueError(f"length_penalty must be a finite number >= 0; got {length_penalty!r}")
    N = _batch_size(state)
    sequences, log_probs, scores = [], np.zeros(N), np.zeros(N)
    for n in range(N):
        seq, lp = _beam_search_one(step, take_rows(state, np.array([n])), start, end, max_len,
                                   k, float(length_penalty))
        sequences.append(seq)
        log_probs[n] = lp
        scores[n] = lp / len(seq) ** length_penalty
    return sequences, log_probs, scores


def _beam_search_one(step, state, start, end, max_len, k, alpha):
    live = [((), 0.0)]  # (symbols so far, log-probability)
    finished = []
    for _ in range(max_len):
        prev = np.array([seq[-1] if seq else start for seq, _ in live], dtype=np.int64)
        log_probs, new_state = _call_step(step, prev, state)
        V = log_probs.shape[1]
        cand = np.array([lp for _, lp in live])[:, None] + log_probs  # (B, V)
        # the k best extensions; a stable sort breaks ties towards the lower index, as argmax
        best = np.argsort(-cand.ravel(), kind="stable")[:k]
        keep_rows, new_live = [], []
        for j in best:
            b, symbol = divmod(int(j), V)
            if not np.isfinite(cand[b, symbol]):
                continue  # a symbol the model rules out (log p = −inf) is no hypothesis
            hyp = (live[b][0] + (symbol,), float(cand[b, symbol]))
            if symbol == end:
                finished.append(hyp)
            else:
                new_live.append(hyp)
                keep_rows.append(b)
        live = new_live
        if not live or (finished and _done(finished, live, max_len, alpha)):
            break
        state = take_rows(new_state, np.array(keep_rows))
    else:
        finished.extend(live)  # max_len reached: the unfinished hypotheses count too
    best_seq, best_lp = max(finished, key=lambda h: _score(h, alpha))
    return np.array(best_seq, dtype=np.int64), best_lp


def _score(hyp, alpha: float) -> float:
    return hyp[1] / len(hyp[0]) ** alpha


def _done(finished, live, max_len: int, alpha: float) -> bool:
    """True when no live hypothesis can still beat the best finished one.

    Log-probabilities only decrease as a hypothesis grows, and its length is at most max_len,
    so a live hypothesis with log p = l ≤ 0 ends with a score of at most l / max_len^α.
    """
    best_live = max(lp for _, lp in live)
    return max(_score(h, alpha) for h in finished) >= best_live / max_len ** alpha
