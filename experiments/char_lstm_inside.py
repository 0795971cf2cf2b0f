"""Inside a trained network (chapter 6): a character-level LSTM language model on the shipped
corpus, trained over seeds, and what single units of it track (Karpathy, Johnson & Fei-Fei 2015).

Data: the corpus of chapter 6 (the first 30 chapters of *Pride and Prejudice*) cut into the same
three contiguous blocks as ``experiments/char_lm_seeds.py``: the first 80 % for training, the next
10 % for validation, the last 10 % for the test; the vocabulary comes from the training block.

Model and training: ``rnnlab.models.LSTM`` (H = 96, float32, forget-gate bias 1 at the start),
one-hot characters in, a softmax over the characters out at every step. The training text is cut
into 32 parallel contiguous streams that are read in chunks of 64 characters, the state carried
from one chunk to the next (truncated BPTT as in char-rnn: gradients stay inside a chunk, the
state does not), so the model learns to use context longer than one chunk. Adam (learning rate
0.01), gradient norm clipped at 5. One epoch reads the training text once (each epoch starts the
streams at a fresh random offset and from a zero state). After every epoch the bits per
character on the whole validation block (one sequence, state carried) is measured; training stops
when it has not improved for 2 epochs or after 8 epochs, and the parameters of the best epoch
are kept (early stopping on the validation text). The test block is scored once, at the end.

Units: with the trained model run over the validation block, each unit's cell state c_t is
correlated with features of the text (``rnnlab.interpret``: inside a quotation, position in the
line); the unit with the largest |correlation| **on the validation text** is chosen, and its
correlation is then measured on the **test** text, which played no part in the choice. As a
control, the same selection is made in the untrained network of the same seed. Gate saturation
(the fraction of steps each gate unit is < 0.1 and > 0.9) is summarised on the validation text.
Brackets cannot be studied on this corpus: see ``bracket_counts`` in the results.

Seed 0's trained weights are shipped with the package (``src/rnnlab/weights/``, loaded by
``rnnlab.pretrained.load_char_lstm``); the notebook
``chapters/06_applications/inside_char_model.ipynb`` analyses them and plots the seed summary
stored here.

Usage (from the repository root):

    python experiments/char_lstm_inside.py           # 5 seeds (~1 CPU minute per seed;
                                                     # --jobs 5 runs them in parallel)
    python experiments/char_lstm_inside.py --quick   # a small setting, a few seconds

Results (small JSON) go to experiments/results/char_lstm_inside.json, or to --out; the full run
also writes seed 0's weights (to --weights, default the package's file) and stores the quick
setting's result under "quick", produced by the same code path, so that
``tests/test_char_lstm_inside.py`` can re-run it and compare.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import platform
import sys
import time
from pathlib import Path

if __name__ == "__main__":
    # One BLAS thread (see experiments/adding_sweep.py); must be set before NumPy loads BLAS.
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from _common import results_parser, write_results  # noqa: E402

import rnnlab  # noqa: E402
from rnnlab import data, interpret, models, optim  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "experiments" / "results" / "char_lstm_inside.json"
WEIGHTS = ROOT / "src" / "rnnlab" / "weights" / "char_lstm_pride.npz"

SETTINGS = dict(train_fraction=0.8, val_fraction=0.1, streams=32, T=64, lr=0.01,
                clip_norm=5.0, patience=2)
FULL = dict(seeds=list(range(5)), H=96, max_epochs=8, dtype="float32")
# float64 in the quick setting: its result then does not depend on the number of BLAS threads.
QUICK = dict(seeds=[0], H=8, max_epochs=2, dtype="float64")
FEATURES = {"in_quotes": interpret.in_quotes, "position_in_line": interpret.position_in_line}
GATES = ("i", "f", "o")


def split_corpus() -> dict:
    """The three blocks of the corpus as text and symbol ids, and the training vocabulary."""
    text = data.load_corpus("pride_and_prejudice")
    a = int(SETTINGS["train_fraction"] * len(text))
    b = int((SETTINGS["train_fraction"] + SETTINGS["val_fraction"]) * len(text))
    vocab = data.CharVocab.from_text(text[:a])
    parts = {"train": text[:a], "val": text[a:b], "test": text[b:]}
    return {"vocab": vocab, "text": parts, **{k: vocab.encode(v) for k, v in parts.items()}}


def log2_softmax(logits):
    """log2 of softmax(logits) over the last axis, in float64 (shifted by the max)."""
    z = logits.astype(np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    return (z - np.log(np.exp(z).sum(axis=-1, keepdims=True))) / np.log(2)


def bits_per_char(model, vocab, ids) -> float:
    """Bits per character of ids[1:], each given all the ids before it (one sequence)."""
    logits = model.forward(vocab.one_hot(ids[:-1], dtype=model.dtype)[None])[0]
    return float(-np.take_along_axis(log2_softmax(logits), ids[1:, None], axis=-1).mean())


def streams(ids, n_streams: int, T: int, offset: int):
    """Inputs and targets (n_streams, L) of contiguous streams, L a multiple of T."""
    usable = ids[offset:]
    stride = (len(usable) - 1) // n_streams
    L = stride // T * T
    starts = np.arange(n_streams)[:, None] * stride + np.arange(L)[None, :]
    return usable[starts], usable[starts + 1]


def train_lstm(corpus: dict, seed: int, H: int, max_epochs: int, dtype: str):
    """Train with carried state and early stopping on the validation bpc; returns the model
    holding the best epoch's parameters and the per-epoch record."""
    vocab = corpus["vocab"]
    model = models.LSTM(vocab.size, H, vocab.size, loss="softmax", seed=seed,
                        dtype=np.dtype(dtype))
    opt = optim.Adam(lr=SETTINGS["lr"])
    rng = np.random.default_rng(seed)
    T, S = SETTINGS["T"], SETTINGS["streams"]
    best = (np.inf, 0, {k: v.copy() for k, v in model.params.items()})
    train_bpc, val_bpc = [], []
    for epoch in range(max_epochs):
        xi, yi = streams(corpus["train"], S, T, int(rng.integers(T)))
        state = model.initial_state(S)
        losses = []
        for start in range(0, xi.shape[1], T):
            x = vocab.one_hot(xi[:, start:start + T], dtype=model.dtype)
            loss = model.loss(x, yi[:, start:start + T], h0=state)
            state = tuple(s.copy() for s in model.final_state)  # a value: no gradient across
            if not np.isfinite(loss):
                raise RuntimeError(f"seed {seed} diverged in epoch {epoch}")
            optim.clip_grad_norm(model.grads, SETTINGS["clip_norm"])
            opt.step(model.params, model.grads)
            losses.append(loss)
        train_bpc.append(float(np.mean(losses) / np.log(2)))
        val_bpc.append(bits_per_char(model, vocab, corpus["val"]))
        print(f"  seed {seed}, H={H}, epoch {epoch + 1}: train {train_bpc[-1]:.3f}, validation "
              f"{val_bpc[-1]:.3f} bits/char", file=sys.stderr, flush=True)
        if val_bpc[-1] < best[0]:
            best = (val_bpc[-1], epoch + 1, {k: v.copy() for k, v in model.params.items()})
        elif epoch + 1 - best[1] >= SETTINGS["patience"]:
            break
    model.params = best[2]
    return model, {"train_bpc": train_bpc, "val_bpc_curve": val_bpc, "best_epoch": best[1],
                   "epochs_run": len(val_bpc)}


