"""The committed attention experiment can be reproduced: experiments/attention_sweep.py --quick
re-runs the quick setting and must give the numbers stored under "quick" in
experiments/results/attention_sweep.json (written by the full run through the same code path)."""

from __future__ import annotations

import json
import math
from pathlib import Path

from helpers import run_quick

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "experiments" / "attention_sweep.py"
RESULTS = ROOT / "experiments" / "results" / "attention_sweep.json"


def _committed() -> dict:
    return json.loads(RESULTS.read_text())


def test_committed_results_cover_every_model_and_seed():
    res = _committed()
    meta = res["meta"]
    got = sorted((str(r["attention"]), r["seed"]) for r in res["results"])
    assert got == sorted((str(a), s) for a in meta["attention"] for s in meta["seeds"])
    lo, hi = meta["full"]["lengths"]
    for r in res["results"]:
        t = r["test"]
        assert t["lengths"] == list(range(lo, hi + 1))
        assert all(0 <= a <= 1 for a in t["greedy"] + t["beam"])
        assert len(t["greedy"]) == len(t["beam"]) == len(t["n"]) == hi - lo + 1
        assert 0 <= t["beam_worse"] <= sum(t["n"])  # a beam can score worse (see decoding)
        assert all(lp <= 0 for lp in t["greedy_logp"] + t["beam_logp"])
        assert all(math.isfinite(v) for v in r["loss_curve"])
    for r in res["results"] + res["quick"]:
        for ex in r["test"]["examples"]:
            if r["attention"]:
                # (output steps, source steps), each row a distribution over the source
                assert all(len(row) == len(ex["source"]) for row in ex["weights"])
                assert all(abs(sum(row) - 1) < 1e-3 for row in ex["weights"])


def test_quick_setting_reproduces_committed_numbers(tmp_path):
    live = run_quick(SCRIPT, tmp_path, timeout=300)
    assert "results" not in live  # --quick runs only the quick setting
    stored = _committed()["quick"]
    assert len(live["quick"]) == len(stored)
    for new, old in zip(live["quick"], stored):
        for key in ("attention", "seed", "num_params", "settings"):
            assert new[key] == old[key], key
        for key in ("lengths", "n", "greedy", "beam", "beam_worse"):
            assert new["test"][key] == old["test"][key], key
        # float64 throughout: a mismatch means the code or the data changed, not the machine
        for key in ("greedy_logp", "beam_logp"):
            for a, b in zip(new["test"][key], old["test"][key]):
                assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), key
