"""Text classification on real data (chapter 6): the shipped sentiment sentences, the tokenizer,
the de-duplicated split, the vocabulary, the bag-of-words and RNN classifiers (gradient-checked),
training with early stopping, and the committed seed study (its quick setting re-run)."""

from __future__ import annotations

import hashlib
import json
import math
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from helpers import run_quick

from rnnlab import optim, text_classifier, text_data
from rnnlab.encoder import Encoder
from rnnlab.gradcheck import numerical_gradient, numerical_gradient_array, rel_error

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "experiments" / "text_classification_seeds.py"
RESULTS = ROOT / "experiments" / "results" / "text_classification_seeds.json"


# -- the data -------------------------------------------------------------------------------

def test_shipped_file_matches_its_recorded_checksum_and_sources():
    raw = (resources.files("rnnlab") / "labelled_text" / "sentiment_sentences.tsv").read_bytes()
    assert hashlib.sha256(raw).hexdigest() == text_data.SENTIMENT_SHA256
    sources_md = (resources.files("rnnlab") / "labelled_text" / "SOURCES.md").read_text()
    assert text_data.SENTIMENT_SHA256 in sources_md and f"{len(raw):,} bytes" in sources_md


def test_load_gives_3000_balanced_sentences():
    ds = text_data.load_sentiment_sentences()
    assert len(ds.texts) == len(ds.sources) == ds.labels.shape[0] == 3000
    assert ds.labels.dtype == np.int64 and ds.class_names == ("negative", "positive")
    sources = np.array(ds.sources)
    for s in ("amazon", "imdb", "yelp"):
        assert np.bincount(ds.labels[sources == s]).tolist() == [500, 500]
    assert all(t and t == t.strip() and "\t" not in t for t in ds.texts)
    assert ds.texts[0].startswith("So there is no way for me to plug it in here in the US")


def test_load_refuses_a_changed_file(monkeypatch):
    monkeypatch.setattr(text_data, "SENTIMENT_SHA256", "0" * 64)
    with pytest.raises(ValueError, match="sha256"):
        text_data.load_sentiment_sentences()


def test_tokenize_and_normalise():
    assert text_data.tokenize("Didn't work -- at ALL!!") == ["didn't", "work", "at", "all",
                                                             "!", "!"]
    assert text_data.tokenize("Québec\x96great, 10/10.") == ["québec", "great", "10", "10"]
    assert text_data.tokenize("...") == []
    assert text_data.normalise("  Great   phone!  ") == text_data.normalise("great phone !")
    with pytest.raises(TypeError, match="text must be a str"):
        text_data.tokenize(3)


# -- the split ------------------------------------------------------------------------------

def test_split_on_known_duplicates():
    texts = [f"sentence number {i}" for i in range(20)] + ["Same words!"] * 6
    split = text_data.split_dataset(texts, (0.25, 0.25), seed=3)
    norm = [text_data.normalise(t) for t in texts]
    train = {norm[i] for i in split.train}
    val = [norm[i] for i in split.validation]
    test = [norm[i] for i in split.test]
    assert not set(val) & train and not set(test) & (train | set(val))
    assert len(set(val)) == len(val) and len(set(test)) == len(test)
    kept = len(split.train) + len(split.validation) + len(split.test)
    assert kept + sum(split.removed.values()) == len(texts)
    copies = set(range(20, 26))
    outside = len(copies - set(split.train.tolist()))
    in_training = outside < len(copies)
    # every copy outside training goes, except one if none is in training
    assert sum(split.removed.values()) == outside - (not in_training)


def test_split_of_the_real_data_is_disjoint_seeded_and_counts_what_it_removed():
    ds = text_data.load_sentiment_sentences()
    a = text_data.split_dataset(ds.texts, seed=0)
    b = text_data.split_dataset(ds.texts, seed=0)
    assert all(np.array_equal(getattr(a, k), getattr(b, k)) for k in ("train", "validation",
                                                                      "test"))
    parts = [set(a.train), set(a.validation), set(a.test)]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert sum(map(len, parts)) + sum(a.removed.values()) == 3000
    norm = [text_data.normalise(t) for t in ds.texts]
    train = {norm[i] for i in a.train}
    assert not any(norm[i] in train for i in np.r_[a.validation, a.test])
    assert sum(a.removed.values()) > 0  # the data set does contain duplicates
    c = text_data.split_dataset(ds.texts, seed=1)
    assert not np.array_equal(a.test, c.test)


@pytest.mark.parametrize("fractions", [(0.5, 0.5), (0.0, 0.2), (0.2,), "ab"])
def test_split_rejects_bad_fractions(fractions):
    with pytest.raises(ValueError, match="fractions must be"):
        text_data.split_dataset(["a b", "c d", "e f"] * 5, fractions)


# -- vocabulary and encoding ----------------------------------------------------------------

