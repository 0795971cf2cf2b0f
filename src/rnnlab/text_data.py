"""Labelled sentences for text classification: loading, tokenising, splitting, encoding.
Chapter 6 ("Text classification on real data").

The shipped data set is the "Sentiment Labelled Sentences" of Kotzias et al. (2015): 3,000
review sentences labelled positive (1) or negative (0); see ``labelled_text/SOURCES.md`` for its
provenance and licence. The pipeline a chapter runs:

    ds = load_sentiment_sentences()                  # checksum verified
    split = split_dataset(ds.texts, seed=0)           # train / validation / test, de-duplicated
    vocab = Vocabulary.from_texts([ds.texts[i] for i in split.train], min_count=2)
    ids, lengths = vocab.encode_batch([ds.texts[i] for i in split.train])

The vocabulary is built from the training split only: a word seen only in validation or test
sentences becomes ``<unk>`` there, as it would for a sentence the model meets after deployment.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

import numpy as np

from rnnlab.validation import check_nonneg_int, check_positive_int

SENTIMENT_FILE = "sentiment_sentences.tsv"
SENTIMENT_SHA256 = "7a74c90459f1e17a021f5430415b35622c70162adb2215f9cd94b2b44e2f1a61"
PAD, UNK = "<pad>", "<unk>"  # always indices 0 and 1 of a Vocabulary

# A token is a run of letters or digits, with internal apostrophes kept ("don't", "it's"), or
# one of "!" and "?", which carry sentiment ("Great!", "Really?"). Everything else (other
# punctuation, symbols, control characters) separates tokens and is dropped.
TOKEN_PATTERN = re.compile(r"[^\W_]+(?:'[^\W_]+)*|[!?]")


@dataclass(frozen=True)
class LabelledTexts:
    """A labelled text data set: one entry per sentence, in the file's order."""

    texts: tuple[str, ...]
    labels: np.ndarray  # (N,) int64 class indices
    sources: tuple[str, ...]  # where each sentence came from ("amazon", "imdb", "yelp")
    class_names: tuple[str, ...]  # class_names[k] is the meaning of label k


def load_sentiment_sentences() -> LabelledTexts:
    """The 3,000 labelled review sentences of Kotzias et al. (2015), checksum verified.
    Chapter 6.

    Returns texts (3,000 strings), labels (3,000,) int64 with 0 = negative and 1 = positive,
    sources ("amazon", "imdb" or "yelp", 1,000 each).
    """
    raw = (resources.files("rnnlab") / "labelled_text" / SENTIMENT_FILE).read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SENTIMENT_SHA256:
        raise ValueError(f"{SENTIMENT_FILE} has sha256 {digest}, expected {SENTIMENT_SHA256}: "
                         "the shipped file was changed or damaged (see labelled_text/SOURCES.md)")
    # split on "\n" only: str.splitlines would also split at U+0085, which two sentences contain
    lines = raw.decode("utf-8").split("\n")
    if lines[0] != "source\tlabel\ttext" or lines[-1] != "":
        raise ValueError(f"{SENTIMENT_FILE} does not have the expected header and final newline")
    rows = [line.split("\t") for line in lines[1:-1]]
    return LabelledTexts(texts=tuple(r[2] for r in rows),
                         labels=np.array([int(r[1]) for r in rows], dtype=np.int64),
                         sources=tuple(r[0] for r in rows),
                         class_names=("negative", "positive"))


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens of `text` (see TOKEN_PATTERN). Chapter 6.

    >>> tokenize("Didn't work -- at ALL!!")
    ["didn't", 'work', 'at', 'all', '!', '!']
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str; got {type(text).__name__}")
    return TOKEN_PATTERN.findall(text.lower())


def normalise(text: str) -> str:
    """The form used to find duplicates: the tokens joined by single spaces. Chapter 6.

    Two sentences with the same normal form are the same input to every model here (same
    tokens in the same order), so one of them in the training split and one in the test split
    would let the test score reward memorising.
    """
    return " ".join(tokenize(text))


