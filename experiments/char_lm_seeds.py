"""The character-level GRU language model of chapter 6 ("A character-level language model")
over seeds, with a training / validation / test split of the text.

The corpus (the first 30 chapters of *Pride and Prejudice*) is cut into three contiguous blocks:
the first 80 % for training, the next 10 % for validation (monitoring the training; anything
tuned is tuned on it) and the last 10 % for the test, scored once at the end. The vocabulary
comes from the training block. A GRU (H = 96, float32) is trained in 6 rounds of 100 Adam
updates on fresh random windows of 32 characters (minibatches of 32, gradient norm clipped at
5); after each round the bits per character on the first 5,000 validation characters are
recorded. At the end the validation and the test block are each run as one sequence (the state
carried through) and scored in bits per character. A seed sets the initial weights and the
training windows; every seed sees the same text.

The notebook `chapters/06_applications/char_language_model.ipynb` explains every step and
re-runs seed 0 live against the numbers stored here.

Usage (from the repository root):

    python experiments/char_lm_seeds.py           # 5 seeds (~3 min on a quiet core)
    python experiments/char_lm_seeds.py --quick   # a small setting, a few seconds

Results (small JSON) go to experiments/results/char_lm_seeds.json, or to --out. The full run
also stores the quick setting's result under "quick", produced by the same code path, so that
``tests/test_experiments.py`` can re-run it and compare.
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

if __name__ == "__main__":
    # One BLAS thread (see experiments/adding_sweep.py); must be set before NumPy loads BLAS.
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from _common import results_parser, write_results  # noqa: E402

import rnnlab  # noqa: E402
from rnnlab import data, models, optim, train  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "char_lm_seeds.json"

SETTINGS = dict(train_fraction=0.8, val_fraction=0.1, T=32, batch=32, lr=0.01, clip_norm=5.0,
                round_steps=100, probe_chars=5000)
FULL = dict(seeds=list(range(5)), H=96, rounds=6, dtype="float32")
# float64 in the quick setting: its result then does not depend on the number of BLAS threads.
QUICK = dict(seeds=[0], H=16, rounds=1, dtype="float64")


def split_corpus() -> dict:
    """The three blocks of the corpus as symbol ids, and the vocabulary of the training block."""
    text = data.load_corpus("pride_and_prejudice")
    a = int(SETTINGS["train_fraction"] * len(text))
    b = int((SETTINGS["train_fraction"] + SETTINGS["val_fraction"]) * len(text))
    vocab = data.CharVocab.from_text(text[:a])
    return {"vocab": vocab, "train": vocab.encode(text[:a]), "val": vocab.encode(text[a:b]),
            "test": vocab.encode(text[b:])}


def log2_softmax(logits):
    """log2 of softmax(logits) over the last axis, in float64 (shifted by the max)."""
    z = logits.astype(np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    return (z - np.log(np.exp(z).sum(axis=-1, keepdims=True))) / np.log(2)


def bits_per_char(model, vocab, ids, dtype) -> float:
    """Bits per character of ids[1:], each given all the ids before it (one sequence)."""
    logits = model.forward(vocab.one_hot(ids[:-1], dtype=dtype)[None])[0]
    return float(-np.take_along_axis(log2_softmax(logits), ids[1:, None], axis=-1).mean())


def train_lm(corpus: dict, seed: int, H: int, rounds: int, dtype: str, on_round=None):
    """A GRU language model trained for `rounds` rounds of 100 updates on fresh windows."""
    vocab, dt = corpus["vocab"], np.dtype(dtype)
    model = models.GRU(vocab.size, H, vocab.size, loss="softmax", seed=seed, dtype=dt)
    opt = optim.Adam(lr=SETTINGS["lr"])
    steps, batch, T = SETTINGS["round_steps"], SETTINGS["batch"], SETTINGS["T"]
    train_bits = []
    for r in range(rounds):
        xi, yi = data.char_windows(corpus["train"], T, steps * batch, seed=1000 * seed + r)
        hist = train.train(model, vocab.one_hot(xi, dtype=dt), yi, optimizer=opt, steps=steps,
                           batch_size=batch, clip_norm=SETTINGS["clip_norm"],
                           seed=1000 * seed + r, progress=False)
        if hist.diverged_at is not None:
            raise RuntimeError(f"seed {seed} diverged in round {r}")
        train_bits += [float(loss / np.log(2)) for loss in hist.loss]
        if on_round is not None:
            on_round(model, r)
    return model, train_bits


def run(seeds, H: int, rounds: int, dtype: str) -> list[dict]:
    corpus = split_corpus()
    vocab, dt = corpus["vocab"], np.dtype(dtype)
    probe = corpus["val"][:SETTINGS["probe_chars"]]
    out = []
    for seed in seeds:
        curve = []
        model, train_bits = train_lm(
            corpus, seed, H, rounds, dtype,
            lambda m, r, curve=curve: curve.append(bits_per_char(m, vocab, probe, dt)))
        out.append({"seed": seed, "H": H, "dtype": dtype, "num_params": model.num_params,
                    "updates": rounds * SETTINGS["round_steps"], "train_bits": train_bits,
                    "val_probe_bpc": curve,
                    "val_bpc": bits_per_char(model, vocab, corpus["val"], dt),
                    "test_bpc": bits_per_char(model, vocab, corpus["test"], dt)})
    return out


def _meta() -> dict:
    return {"rnnlab_version": rnnlab.__version__, "numpy_version": np.__version__,
            "python": platform.python_version(), "settings": SETTINGS, "full": FULL,
            "quick_setting": QUICK, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")}


def main(argv=None) -> None:
    parser = results_parser(__doc__)
    args = parser.parse_args(argv)
    out = args.out or (RESULTS.with_name("char_lm_seeds_quick.json") if args.quick else RESULTS)
    start = time.perf_counter()
    result = {"meta": _meta(), "quick": run(**QUICK)}
    if not args.quick:
        result["results"] = []
        for seed in FULL["seeds"]:
            t0 = time.perf_counter()
            r = run([seed], FULL["H"], FULL["rounds"], FULL["dtype"])[0]
            result["results"].append(r)
            print(f"seed {seed}: validation bpc {r['val_bpc']:.3f}, test bpc {r['test_bpc']:.3f} "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)
    write_results(result, out, start)


if __name__ == "__main__":
    main()
