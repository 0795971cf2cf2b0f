"""Yearly sunspots, one-year-ahead: the GRU forecaster of chapter 6 ("Forecasting") over seeds,
with its number of updates chosen on a validation period.

Protocol (the notebook `chapters/06_applications/forecasting.ipynb` explains each step):

1. Chronological split of the 309 years 1700-2008: the last 50 target years are the test period,
   the 40 target years before them the validation period, the rest the fitting period. The
   normalisation (mean, standard deviation) comes from the training years (fitting + validation).
2. Validation: for every seed, train a GRU (H = 16, Adam, batches of 32 windows of T = 12 years)
   on the fitting windows in rounds of 100 updates, up to 1,000, and record the validation MAE
   after every round. The number of updates with the lowest MAE averaged over the seeds is chosen.
3. Test, touched once: for every seed, train a fresh GRU on all training windows (fitting +
   validation) for the chosen number of updates and score it on the test period.

Every seed uses the same data; a seed sets the initial weights and the minibatch order.

Usage (from the repository root):

    python experiments/forecasting_seeds.py           # the full run (~2 min on a quiet core)
    python experiments/forecasting_seeds.py --quick   # a small setting, a few seconds

Results (small JSON) go to experiments/results/forecasting_seeds.json, or to --out. The full run
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

RESULTS = Path(__file__).resolve().parent / "results" / "forecasting_seeds.json"

SETTINGS = dict(T=12, H=16, lr=0.01, batch=32, n_test=50, n_val=40, round_steps=100)
FULL = dict(seeds=list(range(10)), max_rounds=10)
QUICK = dict(seeds=[0, 1], max_rounds=2)


def windows() -> dict:
    """The standardised windows and which period each window's target year falls in."""
    series = data.load_series("sunspots_yearly")
    years, spots = series["year"].astype(int), series["sunspots"]
    split = len(spots) - SETTINGS["n_test"]                # index of the first test year
    val_start = split - SETTINGS["n_val"]
    mu, sigma = spots[:split].mean(), spots[:split].std()  # training years only
    x, targets = data.make_windows((spots - mu) / sigma, SETTINGS["T"])
    target_idx = np.arange(len(targets)) + SETTINGS["T"]
    return {"x": x, "targets": targets, "target_idx": target_idx, "spots": spots,
            "years": years, "mu": mu, "sigma": sigma,
            "fit": target_idx < val_start, "val": (target_idx >= val_start) & (target_idx < split),
            "train": target_idx < split, "test": target_idx >= split}


def train_forecaster(x, targets, seed: int, rounds: int, on_round=None):
    """A GRU forecaster trained for `rounds` rounds of 100 Adam updates (one optimizer).

    x: (N, T, 1) standardised windows; targets: (N, 1) the next standardised value.
    on_round(model, r) is called after every round (for validation). Returns the model.
    """
    model = models.GRU(1, SETTINGS["H"], 1, output="last", seed=seed)
    opt = optim.Adam(lr=SETTINGS["lr"])
    for r in range(rounds):
        train.train(model, x, targets, optimizer=opt, steps=SETTINGS["round_steps"],
                    batch_size=SETTINGS["batch"], seed=1000 * seed + r, progress=False)
        if on_round is not None:
            on_round(model, r)
    return model


def mae_rmse(pred, truth) -> tuple[float, float]:
    e = np.asarray(pred) - truth
    return float(np.abs(e).mean()), float(np.sqrt((e ** 2).mean()))


def run(seeds, max_rounds: int) -> dict:
    w = windows()
    to_units = lambda z: z[:, 0] * w["sigma"] + w["mu"]  # noqa: E731
    truth_val = w["spots"][w["target_idx"][w["val"]]]
    truth_test = w["spots"][w["target_idx"][w["test"]]]
    val_mae = []                                           # (seeds, rounds)
    for seed in seeds:
        curve = []
        train_forecaster(w["x"][w["fit"]], w["targets"][w["fit"]], seed, max_rounds,
                         lambda m, r, curve=curve: curve.append(
                             mae_rmse(to_units(m.forward(w["x"][w["val"]])), truth_val)[0]))
        val_mae.append(curve)
    mean_curve = np.mean(val_mae, axis=0)
    best_rounds = int(np.argmin(mean_curve)) + 1
    per_seed = []
    for seed in seeds:
        model = train_forecaster(w["x"][w["train"]], w["targets"][w["train"]], seed, best_rounds)
        pred = to_units(model.forward(w["x"][w["test"]]))
        mae, rmse = mae_rmse(pred, truth_test)
        per_seed.append({"seed": seed, "test_mae": mae, "test_rmse": rmse,
                         "forecast": [float(v) for v in pred], "num_params": model.num_params})
    return {"seeds": list(seeds), "updates_per_round": SETTINGS["round_steps"],
            "val_mae": [[float(v) for v in c] for c in val_mae],
            "chosen_updates": best_rounds * SETTINGS["round_steps"], "test": per_seed}


def _meta() -> dict:
    return {"rnnlab_version": rnnlab.__version__, "numpy_version": np.__version__,
            "python": platform.python_version(), "settings": SETTINGS, "full": FULL,
            "quick_setting": QUICK, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")}


def main(argv=None) -> None:
    parser = results_parser(__doc__)
    args = parser.parse_args(argv)
    out = args.out or (RESULTS.with_name("forecasting_seeds_quick.json") if args.quick else RESULTS)
    start = time.perf_counter()
    result = {"meta": _meta(), "quick": run(**QUICK)}
    if not args.quick:
        result["results"] = run(**FULL)
        for r in result["results"]["test"]:
            print(f"seed {r['seed']}: test MAE {r['test_mae']:.2f}  RMSE {r['test_rmse']:.2f}",
                  flush=True)
        print("chosen updates:", result["results"]["chosen_updates"])
    write_results(result, out, start)


if __name__ == "__main__":
    main()
