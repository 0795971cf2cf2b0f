"""Looking inside a trained LSTM: per-step gate and cell activations, gate saturation, and how
well single units follow features of the text (Karpathy, Johnson & Fei-Fei 2015). Chapter 6,
"Inside a trained network".

Everything here is NumPy and pure: the functions take arrays (or strings) and return new arrays.

* ``lstm_activations`` runs an LSTM over one sequence and keeps every intermediate value
  (i, f, o, g, c, h) at every step, which ``layers.lstm_forward`` computes but stores in a
  speed-oriented layout;
* ``saturation_fractions`` is the paper's statistic: for each gate unit, the fraction of steps
  at which it is left-saturated (< 0.1) and right-saturated (> 0.9);
* ``in_quotes``, ``position_in_line`` and ``bracket_depth`` turn a string into one number per
  character, the *state after reading that character*, aligned with the hidden state h_t that
  the LSTM has after reading it;
* ``feature_correlations`` gives each unit's Pearson correlation with such a feature.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnlab.activations import sigmoid
from rnnlab.validation import as_float_array, check_shape

__all__ = ["LSTMActivations", "bracket_depth", "feature_correlations", "in_quotes",
           "lstm_activations", "position_in_line", "saturation_fractions", "top_units"]


class LSTMActivations(NamedTuple):
    """Every value of an LSTM at every step of one sequence; each field is (T, H)."""

    i: np.ndarray  # input gate σ(a_i)
    f: np.ndarray  # forget gate σ(a_f)
    o: np.ndarray  # output gate σ(a_o)
    g: np.ndarray  # candidate tanh(a_g)
    c: np.ndarray  # cell state c_t
    h: np.ndarray  # hidden state h_t = o ⊙ tanh(c_t)


def lstm_activations(x, Wx, Wh, b, h0=None, c0=None) -> LSTMActivations:
    """Run an LSTM (gate order i, f, g, o) over one sequence and keep every activation.

    x:  (T, D) inputs of one sequence (e.g. one-hot characters)
    Wx: (D, 4H) input weights of the four gates
    Wh: (H, 4H) recurrent weights of the four gates
    b:  (4H,) biases of the four gates
    h0: (H,) initial hidden state, or None for zeros
    c0: (H,) initial cell state, or None for zeros
    Returns LSTMActivations with i, f, o, g, c, h, each (T, H); the same maths as
    ``layers.lstm_step_forward``:  a = x_t Wx + h_{t−1} Wh + b,  c_t = f ⊙ c_{t−1} + i ⊙ g,
    h_t = o ⊙ tanh(c_t).
    """
    x = as_float_array("x", x)
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(f"x must be one sequence of shape (T >= 1, D); got shape {x.shape} "
                         "(for a batch, pass one sequence at a time: x[n])")
    T, D = x.shape
    Wh = as_float_array("Wh", Wh, x.dtype)
    if Wh.ndim != 2 or Wh.shape[1] != 4 * Wh.shape[0]:
        raise ValueError(f"Wh must have shape (H, 4H); got {Wh.shape}")
    H = Wh.shape[0]
    Wx = as_float_array("Wx", Wx, x.dtype)
    check_shape("Wx", Wx, (D, 4 * H), "D, 4H")
    b = as_float_array("b", b, x.dtype)
    check_shape("b", b, (4 * H,), "4H")
    h = np.zeros(H, dtype=x.dtype) if h0 is None else as_float_array("h0", h0, x.dtype)
    c = np.zeros(H, dtype=x.dtype) if c0 is None else as_float_array("c0", c0, x.dtype)
    check_shape("h0", h, (H,), "H")
    check_shape("c0", c, (H,), "H")
    pre_x = x @ Wx + b  # (T, 4H): the input part of every step's pre-activations at once
    out = {k: np.empty((T, H), dtype=x.dtype) for k in LSTMActivations._fields}
    for t in range(T):
        a = pre_x[t] + h @ Wh  # a_t = x_t Wx + h_{t−1} Wh + b
        i, f = sigmoid(a[:H]), sigmoid(a[H:2 * H])
        g, o = np.tanh(a[2 * H:3 * H]), sigmoid(a[3 * H:])
        c = f * c + i * g
        h = o * np.tanh(c)
        for k, v in zip(LSTMActivations._fields, (i, f, o, g, c, h)):
            out[k][t] = v
    return LSTMActivations(**out)


def saturation_fractions(gate, low: float = 0.1, high: float = 0.9
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Fraction of steps at which each gate unit is left- and right-saturated.

    gate: (T, H) gate values in [0, 1] (e.g. ``LSTMActivations.f``), T >= 1 steps, H units
    low:  a value below `low` counts as left-saturated (the paper's 0.1)
    high: a value above `high` counts as right-saturated (the paper's 0.9)
    Returns (left, right), each (H,) in [0, 1]; left + right <= 1. A forget unit with right
    near 1 almost always keeps its cell (an integrator); one with left near 1 almost always
    resets it. Karpathy, Johnson & Fei-Fei (2015), Fig. 3.
    """
    gate = as_float_array("gate", gate)
    if gate.ndim != 2 or gate.shape[0] < 1:
        raise ValueError(f"gate must have shape (T >= 1, H); got {gate.shape}")
    if gate.min() < 0 or gate.max() > 1:
        raise ValueError(f"gate values must lie in [0, 1] (a sigmoid gate); got min "
                         f"{gate.min():.3g}, max {gate.max():.3g}")
    low, high = float(low), float(high)
    if not 0 <= low < high <= 1:
        raise ValueError(f"need 0 <= low < high <= 1; got low={low}, high={high}")
    return (gate < low).mean(axis=0), (gate > high).mean(axis=0)


