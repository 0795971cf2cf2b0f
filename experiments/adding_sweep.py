"""Long-range memory: the adding problem and the copy task at growing lengths T, for the vanilla
RNN, the LSTM and the GRU of ``rnnlab`` (chapter 5, "LSTM and GRU").

* Adding problem (Hochreiter & Schmidhuber 1997, Experiment 4; ``data.adding_problem``): a
  many-to-one regression; a test sequence is correct when |error| < 0.04 (``data.adding_correct``).
  Predicting the constant 0.5 gets about 16 % of the sequences right by chance.
* Copy task (Hochreiter & Schmidhuber 1997; Arjovsky, Shah & Bengio 2016; ``data.copy_task``):
  remember 5 symbols over T steps and repeat them after a delimiter; a test sequence is correct
  when all 5 symbols are (chance: 8⁻⁵).

Every setting gets the same small CPU budget: hidden size H, Adam, gradient-norm clipping, a fixed
number of updates, and an early stop as soon as a validation set is solved completely. The
fraction of correct sequences is then measured on a separate test set of 2560 sequences (the
size of the paper's test sets).

The training sequences are *not* fresh at every update: each chunk of ``eval_every`` updates
draws its minibatches (each without replacement, but independently of each other) from one pool
of ``eval_every * batch`` new sequences. With the sweep's settings that is 81,081 distinct
sequences in 128,000 presentations over 2,000 updates (chapter 5 recomputes this count). Each
setting is trained once (one seed, one learning rate), and the cells share H, so they differ in
parameter count (1,153 / 4,513 / 3,489 for RNN / LSTM / GRU on the adding problem). For a
comparison over seeds, at equal parameter count and on truly fresh sequences, see
``adding_table7.py``.

Usage (from the repository root):

    python experiments/adding_sweep.py            # the full sweep (~16 min on 2 busy cores)
    python experiments/adding_sweep.py --quick    # one small setting, a few seconds

The results (small JSON) go to experiments/results/adding_sweep.json, or to --out. The full sweep
also stores the quick setting's result under "quick", produced by the same code path, so that
``tests/test_experiments.py`` can re-run it and compare.
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

if __name__ == "__main__":
    # One BLAS thread (unless the caller chose otherwise; the Makefile does the same): the
    # matrices here are small, and multithreaded OpenBLAS spins on a busy 2-core machine (the
    # quick setting took 6x longer with two threads). It must be set before NumPy loads BLAS.
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from _common import results_parser, write_results  # noqa: E402

import rnnlab  # noqa: E402
from rnnlab import data, models, optim, train  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "adding_sweep.json"

# One budget for every setting (see the module docstring).
SETTINGS = dict(H=32, batch=64, lr=1e-2, clip_norm=1.0, eval_every=100, n_val=256, n_test=2560,
                dtype="float32")
CELLS = ("rnn", "lstm", "gru")
TS = (10, 25, 50, 75, 100)
TASKS = ("adding", "copy")
STEPS = 2000  # update budget per setting
SEED = 0
# The quick setting runs in float64: there the result does not depend on how many threads BLAS
# uses, while float32 matrix products on this BLAS do (and ~300 Adam steps amplify the last bit).
QUICK = dict(task="adding", T=10, steps=300, seed=0, dtype="float64")
COPY_SYMBOLS, COPY_LENGTH = 8, 5


def make_data(task: str, n: int, T: int, seed: int):
    """(x, targets, mask) for `n` sequences of the task; mask is None for the adding problem."""
    if task == "adding":
        x, targets, _ = data.adding_problem(n, T, seed=seed)
        return x, targets, None
    if task == "copy":
        return data.copy_task(n, T, n_symbols=COPY_SYMBOLS, length=COPY_LENGTH, seed=seed)
    raise ValueError(f"task must be 'adding' or 'copy'; got {task!r}")


def correct(task: str, model, x, targets, mask) -> np.ndarray:
    """Boolean (N,): which sequences the model gets right."""
    y = model.forward(x)
    if task == "adding":
        return data.adding_correct(y, targets)
    hit = (np.argmax(y, axis=-1) == targets) | (mask == 0)  # only the copy positions count
    return hit.all(axis=1)


def data_seeds(seed: int) -> dict[str, int]:
    # Disjoint data streams for training chunks, validation and test, all derived from `seed`.
    return {"val": 1_000_003 + seed, "test": 2_000_003 + seed, "train": 3_000_003 + 10_000 * seed}


def run_setting(task: str, cell: str, T: int, steps: int, seed: int = 0, *, H: int = 32,
                batch: int = 64, lr: float = 1e-2, clip_norm: float = 1.0, eval_every: int = 100,
                n_val: int = 256, n_test: int = 2560, dtype: str = "float32",
                forget_bias: float | None = None) -> dict:
    """Train one (task, cell, T) setting and return its result as a JSON-ready dict.

    Trains for at most `steps` Adam updates on minibatches of `batch` sequences, each chunk of
    `eval_every` updates sampling them from one pool of `eval_every * batch` new sequences (so a
    sequence can recur within its chunk); checks the validation set after every chunk and stops
    once it is solved completely.
    Returns the settings, the steps and training sequences used, the fraction of the `n_test`
    test sequences that are correct, the test loss, the mean training loss of the last chunk and
    the validation curve.
    """
    dt = np.dtype(dtype)
    seeds = data_seeds(seed)
    xv, tv, mv = make_data(task, n_val, T, seeds["val"])
    xt, tt, mt = make_data(task, n_test, T, seeds["test"])
    D = xv.shape[2]
    if task == "adding":
        model = models.make_model(cell, D, H, 1, output="last", seed=seed, dtype=dt)
    else:
        model = models.make_model(cell, D, H, D, output="sequence", loss="softmax", seed=seed,
                                  dtype=dt)
    if forget_bias is not None:  # LSTM only: override the library's initial forget-gate bias
        if cell != "lstm":
            raise ValueError("forget_bias applies to the LSTM only")
        model.params["b"][H:2 * H] = forget_bias
    opt = optim.Adam(lr)
    done, curve, last_losses, diverged = 0, [], [], False
    while done < steps:
        chunk = min(eval_every, steps - done)
        x, targets, mask = make_data(task, chunk * batch, T, seeds["train"] + done)
        hist = train.train(model, x.astype(dt), targets.astype(dt) if task == "adding" else targets,
                           mask=mask, optimizer=opt, steps=chunk, batch_size=batch,
                           clip_norm=clip_norm, seed=done, progress=False)
        done += len(hist.loss)
        last_losses = hist.loss
        if hist.diverged_at is not None:
            diverged = True
            break
        val = float(correct(task, model, xv.astype(dt), tv, mv).mean())
        curve.append([done, val])
        if val == 1.0:
            break
    ok = correct(task, model, xt.astype(dt), tt, mt)
    test_loss = model.loss(xt.astype(dt), tt.astype(dt) if task == "adding" else tt, mask=mt)
    return {
        "task": task, "cell": cell, "T": T, "seed": seed,
        "H": H, "batch": batch, "lr": lr, "clip_norm": clip_norm, "dtype": dtype,
        "step_budget": steps, "steps": done, "sequences_seen": done * batch,
        "stopped_early": bool(curve) and curve[-1][1] == 1.0, "diverged": diverged,
        "fraction_correct": float(ok.mean()), "n_test": int(n_test), "n_wrong": int((~ok).sum()),
        "test_loss": float(test_loss), "final_train_loss": float(np.mean(last_losses)),
        "num_params": model.num_params, "val_curve": curve,
    }


def run_quick() -> list[dict]:
    """The quick setting: adding problem, T = 10, all three cells, a few hundred updates."""
    settings = {**SETTINGS, "dtype": QUICK["dtype"]}
    return [run_setting(QUICK["task"], cell, QUICK["T"], QUICK["steps"], QUICK["seed"],
                        **settings) for cell in CELLS]


FEWER_SEEDS_BECAUSE = (
    "a single-seed illustration, kept for its budget (30 settings in about a quarter of an hour): "
    "it shows what is easy to learn in 2,000 updates and does not rank the cells; the comparison "
    "over seeds, with learning rates tuned on validation, is experiments/adding_table7.py")


def _meta() -> dict:
    return {"rnnlab_version": rnnlab.__version__, "numpy_version": np.__version__,
            "python": platform.python_version(), "settings": SETTINGS, "step_budget": STEPS,
            "seeds": [SEED], "Ts": list(TS), "cells": list(CELLS), "tasks": list(TASKS),
            "copy_task": {"n_symbols": COPY_SYMBOLS, "length": COPY_LENGTH},
            "quick_setting": QUICK, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
            "fewer_seeds_because": FEWER_SEEDS_BECAUSE}


def main(argv=None) -> None:
    parser = results_parser(__doc__)
    args = parser.parse_args(argv)
    out = args.out or (RESULTS.with_name("adding_sweep_quick.json") if args.quick else RESULTS)
    start = time.perf_counter()
    result = {"meta": _meta(), "quick": run_quick()}
    for r in result["quick"]:
        print(f"quick  {r['cell']:4s} T={r['T']:3d}  correct {r['fraction_correct']:.3f}  "
              f"steps {r['steps']}", flush=True)
    if not args.quick:
        result["results"] = []
        for task in TASKS:
            for T in TS:
                for cell in CELLS:
                    t0 = time.perf_counter()
                    r = run_setting(task, cell, T, STEPS, SEED, **SETTINGS)
                    r["seconds"] = round(time.perf_counter() - t0, 1)
                    result["results"].append(r)
                    print(f"{task:6s} {cell:4s} T={T:3d}  correct {r['fraction_correct']:.3f}  "
                          f"steps {r['steps']:5d}  test loss {r['test_loss']:.4f}  "
                          f"({time.perf_counter() - t0:.0f} s)", flush=True)
    write_results(result, out, start)


if __name__ == "__main__":
    main()
