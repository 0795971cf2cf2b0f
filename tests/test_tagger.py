"""rnnlab.tagger.Tagger (chapter 5, "Deep and bidirectional RNNs"): the loss's gradients against
centred finite differences (float64) for every cell, depth and direction, with and without
lengths; masks; what a bidirectional tagger's output at step t depends on; and the input checks.
Also encoder.param_count, the parameter-count formula, against the models and against torch."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import require_torch

from rnnlab import layers, models
from rnnlab.encoder import GATES, param_count
from rnnlab.gradcheck import numerical_gradient, rel_error
from rnnlab.tagger import Tagger

TOL_GRAD = 1e-7


def _random_tagger(cell, num_layers, bidirectional, seed=0):
    tagger = Tagger(cell, 2, 3, 4, num_layers=num_layers, bidirectional=bidirectional, seed=seed)
    rng = np.random.default_rng(seed + 100)
    for v in tagger.params.values():  # non-zero biases, so that a bias bug cannot hide
        v[...] = 0.5 * rng.standard_normal(v.shape)
    return tagger


# The encoder's own gradients are checked for every cell in test_encoder.py; here the chain
# encoder -> output layer -> masked cross-entropy, for each cell once and for each structure.
@pytest.mark.parametrize("cell, num_layers, bidirectional, with_lengths", [
    ("rnn", 1, False, False), ("lstm", 1, True, True), ("gru", 2, True, False),
    ("gru", 2, False, True)])
def test_tagger_gradients(cell, num_layers, bidirectional, with_lengths):
    tagger = _random_tagger(cell, num_layers, bidirectional)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4, 2))
    targets = rng.integers(0, 4, (3, 4))
    mask = np.array([[1, 1, 0, 1], [1, 0, 1, 1], [1, 1, 1, 1]])
    lengths = np.array([4, 2, 3]) if with_lengths else None
    tagger.loss(x, targets, mask, lengths)
    analytic = dict(tagger.grads)
    assert sorted(analytic) == sorted(tagger.params)
    # the numerical side uses the forward pass only, with the loss written out here
    keep = mask if lengths is None else mask * (np.arange(4)[None, :] < lengths[:, None])

    def loss():
        return layers.softmax_cross_entropy(tagger.forward(x, lengths), targets, keep)[0]

    for name, p in tagger.params.items():
        assert rel_error(analytic[name], numerical_gradient(loss, p)) < TOL_GRAD, name


def test_lengths_leave_padded_positions_out_of_the_loss():
    tagger = _random_tagger("gru", 2, True)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 5, 2))
    targets = rng.integers(0, 4, (2, 5))
    lengths = np.array([5, 3])
    loss = tagger.loss(x, targets, lengths=lengths)
    targets2, x2 = targets.copy(), x.copy()
    targets2[1, 3:] = (targets2[1, 3:] + 1) % 4  # other labels and inputs in the padding
    x2[1, 3:] = 9.0
    assert tagger.loss(x2, targets2, lengths=lengths) == pytest.approx(loss, rel=1e-13)
    mask = np.arange(5)[None, :] < lengths[:, None]
    assert tagger.loss(x, targets, mask=mask, lengths=lengths) == pytest.approx(loss, rel=1e-13)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_a_later_input_changes_earlier_outputs_only_when_bidirectional(bidirectional):
    """The property that rules bidirectional models out of online prediction and generation."""
    tagger = _random_tagger("lstm", 2, bidirectional)
    x = np.random.default_rng(3).standard_normal((1, 6, 2))
    later = x.copy()
    later[0, 4] += 1.0  # change step 5 of 6 only
    change = np.abs(tagger.forward(later) - tagger.forward(x)).max(axis=2)[0]
    assert np.all(change[4:] > 1e-6)
    if bidirectional:
        assert np.all(change[:4] > 1e-6)
    else:
        assert np.all(change[:4] == 0)


def test_parameters_are_shared_with_the_encoder_and_updated_in_place():
    tagger = Tagger("gru", 2, 3, 2, num_layers=2, bidirectional=True)
    assert tagger.params["Wx_l1_reverse"] is tagger.encoder.params["Wx_l1_reverse"]
    assert tagger.params["Wy"].shape == (6, 2) and tagger.params["by"].shape == (2,)
    assert tagger.num_params == tagger.encoder.num_params + 6 * 2 + 2
    assert tagger.predict(np.zeros((2, 5, 2))).shape == (2, 5)


def test_grads_handed_out_are_not_overwritten():
    tagger = _random_tagger("rnn", 1, True)
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((2, 3, 2)), rng.integers(0, 4, (2, 3))
    tagger.loss(x, y)
    first = tagger.grads
    kept = {k: v.copy() for k, v in first.items()}
    tagger.loss(2 * x, y)
    for k in kept:
        np.testing.assert_array_equal(first[k], kept[k])


@pytest.mark.parametrize("call, match", [
    (lambda t: t.loss(np.zeros((2, 3, 5)), np.zeros((2, 3), int)), r"x must have shape"),
    (lambda t: t.loss(np.zeros((2, 3, 2)), np.zeros((2, 4), int)), r"targets must have shape"),
    (lambda t: t.loss(np.zeros((2, 3, 2)), np.full((2, 3), 4)), r"targets must lie in"),
    (lambda t: t.loss(np.zeros((2, 3, 2)), np.zeros((2, 3))), r"integer class indices"),
    (lambda t: t.loss(np.zeros((2, 3, 2)), np.zeros((2, 3), int), lengths=[3, 4]),
     r"lengths must"),
])
def test_input_errors(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call(Tagger("gru", 2, 3, 4))


def test_constructor_errors():
    with pytest.raises(ValueError, match="num_classes must be a positive integer"):
        Tagger("gru", 2, 3, 0)
    with pytest.raises(ValueError, match="cell must be one of"):
        Tagger("elman", 2, 3, 2)


# -- parameter counts ---------------------------------------------------------------------------

CONFIGS = [(cell, layers, bi) for cell in ("rnn", "lstm", "gru") for layers in (1, 2, 3)
           for bi in (False, True)]


@pytest.mark.parametrize("cell, num_layers, bidirectional", CONFIGS)
def test_param_count_formula_matches_the_encoder(cell, num_layers, bidirectional):
    enc = models.Encoder(cell, 5, 4, num_layers=num_layers, bidirectional=bidirectional)
    assert param_count(cell, 5, 4, num_layers=num_layers,
                       bidirectional=bidirectional) == enc.num_params
    # torch keeps bias_ih and bias_hh; rnnlab's RNN and LSTM keep their sum (one G·H vector)
    extra = 0 if cell == "gru" else enc.dirs * num_layers * GATES[cell] * 4
    assert param_count(cell, 5, 4, num_layers=num_layers, bidirectional=bidirectional,
                       torch_biases=True) == enc.num_params + extra


@pytest.fixture
def torch():
    return require_torch()


@pytest.mark.parametrize("cell, num_layers, bidirectional", CONFIGS)
def test_param_counts_and_shapes_match_torch(torch, cell, num_layers, bidirectional):
    cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    net = cls(5, 4, num_layers=num_layers, bidirectional=bidirectional, batch_first=True)
    enc = models.Encoder(cell, 5, 4, num_layers=num_layers, bidirectional=bidirectional)
    assert param_count(cell, 5, 4, num_layers=num_layers, bidirectional=bidirectional,
                       torch_biases=True) == sum(p.numel() for p in net.parameters())
    assert enc.torch_keys() == list(net.state_dict())
    # rnnlab stores Wx = weight_ihᵀ and Wh = weight_hhᵀ
    for layer, suffix in enc._units():
        tag = f"_l{layer}{suffix}"
        assert enc.params[f"Wx{tag}"].shape == tuple(net.state_dict()[f"weight_ih{tag}"].T.shape)
        assert enc.params[f"Wh{tag}"].shape == tuple(net.state_dict()[f"weight_hh{tag}"].T.shape)
    x = torch.zeros(3, 7, 5, dtype=next(net.parameters()).dtype)  # whatever the default dtype
    out, hn = net(x)
    h_n = hn[0] if cell == "lstm" else hn
    ours, our_hn = enc.forward(np.zeros((3, 7, 5)))
    our_h_n = our_hn[0] if cell == "lstm" else our_hn
    assert ours.shape == tuple(out.shape) and our_h_n.shape == tuple(h_n.shape)


def test_param_count_errors():
    with pytest.raises(ValueError, match="cell must be one of"):
        param_count("elman", 2, 3)
    with pytest.raises(ValueError, match="num_layers must be a positive integer"):
        param_count("gru", 2, 3, num_layers=0)
