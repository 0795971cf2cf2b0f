"""rnnlab: a small, readable NumPy library of recurrent neural networks.

The functional core lives in ``rnnlab.layers`` (forward/backward passes of the vanilla RNN, LSTM
and GRU, the output layer and the losses). Around it: ``init``, ``analysis``, ``optim``,
``models``, ``tbptt``, ``train``, ``data``, ``gradcheck``, and, for the book's figures,
``plots`` and ``widgets`` (the only modules that import matplotlib / ipywidgets; they are not
imported here, so ``import rnnlab`` needs NumPy only).

Versioning: the names and shapes of the functional core are a contract that the book's notebooks
and the assignments rely on. They change only in a new *major* version (see the README).
"""

from rnnlab import analysis, data, gradcheck, init, layers, models, optim, tbptt
from rnnlab._version import __version__

__all__ = ["__version__", "analysis", "data", "gradcheck", "init", "layers", "models", "optim",
           "tbptt"]
