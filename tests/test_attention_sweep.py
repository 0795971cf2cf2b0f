"""The committed attention experiment can be reproduced: experiments/attention_sweep.py --quick
re-runs the quick setting and must give the numbers stored under "quick" in
experiments/results/attention_sweep.json (written by the full run through the same code path)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from helpers import load_experiment, run_quick

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
        per_length = [ex for exs in r["test"]["by_length"] for ex in exs]
        for ex in r["test"]["examples"] + per_length:
            if r["attention"]:
                # (output steps, source steps), each row a distribution over the source
                assert all(len(row) == len(ex["source"]) for row in ex["weights"])
                assert all(abs(sum(row) - 1) < 1e-3 for row in ex["weights"])
        for L, exs in zip(r["test"]["lengths"], r["test"]["by_length"]):
            assert [len(ex["source"]) for ex in exs] == [L] * len(exs) and exs


def test_full_run_has_five_seeds_and_its_validation_curves():
    """The chapter reports >= 5 seeds, and every full run recorded its validation loss (the
    evidence for the budget) at every val_every updates up to the last one."""
    res = _committed()
    meta = res["meta"]
    assert len(meta["seeds"]) >= 5 and "fewer_seeds_because" not in meta
    every, steps = meta["val_every"], meta["full"]["steps"]
    for r in res["results"]:
        assert [step for step, _ in r["val_curve"]] == list(range(every, steps + 1, every))
        assert all(math.isfinite(v) and v > 0 for _, v in r["val_curve"])
        assert all(0 < n <= meta["n_val_drawn"] for n in r["n_val"])


def test_validation_strings_are_neither_test_nor_training_strings():
    sweep = load_experiment("attention_sweep")
    lengths = sweep.FULL["lengths"]
    test = sweep.heldout_set(lengths, sweep.FULL["n_test"])
    test_rows = {tuple(row) for rows in test.values() for row in rows}
    val = sweep.validation_set(lengths, sweep.N_VAL, test_rows)
    val_rows = {tuple(row) for rows in val.values() for row in rows}
    assert val_rows and not val_rows & test_rows
    rng = np.random.default_rng(0)
    for L in range(lengths[0], lengths[1] + 1):
        src, _, _ = sweep.make_batch(rng, 64, L, test_rows | val_rows)
        assert not {tuple(row) for row in src} & (test_rows | val_rows)


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