def _check_text(name: str, text) -> str:
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a str; got {type(text).__name__}")
    if not text:
        raise ValueError(f"{name} must not be empty")
    return text


def in_quotes(text: str, quote: str = '"', paragraph: str = "\n\n") -> np.ndarray:
    """1.0 where the reader is inside a quotation after reading each character, else 0.0.

    text:      the string, T characters
    quote:     the quotation mark (one character; the same mark opens and closes)
    paragraph: the paragraph separator, which ends any open quotation
    Returns (T,) float64. The opening mark itself gives 1 (after reading it we are inside), the
    closing mark 0. A paragraph break closes an open quotation: in printed English a speech that
    runs over several paragraphs leaves each paragraph unclosed and re-opens the next one.
    """
    text = _check_text("text", text)
    if len(quote) != 1:
        raise ValueError(f"quote must be one character; got {quote!r}")
    out = np.zeros(len(text))
    inside, pos = False, 0
    while pos < len(text):
        if paragraph and text.startswith(paragraph, pos):
            inside = False
            pos += len(paragraph)  # the separator's characters are outside
            continue
        if text[pos] == quote:
            inside = not inside
        out[pos] = inside
        pos += 1
    return out


def position_in_line(text: str) -> np.ndarray:
    """How many characters of the current line have been read, after each character.

    text: the string, T characters
    Returns (T,) float64: 0 at a newline (a new, empty line begins), then 1, 2, … for the
    characters of the line.
    """
    text = _check_text("text", text)
    out = np.empty(len(text))
    n = 0
    for t, ch in enumerate(text):
        n = 0 if ch == "\n" else n + 1
        out[t] = n
    return out


def bracket_depth(text: str, open: str = "(", close: str = ")") -> np.ndarray:
    """Nesting depth of brackets after each character.

    text:  the string, T characters
    open:  the opening bracket (one character)
    close: the closing bracket (one character)
    Returns (T,) float64: the opening bracket itself has the new, deeper depth, the closing one
    the shallower depth after it. An unmatched closing bracket does not go below 0.
    """
    text = _check_text("text", text)
    if len(open) != 1 or len(close) != 1 or open == close:
        raise ValueError(f"open and close must be two different single characters; got "
                         f"{open!r} and {close!r}")
    out = np.empty(len(text))
    depth = 0
    for t, ch in enumerate(text):
        if ch == open:
            depth += 1
        elif ch == close:
            depth = max(depth - 1, 0)
        out[t] = depth
    return out


def feature_correlations(acts, feature) -> np.ndarray:
    """Pearson correlation of every unit's activation with a feature of the text, over time.

    acts:    (T, H) activations of H units over T steps (e.g. ``LSTMActivations.c``)
    feature: (T,) one number per step (e.g. ``in_quotes(text)``)
    Returns (H,) correlations in [−1, 1]. A unit that is constant over the T steps carries no
    information about the feature and gets 0. A constant feature is an error: no unit can be
    said to follow it (e.g. bracket depth on a text without brackets).
    """
    acts = as_float_array("acts", acts)
    if acts.ndim != 2 or acts.shape[0] < 2:
        raise ValueError(f"acts must have shape (T >= 2, H); got {acts.shape}")
    feature = as_float_array("feature", feature)
    check_shape("feature", feature, (acts.shape[0],), "T")
    fc = feature - feature.mean()
    f_norm = np.sqrt(fc @ fc)
    if f_norm == 0:
        raise ValueError("feature is constant over the text: its correlation with a unit is "
                         "undefined (does the text contain what the feature counts?)")
    ac = acts.astype(np.float64) - acts.mean(axis=0)
    a_norm = np.sqrt((ac * ac).sum(axis=0))
    corr = np.zeros(acts.shape[1])
    ok = a_norm > 0
    corr[ok] = (fc @ ac[:, ok]) / (f_norm * a_norm[ok])
    return np.clip(corr, -1.0, 1.0)  # rounding can land a hair outside


def top_units(corr, k: int = 1) -> np.ndarray:
    """Indices of the k units with the largest |correlation|, strongest first.

    corr: (H,) correlations, as from ``feature_correlations``
    k:    how many units, 1 <= k <= H
    Returns (k,) int64. Ties are broken by the lower index (a stable sort), so the choice is
    deterministic.
    """
    corr = as_float_array("corr", corr)
    if corr.ndim != 1:
        raise ValueError(f"corr must have shape (H,); got {corr.shape}")
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= corr.size:
        raise ValueError(f"k must be an integer in [1, H={corr.size}]; got {k!r}")
    return np.argsort(-np.abs(corr), kind="stable")[:k].astype(np.int64)
