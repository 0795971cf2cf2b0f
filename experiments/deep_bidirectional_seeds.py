"""When does reading backwards help, and when does a second layer help? Two tagging tasks, four
GRU taggers of (almost) the same size, five seeds (chapter 5, "Deep and bidirectional RNNs").

Inputs: random bit strings x_1 … x_T (one-hot, T = 12), with x_0 = x_{T+1} = 0 outside. Each
position gets a label computed from the window (x_{t−1}, x_t, x_{t+1}):

* "majority": y_t = 1 if at least two of the three bits are 1. A *threshold of a sum*: a
  bidirectional tagger can add a term from each direction in its affine output layer.
* "parity":   y_t = x_{t−1} ⊕ x_t ⊕ x_{t+1}. Not a threshold of a sum of a past part and a future
  part (XOR), so one bidirectional layer cannot compute it in its affine output layer; a second
  layer, which reads both directions, can.

Both labels need x_{t+1}, one step of the future, which a unidirectional tagger never sees when it
labels position t.

Models (``rnnlab.tagger.Tagger``, GRU cells): 1 or 2 layers × unidirectional or bidirectional.
The hidden size of each is chosen so that every model has close to the parameter count of the
two-layer bidirectional tagger with H = 8 (the counts are stored with the results).

Data: a test set and a validation set of distinct strings drawn once with their own generators
(the validation set excludes the test strings); training strings are drawn fresh for every batch
and any string of the validation or test set is removed from a batch, so the test set is disjoint
from everything the models train on. Training: Adam (learning rate 0.01, not tuned), gradient
norm clipped at 5, minibatches of 32. The validation accuracy every 50 updates picks the
checkpoint (early stopping); the test set is scored once, with that checkpoint. Accuracy is
reported at the interior positions 2 … T−1, where the whole window is random (positions 1 and T
have a known 0 in their window), and at all positions.

A seed sets a model's initial weights and its stream of training strings: seeds 0 … 4, the same
for every model and task.

Usage (from the repository root):

    python experiments/deep_bidirectional_seeds.py          # 2 tasks x 4 models x 5 seeds
    python experiments/deep_bidirectional_seeds.py --quick  # the notebook's live setting

Results (small JSON) go to experiments/results/deep_bidirectional_seeds.json, or to --out. The
full run stores the quick setting's result under "quick" too, produced by the same code path, so
that ``tests/test_deep_bidirectional.py`` can re-run it and compare.
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import time
from pathlib import Path

if __name__ == "__main__":
    # One BLAS thread, set before NumPy loads BLAS (small matrices; a busy 2-core machine).
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from _common import results_parser, write_results  # noqa: E402

import rnnlab  # noqa: E402
from rnnlab import optim  # noqa: E402
from rnnlab.tagger import Tagger  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "deep_bidirectional_seeds.json"

T = 12
TASKS = ("majority", "parity")
# (name, num_layers, bidirectional, hidden size): sizes chosen for ~1860 parameters each
MODELS = (("1 layer, forward", 1, False, 23), ("2 layers, forward", 2, False, 13),
          ("1 layer, bidirectional", 1, True, 15), ("2 layers, bidirectional", 2, True, 8))
SETTINGS = dict(T=T, cell="gru", lr=0.01, clip_norm=5.0, batch=32, eval_every=50, n_val=500,
                n_test=1000, val_seed=2024, test_seed=2025)
FULL = dict(seeds=[0, 1, 2, 3, 4], steps=400)
# The notebook's live re-run: seed 0, fewer updates, the two models that matter for each task.
QUICK = dict(seeds=[0], steps=150,
             runs=(("majority", "1 layer, forward"), ("majority", "1 layer, bidirectional"),
                   ("parity", "1 layer, bidirectional"), ("parity", "2 layers, bidirectional")))


def labels(bits: np.ndarray, task: str) -> np.ndarray:
    """(N, T) labels of (N, T) bit strings, from the window (x_{t−1}, x_t, x_{t+1}), 0 outside."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}; got {task!r}")
    p = np.pad(bits, ((0, 0), (1, 1)))
    prev, now, nxt = p[:, :-2], p[:, 1:-1], p[:, 2:]
    if task == "majority":
        return (prev + now + nxt >= 2).astype(np.int64)
    return prev ^ now ^ nxt


def one_hot(bits: np.ndarray) -> np.ndarray:
    return np.eye(2)[bits]


def _distinct(rng: np.random.Generator, n: int, exclude: set) -> np.ndarray:
    rows, seen = [], set(exclude)
    while len(rows) < n:
        row = tuple(int(b) for b in rng.integers(0, 2, T))
        if row not in seen:
            seen.add(row)
            rows.append(row)
    return np.array(rows, dtype=np.int64)


