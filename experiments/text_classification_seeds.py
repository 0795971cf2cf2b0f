"""Sentiment of review sentences (chapter 6, "Text classification on real data") over seeds.

Data: the 3,000 "Sentiment Labelled Sentences" of Kotzias et al. (2015) shipped in rnnlab
(``rnnlab.text_data``), split once with split seed 0 into training (70 %), validation (15 %) and
test (15 %), validation and test de-duplicated against training (and test against validation).
The vocabulary (words seen at least twice) comes from the training split only.

Methods, each trained with the same seeds:

* majority class: the more frequent training label (no training, no seed);
* bag-of-words logistic regression (``text_classifier.BagOfWordsClassifier``), L2 penalty chosen
  from a grid on validation accuracy;
* a GRU, a bidirectional GRU and a bidirectional LSTM over learned embeddings
  (``text_classifier.RNNClassifier``), mean-pooled over each sentence's words, the embedding
  and hidden size (E = H) chosen from a grid on validation accuracy.

Every run uses Adam and early stopping: the parameters of the epoch with the best validation
accuracy are kept. A configuration is chosen by its mean validation accuracy over the seeds; only
the chosen configuration of each method is then scored on the test split, once per seed.

Usage (from the repository root):

    python experiments/text_classification_seeds.py           # 5 seeds (~4 CPU minutes)
    python experiments/text_classification_seeds.py --quick   # a small setting, a few seconds

Results (small JSON) go to experiments/results/text_classification_seeds.json, or to --out. The
full run also stores the quick setting's result under "quick", produced by the same code path, so
that ``tests/test_text_classification.py`` can re-run it and compare.
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

if __name__ == "__main__":
    # One BLAS thread (see experiments/adding_sweep.py); must be set before NumPy loads BLAS.
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from _common import results_parser, write_results  # noqa: E402

import rnnlab  # noqa: E402
from rnnlab import optim, text_classifier, text_data  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "text_classification_seeds.json"

SETTINGS = dict(split_seed=0, fractions=[0.15, 0.15], min_count=2, batch_size=50,
                lr_bow=0.01, lr_rnn=0.005, patience=4)
FULL = dict(seeds=[0, 1, 2, 3, 4], l2_grid=[0.0, 0.001, 0.01], max_epochs_bow=30,
            rnn_models={"GRU": ["gru", False], "BiGRU": ["gru", True],
                        "BiLSTM": ["lstm", True]},
            sizes=[16, 32], poolings=["mean"], max_epochs_rnn=10)
QUICK = dict(seeds=[0], l2_grid=[0.0, 0.01], max_epochs_bow=3,
             rnn_models={"GRU": ["gru", False]}, sizes=[8], poolings=["mean"],
             max_epochs_rnn=2)


def prepare() -> dict:
    """The split, the vocabulary and the encoded splits (the same for every setting)."""
    ds = text_data.load_sentiment_sentences()
    split = text_data.split_dataset(ds.texts, tuple(SETTINGS["fractions"]),
                                    seed=SETTINGS["split_seed"])
    texts = {name: [ds.texts[i] for i in getattr(split, name)]
             for name in ("train", "validation", "test")}
    vocab = text_data.Vocabulary.from_texts(texts["train"], min_count=SETTINGS["min_count"])
    enc = {name: (*vocab.encode_batch(texts[name]), ds.labels[getattr(split, name)])
           for name in texts}
    return {"ds": ds, "split": split, "vocab": vocab, "enc": enc}


def summary(prep: dict) -> dict:
    split, vocab, enc = prep["split"], prep["vocab"], prep["enc"]
    unk = {name: float(np.mean([(ids[n, :L] == 1).mean() for n, L in enumerate(lengths)]))
           for name, (ids, lengths, _) in enc.items()}
    return {"n": {name: int(len(getattr(split, name))) for name in enc},
            "removed": split.removed, "vocab_size": vocab.size,
            "positive_fraction": {name: float(np.mean(y)) for name, (_, _, y) in enc.items()},
            "mean_unk_fraction": unk}


def train_one(method: str, config: dict, seed: int, prep: dict, setting: dict):
    """Train one configuration with one seed; returns the model and its FitHistory."""
    V, (train, val) = prep["vocab"].size, (prep["enc"]["train"], prep["enc"]["validation"])
    if method == "BoW":
        model = text_classifier.BagOfWordsClassifier(V, 2, l2=config["l2"], seed=seed)
        opt, epochs = optim.Adam(lr=SETTINGS["lr_bow"]), setting["max_epochs_bow"]
    else:
        cell, bidirectional = setting["rnn_models"][method]
        model = text_classifier.RNNClassifier(V, config["size"], config["size"], 2, cell=cell,
                                              bidirectional=bidirectional,
                                              pooling=config["pooling"], seed=seed)
        opt, epochs = optim.Adam(lr=SETTINGS["lr_rnn"]), setting["max_epochs_rnn"]
    history = text_classifier.fit(model, opt, train, val, epochs=epochs,
                                  batch_size=SETTINGS["batch_size"],
                                  patience=SETTINGS["patience"], seed=seed)
    return model, history


def grid(method: str, setting: dict) -> list[dict]:
    if method == "BoW":
        return [{"l2": l2} for l2 in setting["l2_grid"]]
    return [{"size": s, "pooling": p} for s in setting["sizes"] for p in setting["poolings"]]


def test_scores(model, prep: dict) -> dict:
    """Accuracy on the test split, overall and per source; the indices of the errors."""
    ids, lengths, y = prep["enc"]["test"]
    pred = text_classifier.predict_in_batches(model, ids, lengths)
    test_idx = prep["split"].test
    sources = np.array(prep["ds"].sources)[test_idx]
    return {"accuracy": float(np.mean(pred == y)),
            "per_source": {s: float(np.mean(pred[sources == s] == y[sources == s]))
                           for s in ("amazon", "imdb", "yelp")},
            "wrong": [int(i) for i in test_idx[pred != y]]}


def run(seeds, l2_grid, max_epochs_bow, rnn_models, sizes, poolings, max_epochs_rnn) -> dict:
    setting = dict(l2_grid=l2_grid, max_epochs_bow=max_epochs_bow, rnn_models=rnn_models,
                   sizes=sizes, poolings=poolings, max_epochs_rnn=max_epochs_rnn)
    prep = prepare()
    y_train, y_test = prep["enc"]["train"][2], prep["enc"]["test"][2]
    majority = int(np.bincount(y_train).argmax())
    out = {"data": summary(prep), "seeds": list(seeds),
           "majority": {"label": majority, "test_accuracy": float(np.mean(y_test == majority)),
                        "val_accuracy": float(np.mean(prep["enc"]["validation"][2] == majority))},
           "methods": {}}
    for method in ["BoW", *rnn_models]:
        runs, models = [], {}
        for c, config in enumerate(grid(method, setting)):
            for seed in seeds:
                model, history = train_one(method, config, seed, prep, setting)
                models[c, seed] = model
                runs.append({"config": config, "seed": seed, "best_epoch": history.best_epoch,
                             "epochs_run": len(history.val_accuracy),
                             "val_accuracy": history.val_accuracy,
                             "train_loss": history.train_loss})
        mean_val = [float(np.mean([r["val_accuracy"][r["best_epoch"] - 1] for r in runs
                                   if r["config"] == config]))
                    for config in grid(method, setting)]
        chosen = int(np.argmax(mean_val))  # ties: the first (smallest) configuration
        out["methods"][method] = {
            "grid": runs, "mean_val_accuracy": mean_val,
            "chosen": grid(method, setting)[chosen],
            "num_params": models[chosen, seeds[0]].num_params,
            # the test split, touched once: only the chosen configuration, once per seed
            "test": [{"seed": seed, **test_scores(models[chosen, seed], prep)}
                     for seed in seeds]}
    return out


def _meta() -> dict:
    return {"rnnlab_version": rnnlab.__version__, "numpy_version": np.__version__,
            "python": platform.python_version(), "settings": SETTINGS, "full": FULL,
            "quick_setting": QUICK, "data_sha256": text_data.SENTIMENT_SHA256,
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")}


def main(argv=None) -> None:
    parser = results_parser(__doc__)
    args = parser.parse_args(argv)
    out = args.out or (RESULTS.with_name("text_classification_seeds_quick.json") if args.quick
                       else RESULTS)
    start = time.perf_counter()
    result = {"meta": _meta(), "quick": run(**QUICK)}
    if not args.quick:
        result["results"] = run(**FULL)
        for method, r in result["results"]["methods"].items():
            acc = [t["accuracy"] for t in r["test"]]
            print(f"{method}: chosen {r['chosen']}, test accuracy {np.mean(acc):.3f} "
                  f"± {np.std(acc):.3f}", flush=True)
    result["meta"]["cpu_time_s"] = round(time.process_time(), 1)
    write_results(result, out, start)


if __name__ == "__main__":
    main()
