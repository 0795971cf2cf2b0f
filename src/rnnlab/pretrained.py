"""Trained weights shipped with the package (see ``weights/SOURCES.md`` for how each was made).

``load_char_lstm()`` gives the character-level LSTM language model that chapter 6 ("Inside a
trained network") looks inside, trained by ``experiments/char_lstm_inside.py`` (seed 0) on the
training block of the shipped corpus. The file's sha256 is checked before it is read.
"""

from __future__ import annotations

import hashlib
import io
from importlib import resources
from typing import NamedTuple

import numpy as np

from rnnlab import data, models

# name -> sha256 of the shipped file (the same value is in weights/SOURCES.md and in
# experiments/results/char_lstm_inside.json, meta.weights_sha256)
SHA256 = {
    "char_lstm_pride": "21a82c0d52cdeec311105f4dc024ce26232b888e1b12dd8ce3eb181894e68fa1",
}


class PretrainedCharLM(NamedTuple):
    model: models.LSTM  # loss="softmax", output="sequence", one-hot characters in and out
    vocab: data.CharVocab  # the training text's characters, in the model's order


def available_weights() -> list[str]:
    """Names of the shipped weight files (without .npz)."""
    return sorted(SHA256)


def load_char_lstm(name: str = "char_lstm_pride") -> PretrainedCharLM:
    """The shipped character-level LSTM and its vocabulary. Chapter 6.

    name: which weights (``available_weights()``); the default is the model of
          ``experiments/char_lstm_inside.py``, seed 0, H = 96, float32
    Raises ValueError for an unknown name or a file whose sha256 differs from the recorded one.
    """
    if name not in SHA256:
        raise ValueError(f"name must be one of {available_weights()}; got {name!r}")
    raw = resources.files("rnnlab").joinpath("weights", f"{name}.npz").read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SHA256[name]:
        raise ValueError(f"weights/{name}.npz has sha256 {digest}, expected {SHA256[name]}: "
                         "the file is damaged or was replaced without updating the record")
    with np.load(io.BytesIO(raw), allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    vocab = data.CharVocab(tuple(str(arrays.pop("chars"))))
    H = arrays["Wh"].shape[0]
    model = models.LSTM(vocab.size, H, vocab.size, loss="softmax", dtype=arrays["Wh"].dtype)
    for key, value in arrays.items():
        if model.params[key].shape != value.shape:
            raise ValueError(f"weights/{name}.npz: {key} has shape {value.shape}, expected "
                             f"{model.params[key].shape}")
    model.params = {k: arrays[k].copy() for k in model.params}
    model.grads = {k: np.zeros_like(v) for k, v in model.params.items()}
    return PretrainedCharLM(model, vocab)