def test_vocabulary_from_training_texts_only():
    vocab = text_data.Vocabulary.from_texts(["good good film", "bad film", "good"],
                                            min_count=2)
    assert vocab.words == ("<pad>", "<unk>", "good", "film")  # most frequent first
    ids, lengths = vocab.encode_batch(["good film", "an unseen word", "...", "film"])
    assert ids.tolist() == [[2, 3, 0], [1, 1, 1], [1, 0, 0], [3, 0, 0]]
    assert lengths.tolist() == [2, 3, 1, 1]  # "..." has no token: one <unk>
    assert vocab.decode(ids[0]) == ["good", "film", "<pad>"]
    with pytest.raises(ValueError, match=r"ids must lie in \[0, V=4\)"):
        vocab.decode(np.array([0, 7]))
    with pytest.raises(ValueError, match="min_count"):
        text_data.Vocabulary.from_texts(["a"], min_count=0)


def test_bag_of_words_ignores_padding_and_order():
    ids = np.array([[2, 3, 2, 0], [3, 2, 1, 1]])
    lengths = np.array([3, 4])
    x = text_data.bag_of_words(ids, lengths, 4)
    assert x.tolist() == [[0, 0, 1, 1], [0, 1, 1, 1]]
    counts = text_data.bag_of_words(ids, lengths, 4, binary=False)
    assert counts.tolist() == [[0, 0, 2, 1], [0, 2, 1, 1]]
    with pytest.raises(ValueError, match=r"lengths must lie in \[1, T=4\]"):
        text_data.bag_of_words(ids, np.array([0, 4]), 4)
    with pytest.raises(ValueError, match=r"ids must lie in \[0, V=3\)"):
        text_data.bag_of_words(ids, lengths, 3)


# -- gradient checks ------------------------------------------------------------------------