@dataclass(frozen=True)
class Split:
    """Indices into the data set of each split, and what de-duplication removed."""

    train: np.ndarray  # (N_train,) int64
    validation: np.ndarray  # (N_val,) int64
    test: np.ndarray  # (N_test,) int64
    removed: dict[str, int]  # reason -> number of sentences dropped from validation/test


def split_dataset(texts: Sequence[str], fractions: tuple[float, float] = (0.15, 0.15),
                  seed: int = 0) -> Split:
    """A seeded random train / validation / test split with duplicates removed. Chapter 6.

    texts:     the N sentences
    fractions: (validation, test) shares of N drawn before de-duplication; the rest is training
    seed:      seeds the permutation
    De-duplication compares normal forms (``normalise``) and drops, in this order: validation
    sentences that also occur in training; test sentences that occur in training or validation;
    repeats inside validation and inside test (the first is kept). Training keeps its repeats: a
    duplicate there only weighs one sentence twice. The counts are in ``Split.removed``.
    """
    if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
        raise TypeError("texts must be a sequence of str (one sentence each)")
    if (not isinstance(fractions, tuple | list) or len(fractions) != 2
            or not all(isinstance(f, float | int) and 0 < f < 1 for f in fractions)
            or sum(fractions) >= 1):
        raise ValueError(f"fractions must be (validation, test), each in (0, 1), summing to "
                         f"less than 1; got {fractions!r}")
    check_nonneg_int("seed", seed)
    N = len(texts)
    n_val, n_test = (int(round(f * N)) for f in fractions)
    if min(n_val, n_test, N - n_val - n_test) < 1:
        raise ValueError(f"texts must be long enough for every split to get a sentence; got "
                         f"N = {N} with fractions {fractions!r}")
    order = np.random.default_rng(seed).permutation(N)
    train, val, test = order[n_val + n_test:], order[:n_val], order[n_val:n_val + n_test]
    norm = [normalise(t) for t in texts]
    seen_train = {norm[i] for i in train}
    removed = {"validation: in training": 0, "validation: repeated": 0,
               "test: in training": 0, "test: in validation": 0, "test: repeated": 0}

    def keep(indices, name: str, earlier: list[tuple[str, set]]) -> np.ndarray:
        kept, own = [], set()
        for i in indices:
            where = next((label for label, s in earlier if norm[i] in s), None)
            if where is not None:
                removed[f"{name}: in {where}"] += 1
            elif norm[i] in own:
                removed[f"{name}: repeated"] += 1
            else:
                own.add(norm[i])
                kept.append(i)
        return np.array(sorted(kept), dtype=np.int64)

    val = keep(val, "validation", [("training", seen_train)])
    seen_val = {norm[i] for i in val}
    test = keep(test, "test", [("training", seen_train), ("validation", seen_val)])
    return Split(np.sort(train).astype(np.int64), val, test, removed)


