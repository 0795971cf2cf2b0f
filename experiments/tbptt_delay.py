"""Full versus truncated BPTT on the delay task of chapter 3 ("Backpropagation through time"),
over five seeds.

The task: a stream of random symbols from {0, …, K−1}, one-hot; at every step t the target is the
symbol seen d steps earlier (the first d steps are not scored). Truncated BPTT with chunks of
k ≤ d steps gives no gradient for that dependency. A GRU (16 units, Adam, 400 updates of 32
sequences) is trained with full BPTT, with chunks of k = 12 > d and with k = 3 < d, for seeds
0–4; the seed sets the initial weights and the minibatch order, and every method gets the same
seeds and the same data. Nothing is tuned on the test set: the settings are those of the chapter,
fixed in advance, and the test set (256 fresh sequences, none of which occurs in the training
set — checked and stored) is scored once per trained model.

Usage (from the repository root):

    python experiments/tbptt_delay.py            # all methods x 5 seeds (~1 min on one core)
    python experiments/tbptt_delay.py --quick    # seed 0 only, the run the chapter repeats live

Results (small JSON) go to experiments/results/tbptt_delay.json, or to --out. The quick setting
runs the same code path for seed 0, so ``tests/test_experiment_tbptt_delay.py`` re-runs it and
compares it with the seed-0 entries of the committed results.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

if __name__ == "__main__":
    # One BLAS thread unless the caller chose otherwise: the matrices are small (see adding_sweep).
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

import rnnlab  # noqa: E402
from rnnlab import models, optim  # noqa: E402
from rnnlab.train import train  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "tbptt_delay.json"

K, DELAY, T = 4, 6, 30                       # symbols, delay d, sequence length
N_TRAIN, N_TEST = 128, 256
DATA_SEEDS = {"train": 0, "test": 1}
HIDDEN, LR, STEPS, BATCH = 16, 0.02, 400, 32
METHODS = {"full BPTT": None, "TBPTT k = 12": 12, "TBPTT k = 3": 3}   # label -> chunk length k
SEEDS = (0, 1, 2, 3, 4)
CURVE_EVERY = 4                              # keep every 4th training loss for the plots


def delay_task(n: int, T: int, d: int, K: int, seed: int):
    """n one-hot streams of K symbols; target_t = symbol at t − d (the first d steps unscored).

    Returns x: (n, T, K) one-hot inputs, targets: (n, T) int64, mask: (n, T) 0/1.
    """
    symbols = np.random.default_rng(seed).integers(0, K, size=(n, T))
    x = np.eye(K)[symbols]
    targets = np.zeros((n, T), dtype=np.int64)
    targets[:, d:] = symbols[:, :-d]
    mask = np.zeros((n, T))
    mask[:, d:] = 1
    return x, targets, mask


def datasets():
    """The training and test sets of the chapter (the same for every method and seed)."""
    train_set = delay_task(N_TRAIN, T, DELAY, K, DATA_SEEDS["train"])
    test_set = delay_task(N_TEST, T, DELAY, K, DATA_SEEDS["test"])
    return train_set, test_set


def test_sequences_in_training(train_set, test_set) -> int:
    """How many test input sequences also occur, verbatim, in the training set."""
    seen = {row.tobytes() for row in train_set[0].argmax(-1)}
    return sum(row.tobytes() in seen for row in test_set[0].argmax(-1))


def run(label: str, seed: int, train_set=None, test_set=None) -> dict:
    """Train one GRU with the method `label` and `seed`; score it once on the test set."""
    if train_set is None or test_set is None:
        train_set, test_set = datasets()
    (x_train, y_train, m_train), (x_test, y_test, m_test) = train_set, test_set
    gru = models.GRU(K, HIDDEN, K, loss="softmax", seed=seed)
    hist = train(gru, x_train, y_train, optimizer=optim.Adam(LR), steps=STEPS, batch_size=BATCH,
                 mask=m_train, tbptt_k=METHODS[label], seed=seed, progress=False)
    correct = (gru.forward(x_test).argmax(-1) == y_test) * m_test
    return {"method": label, "k": METHODS[label], "seed": seed,
            "final_train_loss": float(np.mean(hist.loss[-20:])),
            "test_accuracy": float(correct.sum() / m_test.sum()),
            "loss_curve": [float(v) for v in hist.loss[::CURVE_EVERY]]}


def run_all(seeds) -> list[dict]:
    train_set, test_set = datasets()
    return [run(label, seed, train_set, test_set) for seed in seeds for label in METHODS]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="seed 0 only")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    seeds = (0,) if args.quick else SEEDS
    results = run_all(seeds)
    train_set, test_set = datasets()
    meta = {"K": K, "delay": DELAY, "T": T, "n_train": N_TRAIN, "n_test": N_TEST,
            "data_seeds": DATA_SEEDS, "hidden": HIDDEN, "lr": LR, "steps": STEPS,
            "batch": BATCH, "methods": METHODS, "seeds": list(seeds), "curve_every": CURVE_EVERY,
            "test_sequences_in_training": test_sequences_in_training(train_set, test_set),
            "rnnlab": rnnlab.__version__, "numpy": np.__version__,
            "python": platform.python_version(),
            "seconds": round(time.perf_counter() - start, 1)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "results": results}, indent=1) + "\n")
    for r in results:
        print(f"{r['method']:<13} seed {r['seed']}: final training loss {r['final_train_loss']:.3f}"
              f"   test accuracy {r['test_accuracy']:.3f}", file=sys.stderr)


if __name__ == "__main__":
    main()