def activations(model, vocab, text: str) -> interpret.LSTMActivations:
    p = model.params
    return interpret.lstm_activations(vocab.one_hot(vocab.encode(text), dtype=model.dtype),
                                      p["Wx"], p["Wh"], p["b"])


def unit_study(model, corpus: dict) -> dict:
    """Per feature: the unit chosen on the validation text and its correlation on the test."""
    vocab, texts = corpus["vocab"], corpus["text"]
    acts = {part: activations(model, vocab, texts[part]) for part in ("val", "test")}
    out = {}
    for name, feature in FEATURES.items():
        corr = {part: interpret.feature_correlations(acts[part].c, feature(texts[part]))
                for part in ("val", "test")}
        unit = int(interpret.top_units(corr["val"], 1)[0])
        out[name] = {"unit": unit, "val_corr": float(corr["val"][unit]),
                     "test_corr": float(corr["test"][unit]),
                     # the best unit picked on the test text itself (optimistically biased)
                     "test_best_abs_corr": float(np.abs(corr["test"]).max())}
    left_right = {g: interpret.saturation_fractions(getattr(acts["val"], g)) for g in GATES}
    out["saturation"] = {g: {"mean_left": float(lr[0].mean()), "mean_right": float(lr[1].mean()),
                             "units_right_over_half": int((lr[1] > 0.5).sum()),
                             "units_left_over_half": int((lr[0] > 0.5).sum())}
                         for g, lr in left_right.items()}
    return out


