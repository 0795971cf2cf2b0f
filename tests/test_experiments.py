"""The committed experiment results can be reproduced: each script in experiments/ re-runs its quick
setting with --quick and must give exactly the numbers stored under "quick" in its results JSON
(written by the full run through the same code path): adding_sweep.py and adding_table7.py
(chapter 5; for Table 7 also that its committed table is what its runs say, over the same seeds for
every row, with learning rates picked on validation runs only) and the seed studies of chapter 6
(forecasting_seeds.py, seq2seq_seeds.py, char_lm_seeds.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_same_results, load_experiment, run_quick

from rnnlab import data, layers, train

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
    live = run_quick(SCRIPT, tmp_path)
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




@pytest.mark.parametrize("name", CHAPTER6)
def test_chapter6_quick_settings_reproduce_committed_numbers(name, tmp_path):
    script = ROOT / "experiments" / f"{name}.py"
    committed = json.loads((ROOT / "experiments" / "results" / f"{name}.json").read_text())
    assert committed["results"], "the full run's results are committed"
    live = run_quick(script, tmp_path)
    assert "results" not in live
    assert_same_results(live["quick"], committed["quick"], name)


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


# -- experiments/adding_table7.py: Hochreiter & Schmidhuber (1997), Table 7 ---------------------

TABLE7 = ROOT / "experiments" / "adding_table7.py"
TABLE7_RESULTS = ROOT / "experiments" / "results" / "adding_table7.json"


def _table7_module():
    return load_experiment("adding_table7")


def test_table7_committed_results_are_consistent():
    res = json.loads(TABLE7_RESULTS.read_text())
    mod = _table7_module()
    # learning rates were picked on the validation runs of the tuning stage, nothing else
    assert all(r["T"] == res["meta"]["tune"]["T"] and "n_wrong" not in r for r in res["tuning"])
    for name in ("lstm-1997", "lstm-modern"):
        assert res["lr"][name] == mod.pick_lr(res["tuning"], name)
    assert mod.summarise(res["runs"]) == res["summary"]
    for row in res["summary"]:
        assert len(row["seeds"]) >= 3, row["name"]  # every reported row over >= 3 seeds
    # every row has the same seeds, so the cells are compared on the same footing
    assert len({tuple(row["seeds"]) for row in res["summary"]}) == 1
    for r in res["runs"]:
        assert r["n_test"] == 2560 and 0 <= r["n_wrong"] <= r["n_test"]
        assert r["sequences"] == r["steps"] * r["batch"] and r["steps"] <= r["step_budget"]
        assert r["solved"] == (bool(r["val_curve"]) and r["val_curve"][-1][1] == 1.0)
        assert r["seconds"] > 0  # wall time recorded for every run
        assert r["lr"] == res["lr"]["lstm-1997" if r["recipe"] == "1997" else "lstm-modern"]


def test_table7_pinned_forget_gate_stays_open():
    mod = _table7_module()
    model, opt, clip = mod.build("lstm", 8, "1997", 0.3, seed=0, dtype="float32")
    assert clip is None
    before = {k: v.copy() for k, v in model.params.items()}
    x, t, _ = data.adding_problem(16, 20, seed=0)
    x, t = x.astype(np.float32), t.astype(np.float32)
    train.train(model, x, t, optimizer=opt, steps=3, progress=False)
    f = slice(8, 16)
    for k in ("Wx", "Wh", "b"):
        assert np.array_equal(model.params[k][..., f], before[k][..., f]), k
        assert not np.array_equal(model.params[k], before[k]), k  # the other gates did learn
    _, cache = layers.lstm_forward(x, np.zeros((16, 8), np.float32),
                                   model.params["Wx"], model.params["Wh"], model.params["b"])
    assert np.all(cache.gates[..., f] == 1.0)  # σ(20) is 1 in float32: c_t = c_{t-1} + i ⊙ g


def test_table7_quick_setting_reproduces_committed_numbers(tmp_path):
    live = run_quick(TABLE7, tmp_path)["quick"]
    stored = json.loads(TABLE7_RESULTS.read_text())["quick"]
    assert len(live) == len(stored) == 2
    for new, old in zip(live, stored):
        new.pop("seconds"), old.pop("seconds")
        # float64 (see QUICK): equal to the last bit, on any machine and thread count
        assert new == old, new["name"]


def test_table7_batch64_protocol_is_consistent():
    """The second protocol (minibatches of 64, learning rate tuned at the target T itself)."""
    res = json.loads(TABLE7_RESULTS.read_text())
    mod = _table7_module()
    b64 = res["batch64"]
    # tuned on validation only, at the target T, on a seed that is not reported
    assert sorted(r["lr"] for r in b64["tuning"]) == sorted(mod.B64["grid"])
    for r in b64["tuning"]:
        assert r["T"] == mod.B64["T"] and r["seed"] not in mod.SEEDS and "n_wrong" not in r
    lr = b64["lr"]["lstm-modern"]
    assert lr == mod.pick_lr(b64["tuning"], "lstm-modern")
    assert mod.summarise(b64["runs"], mod.planned64(lr)) == b64["summary"]
    assert {row["name"] for row in b64["summary"]} == {"lstm-modern", "gru-eqp", "rnn-eqp"}
    for row in b64["summary"]:  # every planned seed either ran or is reported as not run
        assert sorted(row["seeds"] + row["seeds_not_run"]) == list(mod.SEEDS), row["name"]
    for r in b64["runs"]:
        assert r["batch"] == mod.B64["batch"] and r["recipe"] == "modern" and r["lr"] == lr
        assert r["n_test"] == 2560 and 0 <= r["n_wrong"] <= r["n_test"]
        assert r["sequences"] == r["steps"] * r["batch"] and r["steps"] <= r["step_budget"]
        assert r["solved"] == (bool(r["val_curve"]) and r["val_curve"][-1][1] == 1.0)
        # early stopping: no check before the last one had the validation set solved
        assert all(c[1] < 1.0 for c in r["val_curve"][:-1])
        assert r["seconds"] > 0 and r["cpu_seconds"] > 0  # wall and CPU time of every run


def test_table7_longer_T_follows_its_plan():
    """T = 500 and 1000 in the batch-64 protocol: the planned budgets, seeds and models, every
    paper row present (run or reported as not run), and the measured CPU rates behind the budget."""
    res = json.loads(TABLE7_RESULTS.read_text())
    mod = _table7_module()
    b64 = res["batch64"]
    for r in b64["runs"]:
        plan = mod.LONG.get(r["T"])
        if plan is None:
            assert r["T"] == mod.B64["T"] and r["step_budget"] == mod.B64["budget"]
        else:
            assert r["step_budget"] == plan["budget"]
            assert [c[0] for c in r["val_curve"]] == list(  # validation every eval_every updates
                range(plan["eval_every"], r["steps"] + 1, plan["eval_every"]))
            assert r["seed"] in plan["seeds"] and r["name"] in plan["names"]
    assert {row["T"] for row in b64["summary"]} == set(mod.PAPER)
    for row in b64["summary"]:  # every model of a T has the same budget
        same_T = [o for o in b64["summary"] if o["T"] == row["T"]]
        assert {o["budget_sequences"] for o in same_T} == {row["budget_sequences"]}
    names = {name for name, *_, recipe in mod.ROWS if recipe == "modern"}
    assert {(r["name"], r["T"]) for r in b64["rate"]} == {
        (name, T) for T in mod.RATE["Ts"] for name in names}
    for r in b64["rate"]:
        assert r["cpu_seconds_per_1000_sequences"] > 0 and r["cpu_seconds_per_validation"] > 0
        assert r["sequences"] == mod.RATE["updates"] * mod.B64["batch"]

