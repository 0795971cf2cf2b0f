"""Greedy and beam search (rnnlab.decoding) and the attention encoder–decoder (models.Seq2Seq):
gradients against centred finite differences, beam width 1 = greedy, wider beams against greedy
and against exhaustive search, a model where a wider beam scores *worse*, and input checks."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from rnnlab import decoding, models
from rnnlab.gradcheck import numerical_gradient, rel_error

TOL = 1e-7
START, END, V = 0, 1, 6


def _model(attention, seed=0, scale=0.8, E=4, H=5):
    """A Seq2Seq with random weights large enough for peaked, input-dependent distributions."""
    m = models.Seq2Seq(V, E, H, attention=attention, seed=seed)
    rng = np.random.default_rng(100 + seed)
    for v in m.params.values():
        v[...] = scale * rng.standard_normal(v.shape)
    return m


@pytest.mark.parametrize("attention", [None, "dot", "additive"])
def test_seq2seq_gradients(attention):
    m = _model(attention, seed=1, scale=0.5, E=2, H=3)
    rng = np.random.default_rng(2)
    src, dec_in, tgt = (rng.integers(2, V, (3, 4)), rng.integers(0, V, (3, 3)),
                        rng.integers(0, V, (3, 3)))
    lengths = np.array([4, 3, 2])
    tgt_mask = np.array([[1, 1, 1], [1, 1, 0], [1, 0, 1]])
    m.loss(src, dec_in, tgt, lengths, tgt_mask)
    analytic = dict(m.grads)
    for name, p in m.params.items():
        num = numerical_gradient(lambda: m.loss(src, dec_in, tgt, lengths, tgt_mask), p)
        err = rel_error(analytic[name], num)
        assert err < TOL, f"{name}: relative error {err:.2e}"


def test_padding_does_not_change_the_seq2seq_loss():
    m = _model("dot", seed=3)
    rng = np.random.default_rng(4)
    src, dec_in, tgt = rng.integers(2, V, (1, 3)), rng.integers(0, V, (1, 4)), \
        rng.integers(0, V, (1, 4))
    alone = m.loss(src, dec_in, tgt)
    padded = np.c_[src, [[5, 2]]]
    assert m.loss(padded, dec_in, tgt, np.array([3])) == pytest.approx(alone, rel=1e-13)
    w = m.attention_weights(padded, dec_in, np.array([3]))
    assert w.shape == (1, 4, 5) and np.all(w[..., 3:] == 0)


def test_parameter_counts():
    H, E = 5, 4
    counts = {a: models.Seq2Seq(V, E, H, attention=a).num_params for a in (None, "dot", "additive")}
    assert counts["dot"] - counts[None] == H * H  # only Wc grows: [c_t; s_t] is 2H wide
    assert counts["additive"] - counts["dot"] == 2 * H * H + H


@pytest.mark.parametrize("attention", [None, "dot", "additive"])
def test_beam_width_one_is_greedy(attention):
    m = _model(attention, seed=5)
    src = np.random.default_rng(6).integers(2, V, (8, 6))
    state = m.start_state(src)
    g_seq, g_lp = decoding.greedy_decode(m.decode_step, state, start=START, end=END, max_len=9)
    for alpha in (0.0, 1.0):
        b_seq, b_lp, _ = decoding.beam_search(m.decode_step, state, start=START, end=END,
                                              max_len=9, beam_width=1, length_penalty=alpha)
        for g, b in zip(g_seq, b_seq, strict=True):
            np.testing.assert_array_equal(g, b)
        np.testing.assert_allclose(b_lp, g_lp, rtol=0, atol=1e-12)


def _sequence_log_prob(m, src_row, seq):
    """log p(seq | src) recomputed by teacher forcing: checks the scores decoding reports."""
    state = m.start_state(src_row[None])
    total, prev = 0.0, START
    for symbol in seq:
        log_probs, state = m.decode_step(np.array([prev]), state)
        total += log_probs[0, symbol]
        prev = symbol
    return total


@pytest.mark.parametrize("attention", [None, "dot", "additive"])
def test_wider_beams_score_at_least_greedy_on_these_models(attention):
    """Not a theorem (see test_a_wider_beam_can_score_worse), but on these seeded models every
    wider beam finds outputs at least as probable as greedy's; a beam that reorders its states
    wrongly or mis-adds log-probabilities fails this."""
    m = _model(attention, seed=7)
    src = np.random.default_rng(8).integers(2, V, (10, 5))
    state = m.start_state(src)
    g_seq, g_lp = decoding.greedy_decode(m.decode_step, state, start=START, end=END, max_len=8)
    gains = []
    for k in (2, 3, 5):
        b_seq, b_lp, scores = decoding.beam_search(m.decode_step, state, start=START, end=END,
                                                   max_len=8, beam_width=k)
        np.testing.assert_array_equal(scores, b_lp)  # α = 0: the score is the log-probability
        assert np.all(b_lp >= g_lp - 1e-12)
        gains.append(np.sum(b_lp - g_lp))
        for row, seq, lp in zip(src, b_seq, b_lp, strict=True):
            assert _sequence_log_prob(m, row, seq) == pytest.approx(lp, abs=1e-12)
    assert max(gains) > 0.1  # the models leave room to improve on greedy, so this test can fail


def _toy_step(W, E):
    """A small deterministic decoder: state h (B, H); log p = log_softmax(tanh(h + E[tok]) W)."""
    def step(tokens, h):
        h = np.tanh(h + E[tokens])
        logits = h @ W
        logits -= logits.max(axis=1, keepdims=True)
        return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True)), h
    return step


def test_a_beam_covering_everything_is_exact_search():
    rng = np.random.default_rng(9)
    Vt, H, max_len = 3, 4, 4
    step = _toy_step(2 * rng.standard_normal((H, Vt)), rng.standard_normal((Vt, H)))
    h0 = rng.standard_normal((2, H))
    for n in range(2):
        # every output: ends at its first END (= 1), or is cut at max_len
        best = -np.inf
        for L in range(1, max_len + 1):
            for seq in itertools.product(range(Vt), repeat=L):
                if END in seq[:-1] or (L < max_len and seq[-1] != END):
                    continue
                lp, h, prev = 0.0, h0[n:n + 1], START
                for s in seq:
                    log_probs, h = step(np.array([prev]), h)
                    lp += log_probs[0, s]
                    prev = s
                best = max(best, lp)
        _, lp, _ = decoding.beam_search(step, h0[n:n + 1], start=START, end=END,
                                        max_len=max_len, beam_width=Vt ** max_len)
        assert lp[0] == pytest.approx(best, abs=1e-12)


def test_a_wider_beam_can_score_worse():
    """Beam search is a heuristic: here width 2 prunes greedy's prefix and ends up worse.

    Symbols: 0 = END, 1 = a, 2 = b, 3 = c. From the start p(a) = .40, p(b) = .35; after "a"
    every symbol has p = .25, so greedy outputs "a END" with p = .1. Width 2 keeps "b a" and
    "b b" (p = .35 · .495 = .173 each) over any "a ·" (.1), after which every symbol again has
    p = .25: its best output, "b a END", has p = .043 < .1.
    """
    table = {(): [0.01, 0.40, 0.35, 0.24], (2,): [0.01, 0.495, 0.495, 0.0]}
    def step_prefix(tokens, prefix):  # the state is the output so far, start symbol first
        prefix = np.c_[prefix, tokens] if prefix.size else tokens[:, None]
        rows = []
        for row in prefix:
            key = tuple(int(s) for s in row[1:] if s >= 0)  # drop the start symbol
            with np.errstate(divide="ignore"):
                rows.append(np.log(table.get(key, [0.25] * 4)))
        return np.array(rows), prefix

    start = 9  # a start symbol outside the output vocabulary
    empty = np.zeros((1, 0), dtype=np.int64)
    g_seq, g_lp = decoding.greedy_decode(step_prefix, empty, start=start, end=0, max_len=5)
    b_seq, b_lp, _ = decoding.beam_search(step_prefix, empty, start=start, end=0, max_len=5,
                                          beam_width=2)
    np.testing.assert_array_equal(g_seq[0], [1, 0])
    np.testing.assert_array_equal(b_seq[0], [2, 1, 0])
    assert g_lp[0] == pytest.approx(np.log(0.1))
    assert b_lp[0] == pytest.approx(np.log(0.35 * 0.495 * 0.25))
    assert b_lp[0] < g_lp[0]


def test_length_penalty_prefers_longer_outputs():
    """With α = 0 a short output can win on total log-probability; α = 1 compares means."""
    table = {(): [0.5, 0.5, 0.0, 0.0], (1,): [0.0, 0.0, 0.0, 1.0], (1, 3): [1.0, 0.0, 0.0, 0.0]}

    def step(tokens, prefix):
        prefix = np.c_[prefix, tokens]
        rows = []
        for row in prefix:
            with np.errstate(divide="ignore"):
                rows.append(np.log(table.get(tuple(int(s) for s in row[1:]), [0.25] * 4)))
        return np.array(rows), prefix

    empty = np.zeros((1, 0), dtype=np.int64)
    kw = dict(start=9, end=0, max_len=5, beam_width=2)
    short, lp0, _ = decoding.beam_search(step, empty, length_penalty=0.0, **kw)
    long, lp1, score = decoding.beam_search(step, empty, length_penalty=1.0, **kw)
    np.testing.assert_array_equal(short[0], [0])  # p = .5 in one symbol
    np.testing.assert_array_equal(long[0], [1, 3, 0])  # p = .5 too, but over three symbols
    assert lp0[0] == pytest.approx(lp1[0]) and score[0] == pytest.approx(np.log(0.5) / 3)


def test_decoding_errors():
    m = _model("dot")
    state = m.start_state(np.array([[2, 3]]))
    with pytest.raises(ValueError, match="beam_width must be a positive integer"):
        decoding.beam_search(m.decode_step, state, start=0, end=1, max_len=3, beam_width=0)
    with pytest.raises(ValueError, match="max_len must be a positive integer"):
        decoding.greedy_decode(m.decode_step, state, start=0, end=1, max_len=0)
    with pytest.raises(ValueError, match="length_penalty must be a finite number >= 0"):
        decoding.beam_search(m.decode_step, state, start=0, end=1, max_len=3, beam_width=2,
                             length_penalty=-1)
    with pytest.raises(ValueError, match="end must be a non-negative symbol index"):
        decoding.greedy_decode(m.decode_step, state, start=0, end=-1, max_len=3)

    def logits_step(tokens, h):
        return np.zeros((len(tokens), 4)), h
    with pytest.raises(ValueError, match="step must return log-probabilities"):
        decoding.greedy_decode(logits_step, np.zeros((2, 3)), start=0, end=1, max_len=3)
    with pytest.raises(ValueError, match="same batch size on axis 0"):
        decoding.greedy_decode(m.decode_step, (np.zeros((2, 3)), np.zeros((3, 3))), start=0,
                               end=1, max_len=3)
    with pytest.raises(ValueError, match="attention=None"):
        _model(None).attention_weights(np.array([[2]]), np.array([[0]]))
    with pytest.raises(ValueError, match=r"src must lie in \[0, V=6\)"):
        m.loss(np.array([[2, 6]]), np.array([[0]]), np.array([[1]]))
    with pytest.raises(ValueError, match="dec_in must have one row per source string"):
        m.loss(np.array([[2, 3]]), np.array([[0], [0]]), np.array([[1], [1]]))
    with pytest.raises(ValueError, match="attention must be one of"):
        models.Seq2Seq(V, 2, 3, attention="luong")