def heldout() -> tuple[np.ndarray, np.ndarray]:
    """(validation, test) bit strings: distinct, disjoint, drawn once with their own seeds."""
    test = _distinct(np.random.default_rng(SETTINGS["test_seed"]), SETTINGS["n_test"], set())
    val = _distinct(np.random.default_rng(SETTINGS["val_seed"]), SETTINGS["n_val"],
                    {tuple(r) for r in test})
    return val, test


VAL, TEST = heldout()
HELDOUT = {tuple(r) for r in VAL} | {tuple(r) for r in TEST}


def training_batch(rng: np.random.Generator, n: int) -> np.ndarray:
    """n fresh bit strings, none of them in the validation or test set."""
    bits = rng.integers(0, 2, size=(2 * n, T))
    return bits[[tuple(r) not in HELDOUT for r in bits]][:n]


def accuracy(model: Tagger, bits: np.ndarray, task: str) -> dict:
    """Fraction of correct labels at the interior positions 2 … T−1 and at all positions."""
    hits = model.predict(one_hot(bits)) == labels(bits, task)
    return {"interior": float(hits[:, 1:-1].mean()), "all": float(hits.mean())}


def model_spec(name: str) -> tuple[int, bool, int]:
    for n, num_layers, bidirectional, H in MODELS:
        if n == name:
            return num_layers, bidirectional, H
    raise ValueError(f"no model named {name!r}")


def run_one(task: str, name: str, seed: int, steps: int) -> dict:
    """Train one tagger, pick its checkpoint on the validation set, score it once on the test."""
    num_layers, bidirectional, H = model_spec(name)
    model = Tagger(SETTINGS["cell"], 2, H, 2, num_layers=num_layers,
                   bidirectional=bidirectional, seed=seed)
    opt = optim.Adam(SETTINGS["lr"])
    rng = np.random.default_rng([seed, 7])  # the training strings
    losses, val_curve = [], []
    best = (-1.0, 0, None)
    for step in range(1, steps + 1):
        bits = training_batch(rng, SETTINGS["batch"])
        losses.append(model.loss(one_hot(bits), labels(bits, task)))
        optim.clip_grad_norm(model.grads, SETTINGS["clip_norm"])
        opt.step(model.params, model.grads)
        if step % SETTINGS["eval_every"] == 0:
            val = accuracy(model, VAL, task)["interior"]
            val_curve.append(val)
            if val > best[0]:
                best = (val, step, {k: v.copy() for k, v in model.params.items()})
    for k, v in best[2].items():  # restore the chosen checkpoint
        model.params[k][...] = v
    every = SETTINGS["eval_every"]
    return {"task": task, "model": name, "seed": seed, "num_layers": num_layers,
            "bidirectional": bidirectional, "hidden": H, "num_params": model.num_params,
            "steps": steps, "chosen_step": best[1], "val_curve": val_curve,
            "loss_curve": [float(np.mean(losses[i:i + every])) for i in range(0, steps, every)],
            "test": accuracy(model, TEST, task)}


def run_quick() -> list[dict]:
    return [run_one(task, name, seed, QUICK["steps"]) for seed in QUICK["seeds"]
            for task, name in QUICK["runs"]]


def _meta() -> dict:
    return {"rnnlab_version": rnnlab.__version__, "numpy_version": np.__version__,
            "python": platform.python_version(), "settings": SETTINGS, "full": FULL,
            "quick_setting": {k: list(v) if isinstance(v, tuple) else v
                              for k, v in QUICK.items()},
            "tasks": list(TASKS), "models": [list(m) for m in MODELS],
            "n_val": len(VAL), "n_test": len(TEST),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")}


def _run_timed(task: str, name: str, seed: int) -> dict:
    t0 = time.perf_counter()
    r = run_one(task, name, seed, FULL["steps"])
    r["seconds"] = round(time.perf_counter() - t0, 1)
    print(f"{task:8s} {name:24s} seed {seed}: test accuracy (interior) "
          f"{r['test']['interior']:.3f} ({r['seconds']:.0f} s)", flush=True)
    return r


def main(argv=None) -> None:
    parser = results_parser(__doc__, jobs_help="processes for the full run")
    args = parser.parse_args(argv)
    out = args.out or (RESULTS.with_name("deep_bidirectional_seeds_quick.json") if args.quick
                       else RESULTS)
    start = time.perf_counter()
    result = {"meta": _meta(), "quick": run_quick()}
    if not args.quick:
        jobs = [(task, m[0], seed) for task in TASKS for m in MODELS for seed in FULL["seeds"]]
        # every run is seeded and single-threaded: the results do not depend on --jobs
        with multiprocessing.Pool(max(1, args.jobs)) as pool:
            result["results"] = pool.starmap(_run_timed, jobs)
    write_results(result, out, start)


if __name__ == "__main__":
    main()
