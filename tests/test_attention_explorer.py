"""Chapter 6's attention explorer and the functions that read the attention sweep's results
(rnnlab.attention_results): what is plotted and printed must be what the results file holds."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from rnnlab import attention_results as ar
from rnnlab import widgets

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "experiments" / "results" / "attention_sweep.json"


def _weights(S: int, rows: int, rng) -> list:
    w = rng.random((rows, S))
    return (w / w.sum(axis=1, keepdims=True)).tolist()


def synthetic_results() -> dict:
    """Two models x two seeds, lengths 3-5, two stored strings per length, known numbers."""
    rng = np.random.default_rng(0)
    lengths = [3, 4, 5]
    results = []
    for attention in (None, "dot"):
        for seed in (0, 1):
            acc = [round(0.9 - 0.2 * i - 0.1 * seed - (0.05 if attention else 0), 2)
                   for i in range(3)]
            by_length = []
            for L in lengths:
                exs = []
                for k in range(2):
                    src = "".join("abcdefgh"[(L + k + j) % 8] for j in range(L))
                    greedy = src[::-1] if k == 0 else src[::-1][:-1]  # the second one is wrong
                    ex = {"source": src, "greedy": greedy, "beam": src[::-1]}
                    if attention:
                        ex["weights"] = _weights(L, len(greedy) + 1, rng)
                    exs.append(ex)
                by_length.append(exs)
            results.append({"attention": attention, "seed": seed, "test": {
                "lengths": lengths, "greedy": acc, "beam": acc, "n": [20, 20, 20],
                "by_length": by_length}})
    return {"meta": {"seeds": [0, 1], "attention": [None, "dot"]}, "results": results}


@pytest.fixture(scope="module")
def results():
    return synthetic_results()


@pytest.fixture(scope="module")
def explorer(results):
    return widgets.attention_explorer(results)


def test_accuracy_by_length_reads_every_seed(results):
    lengths, acc = ar.accuracy_by_length(results, "dot")
    np.testing.assert_array_equal(lengths, [3, 4, 5])
    np.testing.assert_array_equal(acc, [[0.85, 0.65, 0.45], [0.75, 0.55, 0.35]])
    _, beam = ar.accuracy_by_length(results, None, "beam")
    np.testing.assert_array_equal(beam[1], [0.8, 0.6, 0.4])


def test_example_gives_the_target_and_the_weights(results):
    ex = ar.example(results, "dot", 1, 4, 1)
    stored = results["results"][3]["test"]["by_length"][1][1]
    assert ex["source"] == stored["source"] and ex["target"] == stored["source"][::-1]
    np.testing.assert_array_equal(ex["weights"], stored["weights"])
    ex["weights"][0, 0] = 99.0  # the caller's copy: the results are not changed
    assert stored["weights"][0][0] != 99.0
    assert "weights" not in ar.example(results, None, 0, 3)


def test_mirror_weight():
    S = 5
    perfect = np.eye(S)[::-1]
    assert ar.mirror_weight(perfect) == 1.0
    assert ar.mirror_weight(np.full((S + 1, S), 1 / S)) == pytest.approx(1 / S)
    # rows after the letters (the </s> step) do not count
    w = np.vstack([perfect[:2], np.full((1, S), 1 / S)])
    assert ar.mirror_weight(w, n_letters=2) == 1.0
    assert ar.mirror_weight(w) < 1.0
    # one step later: output t on input S - t; row 0 has no such input
    later = np.roll(perfect, 1, axis=1)
    assert ar.mirror_weight(later, offset=1) == pytest.approx((S - 1) / S)
    assert ar.mirror_weight(later) == 0.0


@pytest.mark.parametrize("call, match", [
    (lambda r: ar.accuracy_by_length(r, "dot", "sample"), "decoder must be one of"),
    (lambda r: ar.accuracy_by_length(r, "additive"), "no run with attention='additive'"),
    (lambda r: ar.example(r, "dot", 0, 12), r"length must be one of \[3, 4, 5\]"),
    (lambda r: ar.example(r, "dot", 0, 3, 2), r"index must be in 0..1"),
    (lambda r: ar.example(r, "dot", 7, 3), "no run with attention='dot' and seed=7"),
    (lambda r: ar.accuracy_by_length({"quick": []}, None), "results must be the dict of a full"),
    (lambda r: ar.mirror_weight(np.ones(3)), "weights must be a non-empty 2-D"),
    (lambda r: ar.mirror_weight(np.ones((2, 3)), 3), r"n_letters must be an int in 1..2"),
    (lambda r: ar.model_name("luong"), "attention must be one of"),
])
def test_bad_arguments_are_named(results, call, match):
    with pytest.raises(ValueError, match=match):
        call(results)


def test_missing_runs_are_reported(results):
    broken = {"meta": results["meta"], "results": results["results"][:3]}
    with pytest.raises(ValueError, match=r"no run for \(attention, seed\) \[\('dot', 1\)\]"):
        widgets.attention_explorer(broken)


@pytest.mark.parametrize("model", ["none", "dot"])
@pytest.mark.parametrize("length", [3, 4, 5])
@pytest.mark.parametrize("seed, example", [(0, 0), (1, 1)])
def test_explorer_plots_the_stored_example(results, explorer, model, length, seed, example):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        explorer.update(model=model, length=length, seed=seed, example=example)
        png = explorer.figure.png()
    assert png.startswith(b"\x89PNG")
    attention = {"none": None, "dot": "dot"}[model]
    name = ar.model_name(attention)
    ex = ar.example(results, attention, seed, length, example)
    plotted = explorer.figure.plotted
    if attention is None:
        assert plotted["weights"] is None
        assert explorer.figure.heat.get_alpha() == 0.0  # nothing drawn under the note
        assert "no attention" in explorer.figure.note.get_text()
    else:
        np.testing.assert_array_equal(plotted["weights"], ex["weights"])
        np.testing.assert_array_equal(explorer.figure.heat.get_array(), ex["weights"])
        assert explorer.figure.note.get_text() == ""
    # one row per decoder step: the greedy letters, then </s>
    assert plotted["outputs"] == list(ex["greedy"]) + ["</s>"]
    shown = [t.get_text() for t in explorer.figure.in_letters]
    assert "".join(shown) == ex["source"]
    _, acc = ar.accuracy_by_length(results, attention)
    np.testing.assert_array_equal(plotted["seed_acc"], acc[seed])
    i = length - 3
    cap = explorer.figure.caption
    assert f"input {ex['source']}  →  wanted {ex['target']}" in cap
    assert ("greedy: " + ex["greedy"] + (" ✓" if ex["greedy"] == ex["target"] else " ✗")) in cap
    assert f"L = {length}, {name}, seed {seed}" in cap
    assert f"{name} {acc[:, i].mean():.2f} [{acc[:, i].min():.2f}, {acc[:, i].max():.2f}]" in cap
    if attention:
        n = len(ex["greedy"])
        assert f"mirrored input: {ar.mirror_weight(ex['weights'], n):.2f}" in cap


def test_explorer_rejects_unknown_settings(explorer):
    with pytest.raises(ValueError, match="model must be one of"):
        explorer.update(model="transformer")
    with pytest.raises(ValueError, match="seed must be one of"):
        explorer.update(model="none", seed=9)
    explorer.update(seed=0)


def test_static_frames_cover_length_and_model(results):
    e = widgets.attention_explorer(results, length=4, model="none")
    html = e.static_html(dpi=40)
    frames = json.loads(html.split("var frames = ", 1)[1].split(";\n", 1)[0])
    assert len(frames) == 3 * 2 and len(set(frames)) == 6  # every frame differs
    # one background for all frames: nothing static depends on the settings
    assert len(json.loads(html.split("var backgrounds = ", 1)[1].split(";\n", 1)[0])) == 1
    assert 'data-labels=\'["none", "dot"]\'' in html.replace("&quot;", '"')
    assert e.settings == dict(length=4, model="none", seed=0, example=0)


def test_committed_results_work_with_the_explorer():
    """The committed full run stores what the explorer needs, for every model, seed and length."""
    res = json.loads(COMMITTED.read_text())
    e = widgets.attention_explorer(res)
    meta = res["meta"]
    lengths, _ = ar.accuracy_by_length(res, None)
    for attention in meta["attention"]:
        for seed in meta["seeds"]:
            for L in lengths:
                ex = ar.example(res, attention, seed, int(L), 1)
                assert len(ex["source"]) == L
                if attention:
                    w = ex["weights"]
                    assert w.shape[1] == L and np.allclose(w.sum(axis=1), 1, atol=1e-3)
    e.update(model="none" if meta["attention"][0] is None else meta["attention"][0],
             length=int(lengths[0]))
    assert e.figure.plotted["length"] == lengths[0]
