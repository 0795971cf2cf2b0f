"""Deterministic data sets: toy tasks generated from a seed, and small real data shipped in the
package (see ``corpus/SOURCES.md`` and ``datasets/SOURCES.md`` for provenance).

Every generator takes ``seed`` and uses its own ``np.random.default_rng(seed)``, so the same call
gives the same arrays on every machine.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources
from typing import NamedTuple

import numpy as np

from rnnlab.validation import check_finite, check_positive, check_positive_int

# --------------------------------------------------------------------------------------------
# Characters
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CharVocab:
    """A character vocabulary: symbols in a fixed order, with encode/decode/one-hot."""

    chars: tuple[str, ...]

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        """Sorted distinct characters of `text` (sorted, so the order never depends on hashing)."""
        if not text:
            raise ValueError("text must not be empty")
        return cls(tuple(sorted(set(text))))

    @property
    def size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """str -> int64 indices (T,)."""
        index = {c: i for i, c in enumerate(self.chars)}
        unknown = sorted(set(text) - set(index))
        if unknown:
            raise ValueError(f"text contains characters outside the vocabulary: {unknown[:10]}")
        return np.array([index[c] for c in text], dtype=np.int64)

    def decode(self, indices) -> str:
        """int indices of any shape -> the string of their characters, in C order."""
        return "".join(self.chars[i] for i in self._check_indices(indices).ravel())

    def one_hot(self, indices, dtype=np.float64) -> np.ndarray:
        """int indices of any shape S -> one-hot vectors (*S, V)."""
        return np.eye(self.size, dtype=dtype)[self._check_indices(indices)]

    def _check_indices(self, indices) -> np.ndarray:
        indices = np.asarray(indices)
        if indices.size == 0:
            return indices.astype(np.int64)  # [] is float64 to NumPy, and holds no bad index
        if indices.dtype.kind not in "iu":
            raise TypeError(f"indices must be integers; got dtype {indices.dtype}")
        if n_outside := np.count_nonzero((indices < 0) | (indices >= self.size)):
            raise ValueError(f"indices must lie in [0, V={self.size}); got {n_outside} outside "
                             f"it (min {indices.min()}, max {indices.max()})")
        return indices


class HelloExample(NamedTuple):
    vocab: CharVocab
    x: np.ndarray  # (1, 4, 4) one-hot "hell"
    targets: np.ndarray  # (1, 4) indices of "ello"


def hello_example() -> HelloExample:
    """The classic "hello" example: inputs h, e, l, l -> targets e, l, l, o. Chapter 2.

    The vocabulary is kept in order of first appearance (h, e, l, o) as in Karpathy (2015).
    """
    vocab = CharVocab(("h", "e", "l", "o"))
    return HelloExample(vocab, vocab.one_hot(vocab.encode("hell"))[None],
                        vocab.encode("ello")[None])


def available_corpora() -> list[str]:
    """Names of the text corpora shipped with rnnlab (see corpus/SOURCES.md)."""
    folder = resources.files("rnnlab") / "corpus"
    return sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".txt"))


def load_corpus(name: str | None = None) -> str:
    """The text of a shipped public-domain corpus (default: the first available)."""
    names = available_corpora()
    if name is None:
        name = names[0]
    if name not in names:
        raise ValueError(f"name must be one of {names}; got {name!r}")
    return (resources.files("rnnlab") / "corpus" / f"{name}.txt").read_text(encoding="utf-8")


def char_windows(encoded: np.ndarray, T: int, n: int, seed: int = 0):
    """n random windows of T + 1 characters: inputs (n, T) and next-character targets (n, T).
    Chapter 6.

    encoded: (L,) integer character indices, L > T (e.g. ``CharVocab.encode(text)``)
    T:       window length
    n:       number of windows, drawn with `seed`
    """
    encoded = np.asarray(encoded)
    T = check_positive_int("T", T)
    n = check_positive_int("n", n)
    if encoded.dtype.kind not in "iu":
        raise TypeError(f"encoded must hold integer character indices (CharVocab.encode); got "
                        f"dtype {encoded.dtype}")
    if encoded.ndim != 1 or len(encoded) < T + 1:
        raise ValueError(f"encoded must be a 1-D index array longer than T={T}; got shape "
                         f"{encoded.shape}")
    starts = np.random.default_rng(seed).integers(0, len(encoded) - T, size=n)
    windows = np.stack([encoded[s:s + T + 1] for s in starts])
    return windows[:, :-1], windows[:, 1:]


# --------------------------------------------------------------------------------------------
# Time series
# --------------------------------------------------------------------------------------------


def sine_wave(n_sequences: int = 32, T: int = 50, seed: int = 0, noise: float = 0.0,
              dt: float = 0.2):
    """Next-step prediction of sine waves with random frequency and phase. Chapter 2.

    x_t = sin(ω t dt + φ) (+ noise), target_t = x_{t+1} (noise-free); ω ~ U(0.5, 1.5), φ ~ U(0, 2π).
    Returns x: (N, T, 1) and targets: (N, T, 1).
    """
    N = check_positive_int("n_sequences", n_sequences)
    T = check_positive_int("T", T)
    noise = check_finite("noise", noise, minimum=0.0)
    dt = check_positive("dt", dt)
    rng = np.random.default_rng(seed)
    omega = rng.uniform(0.5, 1.5, size=(N, 1))
    phi = rng.uniform(0, 2 * np.pi, size=(N, 1))
    t = np.arange(T + 1)[None, :] * dt
    clean = np.sin(omega * t + phi)
    x = clean[:, :-1] + noise * rng.standard_normal((N, T))
    return x[..., None], clean[:, 1:, None]


def available_series() -> list[str]:
    """Names of the real time series shipped with rnnlab (see datasets/SOURCES.md)."""
    folder = resources.files("rnnlab") / "datasets"
    return sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".csv"))


def load_series(name: str) -> dict[str, np.ndarray]:
    """A shipped CSV as {column: float array}."""
    names = available_series()
    if name not in names:
        raise ValueError(f"name must be one of {names}; got {name!r}")
    text = (resources.files("rnnlab") / "datasets" / f"{name}.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(line for line in text.splitlines() if not line.startswith("#")))
    header, body = rows[0], rows[1:]
    return {col: np.array([float(r[i]) if r[i] else np.nan for r in body])
            for i, col in enumerate(header)}


def make_windows(series, T: int, horizon: int = 1):
    """Sliding windows over a 1-D series: x (n, T, 1) and the value `horizon` steps later (n, 1).
    Chapter 6.

    series:  (L,) finite values, L >= T + horizon (fill or drop the gaps of a shipped series
             first: the CO₂ record has missing months, stored as NaN)
    T:       window length
    horizon: how many steps after a window's last value its target lies
    """
    series = np.asarray(series, dtype=np.float64)
    T = check_positive_int("T", T)
    horizon = check_positive_int("horizon", horizon)
    if series.ndim != 1 or len(series) < T + horizon:
        raise ValueError(f"series must be 1-D with at least T + horizon = {T + horizon} values; "
                         f"got shape {series.shape}")
    if n_missing := np.count_nonzero(~np.isfinite(series)):
        first = int(np.argmax(~np.isfinite(series)))
        raise ValueError(f"series contains {n_missing} NaN or inf values (the first at index "
                         f"{first}); fill the gaps (e.g. interpolate) or drop them before "
                         "making windows")
    n = len(series) - T - horizon + 1
    idx = np.arange(T)[None, :] + np.arange(n)[:, None]
    return series[idx][..., None], series[idx[:, -1] + horizon][:, None]


# --------------------------------------------------------------------------------------------
# Long-range tasks
# --------------------------------------------------------------------------------------------


class AddingProblem(NamedTuple):
    x: np.ndarray  # (N, T_max, 2): value in [−1, 1], marker in {−1, 0, 1}
    targets: np.ndarray  # (N, 1): 0.5 + (X1 + X2) / 4
    lengths: np.ndarray  # (N,) true lengths (all T unless variable_length)


def adding_problem(n: int, T: int, seed: int = 0, variable_length: bool = False) -> AddingProblem:
    """The adding problem of Hochreiter & Schmidhuber (1997), Experiment 4. Chapters 4, 5.

    Each step is a pair (value, marker). Values are uniform in [−1, 1]. Exactly two steps are
    marked with 1: one among the first ten, one among the first T/2 − 1 (distinct). The first and
    last steps carry marker −1 unless marked; if the first step is marked, its value (X1) is set to
    0 as in the paper. The target, read at the last step, is 0.5 + (X1 + X2)/4 ∈ [0, 1]; a
    prediction counts as correct when |error| < 0.04 (see ``adding_correct``).

    variable_length: lengths drawn uniformly from [T, T + T/10] as in the paper, zero-padded to
    T + T//10 (use ``lengths`` with a many-to-one model). Otherwise every sequence has length T.
    """
    n = check_positive_int("n", n)
    T = check_positive_int("T", T)
    if T < 4:
        raise ValueError(f"T must be at least 4 for two distinct marked steps; got {T}")
    rng = np.random.default_rng(seed)
    T_max = T + T // 10 if variable_length else T
    lengths = (rng.integers(T, T_max + 1, size=n) if variable_length
               else np.full(n, T)).astype(np.int64)
    x = np.zeros((n, T_max, 2))
    targets = np.empty((n, 1))
    half = max(T // 2 - 1, 2)
    for i in range(n):
        L = lengths[i]
        x[i, :L, 0] = rng.uniform(-1, 1, size=L)
        first = rng.integers(0, min(10, half))
        second = rng.choice([j for j in range(half) if j != first])
        x[i, 0, 1] = x[i, L - 1, 1] = -1
        x[i, [first, second], 1] = 1
        if first == 0 or second == 0:
            x[i, 0, 0] = 0.0
        targets[i, 0] = 0.5 + (x[i, first, 0] + x[i, second, 0]) / 4
    return AddingProblem(x, targets, lengths)


def adding_correct(predictions, targets, tol: float = 0.04) -> np.ndarray:
    """Boolean (N,): |prediction − target| < tol (0.04 in Hochreiter & Schmidhuber 1997)."""
    return np.abs(np.asarray(predictions) - np.asarray(targets)).reshape(-1) < tol


class CopyTask(NamedTuple):
    x: np.ndarray  # (N, S + T + S, K + 2) one-hot: symbols 1..K, blank 0, delimiter K + 1
    targets: np.ndarray  # (N, S + T + S) indices
    mask: np.ndarray  # (N, S + T + S): 1 on the last S steps, where the copy is scored


def copy_task(n: int, T: int, n_symbols: int = 8, length: int = 5, seed: int = 0) -> CopyTask:
    """The copy (memory) task (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016). Chapter 5.

    A sequence of `length` random symbols from {1 … K}, then T − 1 blanks and a delimiter, then
    `length` blanks during which the model must output the symbols in order. Only those last
    `length` outputs are scored (``mask``); guessing gives accuracy 1/K.
    """
    n = check_positive_int("n", n)
    T = check_positive_int("T", T)
    K = check_positive_int("n_symbols", n_symbols)
    S = check_positive_int("length", length)
    rng = np.random.default_rng(seed)
    total = S + T + S
    seq = np.zeros((n, total), dtype=np.int64)
    symbols = rng.integers(1, K + 1, size=(n, S))
    seq[:, :S] = symbols
    seq[:, S + T - 1] = K + 1  # delimiter: "now repeat"
    targets = np.zeros((n, total), dtype=np.int64)
    targets[:, S + T:] = symbols
    mask = np.zeros((n, total))
    mask[:, S + T:] = 1
    return CopyTask(np.eye(K + 2)[seq], targets, mask)


def pad_sequences(sequences, value: float = 0.0):
    """Pad a list of (T_i, D) arrays to one batch. Chapter 2.

    Returns x: (N, T_max, D), mask: (N, T_max) with 1 on real steps, lengths: (N,).
    """
    if len(sequences) == 0:
        raise ValueError("sequences must not be empty")
    arrs = [np.asarray(s, dtype=np.float64) for s in sequences]
    D = arrs[0].shape[1] if arrs[0].ndim == 2 else None
    for i, a in enumerate(arrs):
        if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] != D:
            expected = "D" if D is None else f"D={D}"
            hint = " (a 1-D sequence of scalars is s[:, None])" if a.ndim == 1 else ""
            raise ValueError(f"sequences[{i}] must have shape (T_i >= 1, {expected}); got "
                             f"{a.shape}{hint}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"sequences[{i}] contains NaN or inf")
    lengths = np.array([len(a) for a in arrs], dtype=np.int64)
    x = np.full((len(arrs), lengths.max(), arrs[0].shape[1]), value)
    mask = np.zeros((len(arrs), lengths.max()))
    for i, a in enumerate(arrs):
        x[i, :len(a)] = a
        mask[i, :len(a)] = 1
    return x, mask, lengths
