"""rnnlab.dropout and the dropout between the layers of models.Encoder (chapter 5, "Deep and
bidirectional RNNs"): the backward pass against centred finite differences with a fixed mask,
p = 0 and evaluation mode equal to no dropout, the scaling that keeps the expectation, where the
Encoder applies it, and the input checks."""

from __future__ import annotations

import numpy as np
import pytest

from rnnlab import models
from rnnlab.dropout import DropoutCache, dropout_backward, dropout_forward
from rnnlab.gradcheck import numerical_gradient_array, rel_error
from rnnlab.tagger import Tagger


def test_backward_matches_finite_differences_with_a_fixed_mask():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 5))
    mask = rng.random(x.shape) > 0.3
    dout = rng.standard_normal(x.shape)
    out, cache = dropout_forward(x, 0.3, mask=mask)
    np.testing.assert_allclose(out, np.where(mask, x / 0.7, 0), rtol=1e-15)
    num = numerical_gradient_array(lambda: dropout_forward(x, 0.3, mask=mask)[0], x, dout)
    assert rel_error(dropout_backward(dout, cache), num) < 1e-9


def test_p_zero_and_evaluation_are_the_identity():
    x = np.random.default_rng(1).standard_normal((4, 6))
    for kwargs in (dict(p=0.0, rng=np.random.default_rng(2)), dict(p=0.5, training=False)):
        out, cache = dropout_forward(x, **kwargs)
        np.testing.assert_array_equal(out, x)
        assert out is not x  # a copy: changing x later cannot change out
        np.testing.assert_array_equal(dropout_backward(2 * x, cache), 2 * x)


def test_the_expectation_is_kept():
    x = np.ones((200, 500))
    out, cache = dropout_forward(x, 0.25, rng=np.random.default_rng(3))
    kept = out != 0
    assert abs(kept.mean() - 0.75) < 0.005  # 100,000 draws: the standard error is 0.0014
    np.testing.assert_allclose(out[kept], 1 / 0.75)
    assert abs(out.mean() - 1) < 0.01
    np.testing.assert_array_equal(dropout_backward(x, cache), out)


@pytest.mark.parametrize("call, error, match", [
    (lambda x: dropout_forward(x, 1.0, rng=np.random.default_rng()), ValueError, r"p must be"),
    (lambda x: dropout_forward(x, -0.1), ValueError, r"p must be a probability in \[0, 1\)"),
    (lambda x: dropout_forward(x, True), ValueError, r"p must be"),
    (lambda x: dropout_forward(x, 0.5), TypeError, r"rng must be a numpy.random.Generator"),
    (lambda x: dropout_forward(x, 0.5, mask=np.ones(3)), ValueError, r"mask must have the shape"),
    (lambda x: dropout_forward(x, 0.5, mask=np.full((2, 3), 2)), ValueError, r"only 0/1"),
    (lambda x: dropout_forward(x.astype(int), 0.5), TypeError, r"x must be a float"),
    (lambda x: dropout_backward(x, (None,)), TypeError, r"cache must be the DropoutCache"),
    (lambda x: dropout_backward(np.ones(3), DropoutCache(np.ones((2, 3)))), ValueError,
     r"dout must have the shape"),
])
def test_input_errors(call, error, match):
    with pytest.raises(error, match=match):
        call(np.ones((2, 3)))


# -- in the Encoder ------------------------------------------------------------------------------

def _encoder(dropout, cell="lstm", num_layers=3, bidirectional=True):
    return models.Encoder(cell, 2, 3, num_layers=num_layers, bidirectional=bidirectional, seed=4,
                          dropout=dropout)


def test_evaluation_mode_and_p_zero_equal_no_dropout():
    x = np.random.default_rng(5).standard_normal((2, 5, 2))
    ref_out, (ref_h, _) = _encoder(0.0).forward(x)
    out, (h, _) = _encoder(0.6).eval().forward(x)
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(h, ref_h)
    enc = _encoder(0.6)
    train_out, _ = enc.forward(x)
    assert not np.allclose(train_out, ref_out)  # in training mode it does drop
    np.testing.assert_array_equal(enc.eval().forward(x)[0], ref_out)
    np.testing.assert_array_equal(enc.train().forward(x)[0].shape, ref_out.shape)


def test_dropout_acts_between_layers_only():
    """Layer 0 is untouched (h_n of layer 0 equals the no-dropout run), higher layers change; the
    first layer's input is never dropped."""
    x = np.random.default_rng(6).standard_normal((2, 5, 2))
    _, ref_h = _encoder(0.0, "gru").forward(x)
    _, h = _encoder(0.5, "gru").forward(x)
    np.testing.assert_array_equal(h[:2], ref_h[:2])  # layer 0, both directions
    assert not np.allclose(h[2:], ref_h[2:])


@pytest.mark.parametrize("cell, bidirectional", [("gru", True), ("lstm", False)])
def test_encoder_gradients_with_fixed_dropout_masks(cell, bidirectional):
    enc = _encoder(0.4, cell, num_layers=2, bidirectional=bidirectional)
    rng = np.random.default_rng(7)
    for v in enc.params.values():
        v[...] = 0.5 * rng.standard_normal(v.shape)
    x = rng.standard_normal((2, 4, 2))
    dout = rng.standard_normal((2, 4, enc.dirs * 3))

    def forward():
        enc.dropout_rng = np.random.default_rng(8)  # the same masks at every call
        return enc.forward(x)[0]

    out = forward()
    dx = enc.backward(dout)
    analytic = dict(enc.grads)
    assert rel_error(dx, numerical_gradient_array(forward, x, dout)) < 1e-7
    for name, p in enc.params.items():
        assert rel_error(analytic[name], numerical_gradient_array(forward, p, dout)) < 1e-7, name
    # and the masks really dropped something
    enc.eval()
    assert not np.allclose(enc.forward(x)[0], out)


def test_dropout_arguments():
    with pytest.raises(ValueError, match=r"dropout must be a probability in \[0, 1\)"):
        models.Encoder("gru", 2, 3, num_layers=2, dropout=1.0)
    with pytest.warns(UserWarning, match="num_layers=1"):
        models.Encoder("gru", 2, 3, dropout=0.2)
    with pytest.raises(TypeError, match="mode must be True or False"):
        models.Encoder("gru", 2, 3).train("no")


def test_tagger_passes_dropout_and_mode_on():
    tagger = Tagger("gru", 2, 3, 2, num_layers=2, dropout=0.5)
    assert tagger.encoder.dropout == 0.5 and tagger.encoder.training
    assert tagger.eval() is tagger and not tagger.encoder.training
    assert tagger.train().encoder.training