def run(seeds, H: int, max_epochs: int, dtype: str, keep_models: bool = False):
    corpus = split_corpus()
    out, kept = [], {}
    for seed in seeds:
        untrained = models.LSTM(corpus["vocab"].size, H, corpus["vocab"].size, loss="softmax",
                                seed=seed, dtype=np.dtype(dtype))
        control = unit_study(untrained, corpus)
        model, record = train_lstm(corpus, seed, H, max_epochs, dtype)
        out.append({"seed": seed, "H": H, "dtype": dtype, "num_params": model.num_params,
                    **record, "val_bpc": bits_per_char(model, corpus["vocab"], corpus["val"]),
                    "test_bpc": bits_per_char(model, corpus["vocab"], corpus["test"]),
                    "units": unit_study(model, corpus), "untrained_units": control})
        if keep_models:
            kept[seed] = model
    return out, kept, corpus


def save_weights(model, vocab, path: Path) -> str:
    """Write the model's parameters and vocabulary to an .npz; returns its sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, chars=np.array("".join(vocab.chars)),
                        **{k: v for k, v in model.params.items()})
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _full_seed(seed: int):
    """One seed of the full setting: (result, CPU seconds, the trained model for seed 0)."""
    t0 = time.process_time()
    (r,), kept, _ = run([seed], FULL["H"], FULL["max_epochs"], FULL["dtype"],
                        keep_models=seed == 0)
    cpu = round(time.process_time() - t0, 1)
    print(f"seed {seed} done: validation bpc {r['val_bpc']:.3f} ({cpu} CPU s)", flush=True)
    return r, cpu, kept.get(seed)


def bracket_counts(corpus: dict) -> dict:
    return {part: {"(": t.count("("), ")": t.count(")")} for part, t in corpus["text"].items()}


def _meta(corpus: dict) -> dict:
    return {"rnnlab_version": rnnlab.__version__, "numpy_version": np.__version__,
            "python": platform.python_version(), "settings": SETTINGS, "full": FULL,
            "quick_setting": QUICK, "features": list(FEATURES), "gates": list(GATES),
            "bracket_counts": bracket_counts(corpus),
            "brackets_not_studied_because": "the corpus has 8 bracket pairs in its training "
            "text, none in the validation text and 1 in the test text: too few to learn a "
            "bracket counter from, and no validation text to choose a unit on",
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")}


def main(argv=None) -> None:
    parser = results_parser(__doc__)
    parser.add_argument("--weights", type=Path, default=WEIGHTS,
                        help="where the full run writes seed 0's weights (.npz)")
    parser.add_argument("--jobs", type=int, default=1, help="seeds trained in parallel")
    args = parser.parse_args(argv)
    out = args.out or (RESULTS.with_name("char_lstm_inside_quick.json") if args.quick
                       else RESULTS)
    start = time.perf_counter()
    quick, _, corpus = run(**QUICK)
    result = {"meta": _meta(corpus), "quick": quick}
    if not args.quick:
        # Seeds are independent: --jobs runs them in parallel processes; the results do not
        # depend on it (each seed has its own generators and one BLAS thread).
        with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
            done = pool.map(_full_seed, FULL["seeds"], chunksize=1)
        result["results"] = [r for r, _, _ in done]
        result["meta"]["cpu_seconds_per_seed"] = {r["seed"]: cpu for r, cpu, _ in done}
        result["meta"]["weights_sha256"] = save_weights(done[0][2], corpus["vocab"], args.weights)
        for r, cpu, _ in done:
            u = r["units"]
            print(f"seed {r['seed']}: best epoch {r['best_epoch']}/{r['epochs_run']}, validation "
                  f"bpc {r['val_bpc']:.3f}, test bpc {r['test_bpc']:.3f}; quote unit "
                  f"{u['in_quotes']['unit']} test r={u['in_quotes']['test_corr']:+.2f}, line "
                  f"unit {u['position_in_line']['unit']} test r="
                  f"{u['position_in_line']['test_corr']:+.2f} ({cpu} CPU s)", flush=True)
    write_results(result, out, start)


if __name__ == "__main__":
    main()
