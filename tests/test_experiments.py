"""The committed experiment results can be reproduced: experiments/adding_sweep.py --quick re-runs
the quick setting and must give exactly the numbers stored under "quick" in
experiments/results/adding_sweep.json (written by the full sweep through the same code path)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

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
