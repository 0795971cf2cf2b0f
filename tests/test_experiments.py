"""The committed experiment results can be reproduced: each script in experiments/ re-runs its quick
setting with --quick and must give exactly the numbers stored under "quick" in its results JSON
(written by the full run through the same code path): adding_sweep.py (chapter 5) and the seed
studies of chapter 6 (forecasting_seeds.py, seq2seq_seeds.py, char_lm_seeds.py)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "experiments" / "adding_sweep.py"
RESULTS = ROOT / "experiments" / "results" / "adding_sweep.json"


def _committed() -> dict:
    return json.loads(RESULTS.read_text())


def test_committed_results_cover_the_sweep():
    res = _committed()
    meta = res["meta"]
    got = {(r["task"], r["cell"], r["T"]) for r in res["results"]}
    want = {(task, cell, T) for task in meta["tasks"] for cell in meta["cells"] for T in meta["Ts"]}
    assert got == want
    for r in res["results"] + res["quick"]:
        assert 0.0 <= r["fraction_correct"] <= 1.0
        assert r["n_wrong"] == round((1 - r["fraction_correct"]) * r["n_test"])
        assert 0 < r["steps"] <= r["step_budget"]
        assert r["sequences_seen"] == r["steps"] * r["batch"]
        assert math.isfinite(r["test_loss"]) and math.isfinite(r["final_train_loss"])


def test_quick_setting_reproduces_committed_numbers(tmp_path):
    out = tmp_path / "quick.json"
    # One BLAS thread: with small matrices, multithreaded OpenBLAS is several times slower on a
    # busy machine. (The quick setting is float64, whose result does not depend on the threads.)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    subprocess.run([sys.executable, str(SCRIPT), "--quick", "--out", str(out)], check=True,
                   cwd=ROOT, capture_output=True, timeout=120, env=env)
    live = json.loads(out.read_text())
    assert "results" not in live  # --quick runs only the quick setting
    stored = _committed()["quick"]
    assert [r["cell"] for r in live["quick"]] == [r["cell"] for r in stored]
    for new, old in zip(live["quick"], stored):
        for key in ("task", "cell", "T", "seed", "dtype", "steps", "sequences_seen", "n_wrong",
                    "fraction_correct", "val_curve"):
            assert new[key] == old[key], (new["cell"], key)
        for key in ("test_loss", "final_train_loss"):
            # float64 and thread-count independent (see QUICK in the script): a mismatch here
            # means the code or the data changed, not the machine.
            assert math.isclose(new[key], old[key], rel_tol=1e-9, abs_tol=0), (new["cell"], key)


# Chapter 6: each notebook's seed study lives in a script whose full run stores its quick setting
# under "quick"; re-running --quick must reproduce it (float64 throughout the quick settings).
CHAPTER6 = ["forecasting_seeds", "seq2seq_seeds", "char_lm_seeds"]


def _assert_same(new, old, where="") -> None:
    """Equal structure; floats equal to 1e-9 (float64, one BLAS thread), everything else exact."""
    if isinstance(old, dict):
        assert new.keys() == old.keys(), where
        for key in old:
            _assert_same(new[key], old[key], f"{where}.{key}")
    elif isinstance(old, list):
        assert len(new) == len(old), where
        for i, (a, b) in enumerate(zip(new, old)):
            _assert_same(a, b, f"{where}[{i}]")
    elif isinstance(old, float):
        assert math.isclose(new, old, rel_tol=1e-9, abs_tol=1e-12), (where, new, old)
    else:
        assert new == old, (where, new, old)


@pytest.mark.parametrize("name", CHAPTER6)
def test_chapter6_quick_settings_reproduce_committed_numbers(name, tmp_path):
    script = ROOT / "experiments" / f"{name}.py"
    committed = json.loads((ROOT / "experiments" / "results" / f"{name}.json").read_text())
    assert committed["results"], "the full run's results are committed"
    out = tmp_path / "quick.json"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    subprocess.run([sys.executable, str(script), "--quick", "--out", str(out)], check=True,
                   cwd=ROOT, capture_output=True, timeout=120, env=env)
    live = json.loads(out.read_text())
    assert "results" not in live
    _assert_same(live["quick"], committed["quick"], name)


def test_chapter6_results_cover_every_seed():
    fc = json.loads((ROOT / "experiments/results/forecasting_seeds.json").read_text())
    res = fc["results"]
    assert len(res["seeds"]) >= 5 and [r["seed"] for r in res["test"]] == res["seeds"]
    assert len(res["val_mae"]) == len(res["seeds"])
    assert res["chosen_updates"] % res["updates_per_round"] == 0
    s2s = json.loads((ROOT / "experiments/results/seq2seq_seeds.json").read_text())["results"]
    assert len(s2s) >= 5 and len({r["seed"] for r in s2s}) == len(s2s)
    for r in s2s:
        assert all(0.0 <= v <= 1.0 for v in r["exact"].values())
        assert all(r["exact"][L] <= r["per_char"][L] + 1e-12 for L in r["exact"])
    lm = json.loads((ROOT / "experiments/results/char_lm_seeds.json").read_text())["results"]
    assert len(lm) >= 5 and len({r["seed"] for r in lm}) == len(lm)
    for r in lm:
        assert 0.0 < r["test_bpc"] < math.log2(100) and len(r["val_probe_bpc"]) == 6