def test_logistic_regression_backward_matches_finite_differences():
    rng = np.random.default_rng(0)
    x, W, b = rng.standard_normal((5, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    dout = rng.standard_normal((5, 3))
    _, cache = text_classifier.logistic_regression_forward(x, W, b)
    dx, dW, db = text_classifier.logistic_regression_backward(dout, cache)
    for arr, grad in ((x, dx), (W, dW), (b, db)):
        num = numerical_gradient_array(
            lambda: text_classifier.logistic_regression_forward(x, W, b)[0], arr, dout)
        assert rel_error(grad, num) < 1e-8


@pytest.mark.parametrize("mode", ["mean", "last"])
@pytest.mark.parametrize("directions", [1, 2])
def test_pool_backward_matches_finite_differences(mode, directions):
    rng = np.random.default_rng(1)
    h = rng.standard_normal((3, 5, 2 * directions))
    lengths = np.array([5, 2, 1])
    dout = rng.standard_normal((3, 2 * directions))
    _, cache = text_classifier.pool_forward(h, lengths, mode, directions)
    dh = text_classifier.pool_backward(dout, cache)
    num = numerical_gradient_array(
        lambda: text_classifier.pool_forward(h, lengths, mode, directions)[0], h, dout)
    assert rel_error(dh, num) < 1e-8
    assert not dh[1, 2:].any() and not dh[2, 1:].any()  # padding gets no gradient


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_last_pooling_is_the_encoders_final_state(cell):
    rng = np.random.default_rng(2)
    enc = Encoder(cell, 3, 4, bidirectional=True, seed=0)
    lengths = np.array([4, 2, 3])
    out, h_n = enc.forward(rng.standard_normal((3, 4, 3)), lengths)
    h_n = h_n[0] if cell == "lstm" else h_n
    pooled, _ = text_classifier.pool_forward(out, lengths, "last", 2)
    np.testing.assert_allclose(pooled, np.concatenate([h_n[0], h_n[1]], axis=1), atol=1e-15)


def _batch(V=7, seed=0):
    rng = np.random.default_rng(seed)
    lengths = np.array([5, 2, 3, 1])
    ids = rng.integers(1, V, size=(4, 5))
    ids[np.arange(5)[None, :] >= lengths[:, None]] = 0
    return ids, lengths, np.array([0, 1, 1, 0])


@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_bag_of_words_classifier_gradients(l2):
    ids, lengths, y = _batch()
    model = text_classifier.BagOfWordsClassifier(7, 2, l2=l2, seed=0)
    model.params["W"] += np.random.default_rng(3).standard_normal((7, 2))
    model.loss(ids, lengths, y)
    grads = model.grads
    for k, p in model.params.items():
        num = numerical_gradient(lambda: model.loss(ids, lengths, y), p)
        assert rel_error(grads[k], num) < 1e-7, k


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("pooling", ["mean", "last"])
def test_rnn_classifier_gradients(cell, bidirectional, pooling):
    ids, lengths, y = _batch()
    # small sizes: every parameter is perturbed twice (the encoder alone is checked in
    # test_encoder.py; this checks the composition: embedding, encoder, pooling, output layer)
    ids, lengths, y = ids[1:, :4], np.minimum(lengths[1:], 4), y[1:]
    model = text_classifier.RNNClassifier(7, 2, 3, 2, cell=cell, bidirectional=bidirectional,
                                          pooling=pooling, seed=1)
    model.loss(ids, lengths, y)
    grads = model.grads
    assert grads.keys() == model.params.keys()
    for k, p in model.params.items():
        num = numerical_gradient(lambda: model.loss(ids, lengths, y), p)
        assert rel_error(grads[k], num) < 1e-6, k
    assert not grads["embedding"][0].any()  # <pad> is never read at a real step


def test_rnn_classifier_ignores_padding():
    ids, lengths, _ = _batch()
    model = text_classifier.RNNClassifier(7, 3, 4, 2, bidirectional=True, seed=0)
    batch = model.forward(ids, lengths)
    padded = np.c_[ids, np.zeros((4, 3), dtype=np.int64)]
    np.testing.assert_allclose(model.forward(padded, lengths), batch, atol=1e-14)
    alone = np.concatenate([model.forward(ids[n:n + 1, :lengths[n]], lengths[n:n + 1])
                            for n in range(4)])
    np.testing.assert_allclose(alone, batch, atol=1e-14)


def test_rnn_classifier_num_params_and_bad_input():
    model = text_classifier.RNNClassifier(10, 4, 5, 2, cell="gru", bidirectional=True)
    # embedding V·E + 2 directions × GRU 3(E·H + H² + 2H) + output (2H·C + C)
    assert model.num_params == 10 * 4 + 2 * 3 * (4 * 5 + 25 + 10) + (10 * 2 + 2)
    ids, lengths, y = _batch(V=10)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, C=2\)"):
        model.loss(ids, lengths, np.array([0, 1, 2, 0]))
    with pytest.raises(ValueError, match=r"ids must lie in \[0, V=10\)"):
        model.forward(ids + 10, lengths)
    with pytest.raises(ValueError, match="pooling must be one of"):
        text_classifier.RNNClassifier(10, 4, 5, pooling="max")
    with pytest.raises(ValueError, match="lengths must be an integer array"):
        model.forward(ids, lengths[:2])


def test_fit_keeps_the_best_validation_epoch():
    ds = text_data.load_sentiment_sentences()
    texts, y = ds.texts[:300], ds.labels[:300]
    vocab = text_data.Vocabulary.from_texts(texts[:200], min_count=2)
    train = (*vocab.encode_batch(texts[:200]), y[:200])
    val = (*vocab.encode_batch(texts[200:]), y[200:])
    model = text_classifier.BagOfWordsClassifier(vocab.size, 2, seed=0)
    history = text_classifier.fit(model, optim.Adam(lr=0.05), train, val, epochs=6,
                                  batch_size=40, seed=0)
    assert len(history.val_accuracy) == 6
    best = max(history.val_accuracy)
    assert history.val_accuracy[history.best_epoch - 1] == best
    assert text_classifier.accuracy(model, *val) == best


def test_fit_rejects_malformed_splits():
    ids, lengths, y = _batch()
    model = text_classifier.BagOfWordsClassifier(7, 2)
    with pytest.raises(TypeError, match=r"train_data must be a tuple \(ids, lengths, labels\)"):
        text_classifier.fit(model, optim.Adam(), (ids, lengths), (ids, lengths, y), epochs=1)
    with pytest.raises(ValueError, match=r"labels must be an integer array of shape \(N=4,\)"):
        text_classifier.fit(model, optim.Adam(), (ids, lengths, y), (ids, lengths, y[:2]),
                            epochs=1)


def test_length_buckets_cover_every_sentence_once():
    lengths = np.random.default_rng(0).integers(1, 40, size=237)
    batches = text_classifier.length_buckets(lengths, 10, np.random.default_rng(1), chunk=5)
    assert sorted(np.concatenate(batches).tolist()) == list(range(237))
    assert all(len(b) <= 10 for b in batches)
    assert all(np.all(np.diff(lengths[b]) >= 0) for b in batches)  # sorted inside a batch


# -- the committed experiment ---------------------------------------------------------------

def _committed() -> dict:
    return json.loads(RESULTS.read_text())


def test_committed_results_use_the_same_seeds_and_touch_test_once():
    res = _committed()["results"]
    seeds = res["seeds"]
    assert len(seeds) >= 5
    assert res["data"]["removed"] and res["data"]["n"]["test"] > 0
    for method, r in res["methods"].items():
        assert [t["seed"] for t in r["test"]] == seeds, method
        configs = [g["config"] for g in r["grid"]]
        assert r["chosen"] in configs
        # every configuration was run with every seed; the chosen one has the best mean
        for config in configs:
            assert sorted(g["seed"] for g in r["grid"] if g["config"] == config) == seeds
        best = [g["val_accuracy"][g["best_epoch"] - 1] for g in r["grid"]
                if g["config"] == r["chosen"]]
        assert math.isclose(np.mean(best), max(r["mean_val_accuracy"]), rel_tol=1e-12)
        for t in r["test"]:
            n_test = res["data"]["n"]["test"]
            assert math.isclose(t["accuracy"], (n_test - len(t["wrong"])) / n_test,
                                rel_tol=1e-15), method


def test_quick_setting_reproduces_committed_numbers(tmp_path):
    live = run_quick(SCRIPT, tmp_path)
    assert "results" not in live  # --quick runs only the quick setting
    # exact equality, floats included: float64 and one BLAS thread, so a difference means the
    # code or the data changed
    assert live["quick"] == _committed()["quick"]
