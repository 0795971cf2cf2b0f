"""experiments/char_lstm_inside.py and the weights it ships (chapter 6, "Inside a trained network"):
the committed results cover every seed and are self-consistent, --quick reproduces the stored
quick setting, and the shipped seed-0 weights load, match their checksum and give the recorded
validation bits per character."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_same_results, load_experiment, run_quick

from rnnlab import pretrained

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "experiments" / "char_lstm_inside.py"
RESULTS = ROOT / "experiments" / "results" / "char_lstm_inside.json"
SOURCES = ROOT / "src" / "rnnlab" / "weights" / "SOURCES.md"


def _committed() -> dict:
    return json.loads(RESULTS.read_text())


def _script():
    return load_experiment("char_lstm_inside")


def test_committed_results_cover_five_seeds_and_are_consistent():
    res = _committed()
    runs = res["results"]
    assert [r["seed"] for r in runs] == res["meta"]["full"]["seeds"]
    assert len(runs) >= 5
    for r in runs:
        # early stopping: the kept model is the best validation epoch, and training stopped
        # `patience` epochs after it (or at the epoch limit)
        assert r["val_bpc"] == pytest.approx(min(r["val_bpc_curve"]), rel=1e-6)
        assert r["val_bpc_curve"][r["best_epoch"] - 1] == min(r["val_bpc_curve"])
        patience, limit = res["meta"]["settings"]["patience"], res["meta"]["full"]["max_epochs"]
        assert r["epochs_run"] == min(r["best_epoch"] + patience, limit)
        assert 0 < r["test_bpc"] < math.log2(100)
        for key in ("units", "untrained_units"):
            for feature in res["meta"]["features"]:
                u = r[key][feature]
                assert 0 <= u["unit"] < r["H"]
                # chosen on the validation text, so the test text's own best is at least as good
                assert abs(u["test_corr"]) <= u["test_best_abs_corr"] + 1e-12
            for gate in res["meta"]["gates"]:
                s = r[key]["saturation"][gate]
                assert 0 <= s["mean_left"] + s["mean_right"] <= 1




def test_quick_setting_reproduces_committed_numbers(tmp_path):
    live = run_quick(SCRIPT, tmp_path, timeout=300)  # ~15 CPU s; more on a busy machine
    assert "results" not in live  # --quick runs only the quick setting
    assert_same_results(live["quick"], _committed()["quick"], "quick")


def test_shipped_weights_match_checksum_and_recorded_validation_bpc():
    res = _committed()
    sha = res["meta"]["weights_sha256"]
    assert pretrained.SHA256["char_lstm_pride"] == sha
    assert sha in SOURCES.read_text(), "weights/SOURCES.md records the same sha256"
    model, vocab = pretrained.load_char_lstm()  # checks the sha256 itself
    seed0 = res["results"][0]
    assert seed0["seed"] == 0 and model.H == seed0["H"] and model.num_params == seed0["num_params"]
    mod = _script()
    corpus = mod.split_corpus()
    assert vocab == corpus["vocab"], "the vocabulary of the training text, in the same order"
    # float32 weights and activations: agreement to float32 rounding of a 30,000-step run
    assert mod.bits_per_char(model, vocab, corpus["val"]) == pytest.approx(seed0["val_bpc"],
                                                                           rel=1e-5)
    recorded = re.search(r"validation bits per character:\s+\*\*([0-9.]+)\*\*", SOURCES.read_text())
    assert recorded and float(recorded.group(1)) == round(seed0["val_bpc"], 4)


def test_loader_refuses_unknown_names_and_damaged_files(monkeypatch):
    with pytest.raises(ValueError, match="name must be one of"):
        pretrained.load_char_lstm("gpt")
    monkeypatch.setitem(pretrained.SHA256, "char_lstm_pride", "0" * 64)
    with pytest.raises(ValueError, match="sha256"):
        pretrained.load_char_lstm()


def test_loaded_models_are_independent():
    a, _ = pretrained.load_char_lstm()
    b, _ = pretrained.load_char_lstm()
    a.params["Wh"][:] = 0
    assert np.any(b.params["Wh"] != 0)


def test_weights_are_package_data():
    # the [tool.setuptools.package-data] line ships the .npz in wheels and sdists
    line = next(s for s in (ROOT / "pyproject.toml").read_text().splitlines()
                if s.startswith("rnnlab = ["))
    assert '"weights/*.npz"' in line
