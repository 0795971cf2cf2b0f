"""The committed string-reversal sweep with and without attention, read for chapter 6.

``experiments/attention_sweep.py`` trains ``Seq2Seq`` models with and without attention over
several seeds and stores a small JSON file (``experiments/results/attention_sweep.json``). These
functions take that file's contents (a dict) and return arrays: the exact-match accuracy per
seed and length, the stored held-out examples with their attention weights, and how much of the
weight falls on the mirrored input position. The chapter's tables and its explorer
(``widgets.attention_explorer``) both read the results through them, so a number printed in the
text and a frame of the explorer come from the same code. NumPy only; nothing is drawn here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MODEL_NAMES = {None: "no attention", "dot": "dot-product attention",
               "additive": "additive attention"}
DECODERS = ("greedy", "beam")


def model_name(attention: str | None) -> str:
    """The reader's name of a model: None -> "no attention", "dot" -> "dot-product attention"."""
    if attention not in MODEL_NAMES:
        raise ValueError(f"attention must be one of {list(MODEL_NAMES)}; got {attention!r}")
    return MODEL_NAMES[attention]


def check_results(results: Any) -> dict:
    """The results dict of a full run, checked: "meta" with "seeds" and "attention", and a
    "results" entry for every (attention, seed) pair. Returns it; raises ValueError otherwise."""
    if not isinstance(results, dict) or "results" not in results or "meta" not in results:
        got = sorted(results) if isinstance(results, dict) else type(results).__name__
        raise ValueError("results must be the dict of a full run of experiments/"
                         f"attention_sweep.py, with 'meta' and 'results'; got {got}")
    meta = results["meta"]
    have = {(r["attention"], r["seed"]) for r in results["results"]}
    missing = [(a, s) for a in meta["attention"] for s in meta["seeds"] if (a, s) not in have]
    if missing:
        raise ValueError(f"results has no run for (attention, seed) {missing}")
    return results


def _run(results: dict, attention: str | None, seed: int) -> dict:
    for r in results["results"]:
        if r["attention"] == attention and r["seed"] == seed:
            return r
    raise ValueError(f"no run with attention={attention!r} and seed={seed!r}; the results have "
                     f"attention {results['meta']['attention']} and seeds "
                     f"{results['meta']['seeds']}")


def accuracy_by_length(results: dict, attention: str | None,
                       decoder: str = "greedy") -> tuple[np.ndarray, np.ndarray]:
    """Exact-match accuracy on the held-out strings, for every seed and length. Chapter 6.

    results:   the JSON of a full run of experiments/attention_sweep.py, as a dict
    attention: None, "dot" or "additive": which model
    decoder:   "greedy" or "beam"
    Returns lengths: (L,) string lengths and acc: (S, L), one row per seed (meta["seeds"] order).
    """
    check_results(results)
    if decoder not in DECODERS:
        raise ValueError(f"decoder must be one of {DECODERS}; got {decoder!r}")
    seeds = results["meta"]["seeds"]
    runs = [_run(results, attention, s)["test"] for s in seeds]
    lengths = np.array(runs[0]["lengths"])
    return lengths, np.array([t[decoder] for t in runs], dtype=float)


def example(results: dict, attention: str | None, seed: int, length: int,
            index: int = 0) -> dict:
    """A stored held-out string of the given length and the model's decodings of it.

    attention: which model; seed: which of meta["seeds"]; length: the string length;
    index: which of the strings stored for that length (0, 1, …)
    Returns a dict with "source", "target" (the reversed source), "greedy", "beam" (strings) and,
    for a model with attention, "weights": (T_out, S) the attention weights greedy decoding used
    (row t: output step t, including the step that emits </s>; each row sums to 1).
    """
    check_results(results)
    test = _run(results, attention, seed)["test"]
    if length not in test["lengths"]:
        raise ValueError(f"length must be one of {test['lengths']}; got {length!r}")
    stored = test["by_length"][test["lengths"].index(length)]
    if not 0 <= index < len(stored):
        raise ValueError(f"index must be in 0..{len(stored) - 1} (strings stored per length); "
                         f"got {index!r}")
    ex = dict(stored[index])
    ex["target"] = ex["source"][::-1]
    if "weights" in ex:
        ex["weights"] = np.array(ex["weights"], dtype=float)
    return ex


def mirror_weight(weights: np.ndarray, n_letters: int | None = None, offset: int = 0) -> float:
    """Mean attention weight on the mirrored input position, over the letter outputs. Chapter 6.

    weights:   (T_out, S) attention weights, row t for output step t
    n_letters: how many rows are letters (the rest: the step that emitted </s>); None = all
    offset:    read input S - 1 - t + offset instead (1: the step after the mirrored letter,
               whose encoder state has just read it); a position outside the input counts 0
    For reversal, output t should read input S - 1 - t (0-based); 1.0 means a perfect mirror
    diagonal, 1/S uniform weights. Only the first min(S, n_letters) rows count.
    """
    w = np.asarray(weights, dtype=float)
    if w.ndim != 2 or w.shape[0] == 0 or w.shape[1] == 0:
        raise ValueError(f"weights must be a non-empty 2-D (T_out, S) array; got shape {w.shape}")
    n = w.shape[0] if n_letters is None else n_letters
    if not isinstance(n, (int, np.integer)) or not 1 <= n <= w.shape[0]:
        raise ValueError(f"n_letters must be an int in 1..{w.shape[0]} (the rows of weights) "
                         f"or None; got {n_letters!r}")
    if not isinstance(offset, (int, np.integer)):
        raise ValueError(f"offset must be an int; got {offset!r}")
    S = w.shape[1]
    t = np.arange(min(S, n))
    j = S - 1 - t + offset
    inside = (j >= 0) & (j < S)
    return float(np.where(inside, w[t, np.clip(j, 0, S - 1)], 0.0).mean())
