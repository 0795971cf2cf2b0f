"""The committed deep/bidirectional experiment (chapter 5, "Deep and bidirectional RNNs") can be
reproduced and is what it says: experiments/deep_bidirectional_seeds.py --quick re-runs the quick
setting and must give the numbers stored under "quick" in its results JSON (written by the full
run through the same code path); the full results cover every task, model and seed; the held-out
strings never reach training; the labels follow their definition."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from helpers import load_experiment, run_quick

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "experiments" / "deep_bidirectional_seeds.py"
RESULTS = ROOT / "experiments" / "results" / "deep_bidirectional_seeds.json"


@pytest.fixture(scope="module")
def exp():
    return load_experiment("deep_bidirectional_seeds")


def _committed() -> dict:
    return json.loads(RESULTS.read_text())


def test_quick_setting_reproduces_committed_numbers(tmp_path):
    live = run_quick(SCRIPT, tmp_path, timeout=300)
    assert "results" not in live  # --quick runs only the quick setting
    stored = _committed()["quick"]
    assert len(live["quick"]) == len(stored)
    for new, old in zip(live["quick"], stored):
        assert new.keys() == old.keys()
        for key in old:
            if key == "loss_curve":
                # float64 means of losses, one BLAS thread: equal up to the last bits of a sum
                assert all(math.isclose(a, b, rel_tol=1e-9, abs_tol=0)
                           for a, b in zip(new[key], old[key], strict=True)), key
            else:  # accuracies are ratios of counts, checkpoints are step numbers: exact
                assert new[key] == old[key], (new["task"], new["model"], key)


def test_committed_results_cover_every_task_model_and_seed():
    res = _committed()
    meta = res["meta"]
    seeds = meta["full"]["seeds"]
    assert len(seeds) >= 5
    got = sorted((r["task"], r["model"], r["seed"]) for r in res["results"])
    want = sorted((t, m[0], s) for t in meta["tasks"] for m in meta["models"] for s in seeds)
    assert got == want  # the same seeds for every model and task
    counts = {r["model"]: r["num_params"] for r in res["results"]}
    assert max(counts.values()) <= 1.1 * min(counts.values()), counts  # about equal sizes
    every = meta["settings"]["eval_every"]
    for r in res["results"] + res["quick"]:
        assert 0 < r["chosen_step"] <= r["steps"] and r["chosen_step"] % every == 0
        # the checkpoint is the first with the best validation accuracy
        assert r["val_curve"].index(max(r["val_curve"])) == r["chosen_step"] // every - 1
        assert all(0 <= a <= 1 for a in [*r["val_curve"], *r["test"].values()])


def test_forward_only_models_stay_below_what_the_past_allows():
    """Without x_(t+1) the best interior accuracy is 0.75 (majority) and 0.5 (parity); a forward
    model above that (beyond the sampling noise of 10,000 test labels) would mean a leak."""
    for r in _committed()["results"]:
        if not r["bidirectional"]:
            ceiling = {"majority": 0.75, "parity": 0.5}[r["task"]]
            assert r["test"]["interior"] < ceiling + 0.02, (r["task"], r["model"], r["seed"])


def test_heldout_strings_never_reach_training(exp):
    test = {tuple(r) for r in exp.TEST}
    val = {tuple(r) for r in exp.VAL}
    assert len(test) == len(exp.TEST) and len(val) == len(exp.VAL)  # distinct
    assert not test & val
    rng = np.random.default_rng(0)
    for _ in range(50):
        batch = exp.training_batch(rng, exp.SETTINGS["batch"])
        assert len(batch) == exp.SETTINGS["batch"]
        assert not {tuple(r) for r in batch} & (test | val)


def test_labels_follow_their_definition(exp):
    bits = np.array([[1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 1]])
    # windows (x_{t-1}, x_t, x_{t+1}) with 0 outside
    windows = [(0 if t == 0 else bits[0, t - 1], bits[0, t],
                0 if t == 11 else bits[0, t + 1]) for t in range(12)]
    assert exp.labels(bits, "majority").tolist() == [[int(sum(w) >= 2) for w in windows]]
    assert exp.labels(bits, "parity").tolist() == [[sum(w) % 2 for w in windows]]
    with pytest.raises(ValueError, match="task must be one of"):
        exp.labels(bits, "sum")
