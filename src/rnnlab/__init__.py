"""rnnlab: a small, readable NumPy library of recurrent neural networks.

Imported here (NumPy only):

* ``layers``    the functional core: forward/backward of the vanilla RNN, LSTM and GRU, the
                output layer, the losses (step functions = the chapters' maths); also the
                embedding and attention layers (defined in ``embedding`` and ``attention``)
* ``activations`` σ and σ' of the recurrences; ``validation`` the argument checks
* ``init``      spectral-radius control, orthogonal and Xavier initialisers
* ``analysis``  Jacobians, gradient norms through time, the Pascanu et al. bound
* ``optim``     SGD, RMSProp, Adam, gradient clipping
* ``models``    thin classes (VanillaRNN, LSTM, GRU) over the core, the stacked/bidirectional
                ``Encoder`` (``encoder``) and the attention ``Seq2Seq`` (``seq2seq``);
                ``train`` the loop
* ``decoding``  greedy and beam search
* ``tagger``    a per-position classifier over a deep/bidirectional ``Encoder``; ``dropout``
                inverted dropout (between stacked layers)
* ``experiments`` the explorers' computations (no drawing)
* ``tbptt``     truncated backpropagation through time
* ``data``      deterministic toy tasks and the shipped corpus and series
* ``text_data`` the shipped labelled sentences, tokenizer, de-duplicated split, vocabulary;
                ``text_classifier`` bag-of-words and embedding + RNN sentence classifiers
* ``gradcheck`` numerical gradients
* ``interpret`` looking inside a trained LSTM: activations, gate saturation, unit-feature
                correlations; ``pretrained`` the shipped trained weights

Not imported here: ``plots`` and ``widgets``, the only modules that import matplotlib and
ipywidgets (``from rnnlab import plots`` when you want them).

Versioning: the names and shapes of the functional core are a contract that the book's notebooks
and the assignments rely on. They change only in a new *major* version (see the README and
CHANGELOG.md).
"""

from rnnlab import (
    activations,
    analysis,
    attention,
    data,
    decoding,
    dropout,
    embedding,
    encoder,
    experiments,
    gradcheck,
    init,
    interpret,
    layers,
    models,
    optim,
    pretrained,
    seq2seq,
    tagger,
    tbptt,
    text_classifier,
    text_data,
    train,
    validation,
)
from rnnlab._version import __version__

__all__ = ["__version__", "activations", "analysis", "attention", "data", "decoding", "dropout",
           "embedding", "encoder", "experiments", "gradcheck", "init", "interpret", "layers",
           "models", "optim", "pretrained", "seq2seq", "tagger", "tbptt", "text_classifier",
           "text_data", "train", "validation"]