class Vocabulary:
    """Word <-> index, built from training sentences only. Chapter 6.

    Index 0 is ``<pad>`` (fills batches after each sentence's end), index 1 is ``<unk>`` (every
    word not in the vocabulary); then the words that occur at least `min_count` times, most
    frequent first, ties in alphabetical order (so the order never depends on hashing).
    """

    def __init__(self, words: Sequence[str]) -> None:
        words = list(words)
        if PAD in words or UNK in words or len(set(words)) != len(words):
            raise ValueError("words must be distinct and must not contain <pad> or <unk>")
        self.words: tuple[str, ...] = (PAD, UNK, *words)
        self.index = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def from_texts(cls, texts: Sequence[str], min_count: int = 1) -> Vocabulary:
        """The vocabulary of `texts` (tokenised), keeping words seen at least `min_count` times."""
        min_count = check_positive_int("min_count", min_count)
        if isinstance(texts, str):
            raise TypeError("texts must be a sequence of sentences, not one str")
        counts = Counter(tok for t in texts for tok in tokenize(t))
        kept = sorted((w for w, c in counts.items() if c >= min_count),
                      key=lambda w: (-counts[w], w))
        return cls(kept)

    @property
    def size(self) -> int:
        """V, the number of rows an embedding table for this vocabulary needs."""
        return len(self.words)

    def encode(self, text: str) -> np.ndarray:
        """(T,) int64 indices of the sentence's tokens; unknown words are 1 (``<unk>``)."""
        return np.array([self.index.get(tok, 1) for tok in tokenize(text)], dtype=np.int64)

    def decode(self, ids) -> list[str]:
        """The words of indices `ids` (1-D), ``<pad>`` included."""
        ids = np.asarray(ids)
        if ids.dtype.kind not in "iu" or ids.ndim != 1:
            raise ValueError(f"ids must be a 1-D integer array; got shape {ids.shape} of dtype "
                             f"{ids.dtype}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.size):
            raise ValueError(f"ids must lie in [0, V={self.size}); got min {ids.min()}, "
                             f"max {ids.max()}")
        return [self.words[i] for i in ids]

    def encode_batch(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Encode and pad sentences to one batch. Chapter 6.

        Returns ids: (N, T_max) int64, padded with 0 after each sentence, and lengths: (N,)
        int64. A sentence without any token (e.g. only punctuation) is encoded as one ``<unk>``,
        so that every length is at least 1, as a recurrent encoder needs.
        """
        if isinstance(texts, str) or len(texts) == 0:
            raise ValueError("texts must be a non-empty sequence of sentences")
        seqs = [self.encode(t) for t in texts]
        seqs = [s if len(s) else np.array([1], dtype=np.int64) for s in seqs]
        lengths = np.array([len(s) for s in seqs], dtype=np.int64)
        ids = np.zeros((len(seqs), lengths.max()), dtype=np.int64)
        for n, s in enumerate(seqs):
            ids[n, :len(s)] = s
        return ids, lengths


def bag_of_words(ids, lengths, V: int, binary: bool = True) -> np.ndarray:
    """Word-count features of padded sentences, ignoring order. Chapter 6.

    ids:     (N, T) int indices in [0, V), padding after each sentence's end
    lengths: (N,) number of real tokens of each sentence, in [1, T]
    V:       vocabulary size
    binary:  1 if the word occurs (default), else the number of times it occurs
    Returns x: (N, V) float64. Column 0 (``<pad>``) is always 0; column 1 counts ``<unk>``.
    """
    ids, lengths = check_ids_and_lengths(ids, lengths, V)
    N, T = ids.shape
    x = np.zeros((N, V))
    real = np.arange(T)[None, :] < lengths[:, None]
    rows = np.broadcast_to(np.arange(N)[:, None], ids.shape)
    np.add.at(x, (rows[real], ids[real]), 1.0)
    return np.minimum(x, 1.0) if binary else x


def check_ids_and_lengths(ids, lengths, V: int) -> tuple[np.ndarray, np.ndarray]:
    """ids (N, T) ints in [0, V) and lengths (N,) ints in [1, T], as fresh int64 copies."""
    ids, lengths = np.asarray(ids), np.asarray(lengths)
    if ids.dtype.kind not in "iu" or ids.ndim != 2 or 0 in ids.shape:
        raise ValueError(f"ids must be a non-empty (N, T) integer array of word indices; got "
                         f"shape {ids.shape} of dtype {ids.dtype}")
    N, T = ids.shape
    if lengths.dtype.kind not in "iu" or lengths.shape != (N,):
        raise ValueError(f"lengths must be an integer array of shape (N={N},); got shape "
                         f"{lengths.shape} of dtype {lengths.dtype}")
    if np.any((lengths < 1) | (lengths > T)):
        raise ValueError(f"lengths must lie in [1, T={T}]; got min {lengths.min()}, "
                         f"max {lengths.max()}")
    if np.any((ids < 0) | (ids >= V)):
        raise ValueError(f"ids must lie in [0, V={V}); got min {ids.min()}, max {ids.max()}")
    return ids.astype(np.int64, copy=True), lengths.astype(np.int64, copy=True)


__all__ = ["PAD", "SENTIMENT_SHA256", "UNK", "LabelledTexts", "Split", "Vocabulary",
           "bag_of_words", "check_ids_and_lengths", "load_sentiment_sentences", "normalise",
           "split_dataset", "tokenize"]
