"""The committed results of experiments/tbptt_delay.py (chapter 3) can be reproduced: --quick
re-runs seed 0 of every method through the same code path and must give the seed-0 entries stored
in experiments/results/tbptt_delay.json."""

from __future__ import annotations

import json
import math
from pathlib import Path

from helpers import run_quick

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "experiments" / "tbptt_delay.py"
RESULTS = ROOT / "experiments" / "results" / "tbptt_delay.json"


def _committed() -> dict:
    return json.loads(RESULTS.read_text())


def test_committed_results_cover_every_method_and_seed():
    res = _committed()
    meta = res["meta"]
    assert len(meta["seeds"]) >= 5, "the seed rule: at least five seeds"
    got = sorted((r["method"], r["seed"]) for r in res["results"])
    assert got == sorted((m, s) for m in meta["methods"] for s in meta["seeds"])
    assert meta["test_sequences_in_training"] == 0, "the test set must not overlap the training set"
    for r in res["results"]:
        assert 0.0 <= r["test_accuracy"] <= 1.0
        assert math.isfinite(r["final_train_loss"])
        assert len(r["loss_curve"]) == math.ceil(meta["steps"] / meta["curve_every"])


def test_quick_setting_reproduces_committed_numbers(tmp_path):
    live = run_quick(SCRIPT, tmp_path)["results"]
    stored = [r for r in _committed()["results"] if r["seed"] == 0]
    assert [r["method"] for r in live] == [r["method"] for r in stored]
    for new, old in zip(live, stored):
        assert new["test_accuracy"] == old["test_accuracy"], new["method"]
        # float64 with one BLAS thread: a mismatch means the code or the data changed
        assert math.isclose(new["final_train_loss"], old["final_train_loss"], rel_tol=1e-9)
        pairs = zip(new["loss_curve"], old["loss_curve"], strict=True)
        assert all(math.isclose(a, b, rel_tol=1e-9) for a, b in pairs), new["method"]
