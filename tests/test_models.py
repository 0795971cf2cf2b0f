"""Models, training loop, truncated BPTT and data generators."""

from __future__ import annotations

import numpy as np
import pytest

from rnnlab import data, models, optim, tbptt, train
from rnnlab.gradcheck import numerical_gradient, rel_error


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("output,loss", [("sequence", "mse"), ("sequence", "softmax"),
                                         ("last", "mse"), ("last", "softmax")])
def test_model_gradients(cell, output, loss):
    rng = np.random.default_rng(3)
    N, T, D, H, M = 3, 4, 2, 3, 3
    m = models.make_model(cell, D, H, M, output=output, loss=loss, seed=1)
    x = rng.standard_normal((N, T, D))
    shape = (N, T) if output == "sequence" else (N,)
    targets = rng.integers(0, M, size=shape) if loss == "softmax" else \
        rng.standard_normal((*shape, M))
    kw = {"lengths": np.array([4, 2, 3])} if output == "last" else \
        {"mask": np.array([[1, 1, 1, 1], [1, 1, 0, 0], [1, 1, 1, 0]])}
    m.loss(x, targets, **kw)
    grads = {k: g.copy() for k, g in m.grads.items()}
    for name, p in m.params.items():
        num = numerical_gradient(lambda: m.loss(x, targets, **kw), p)
        assert rel_error(grads[name], num) < 1e-7, name


def test_lengths_ignore_padding():
    m = models.GRU(2, 4, 1, output="last", seed=0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 6, 2))
    y1 = m.forward(x, lengths=np.array([3, 6]))
    x2 = x.copy()
    x2[0, 3:] = 99.0  # padding after the true end
    np.testing.assert_array_equal(m.forward(x2, lengths=np.array([3, 6])), y1)
    np.testing.assert_allclose(y1[0], m.forward(x[:1, :3])[0])


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_training_fits_sine_waves(cell):
    x, y = data.sine_wave(16, 30, seed=0)
    m = models.make_model(cell, 1, 16, 1, seed=0)
    h = train.train(m, x, y, optimizer=optim.Adam(0.01), steps=150, progress=False)
    assert h.loss[-1] < 0.05 * h.loss[0]
    assert len(h.loss) == len(h.grad_norm) == 150


def test_training_is_deterministic():
    x, y = data.sine_wave(16, 20, seed=1)
    runs = []
    for _ in range(2):
        m = models.LSTM(1, 8, 1, seed=2)
        runs.append(train.train(m, x, y, optimizer=optim.Adam(0.01), steps=20, batch_size=8,
                                seed=3, progress=False).loss)
    assert runs[0] == runs[1]


def test_clipping_bounds_the_update_and_divergence_is_reported():
    x, y = data.sine_wave(8, 40, seed=0)
    m = models.VanillaRNN(1, 16, 1, activation="relu", rho=3.0, seed=0)
    h = train.train(m, x, y, optimizer=optim.SGD(0.5), steps=50, progress=False)
    assert h.diverged_at is not None
    m = models.VanillaRNN(1, 16, 1, activation="relu", rho=3.0, seed=0)
    h = train.train(m, x, y, optimizer=optim.SGD(0.5), steps=50, clip_norm=1.0,
                    progress=False)
    assert any(h.clipped)


def test_progress_bar_runs():
    x, y = data.sine_wave(4, 5, seed=0)
    m = models.VanillaRNN(1, 4, 1)
    train.train(m, x, y, optimizer=optim.SGD(0.1), steps=3, progress=True)


def test_sampling_is_seeded_and_temperature_sharpens():
    he = data.hello_example()
    m = models.VanillaRNN(4, 8, 4, loss="softmax", seed=0)
    train.train(m, he.x, he.targets, optimizer=optim.Adam(0.05), steps=200, progress=False)
    assert he.vocab.decode(m.forward(he.x)[0].argmax(-1)) == "ello"
    assert m.sample(0, 20, 1.0, seed=4) == m.sample(0, 20, 1.0, seed=4)
    assert m.sample(0, 4, temperature=0.05, seed=1) == list(he.targets[0])
    with pytest.raises(ValueError, match="temperature must be a positive"):
        m.sample(0, 3, temperature=0)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_truncated_bptt(cell):
    rng = np.random.default_rng(0)
    N, T, D, H = 2, 9, 2, 3
    x, y = rng.standard_normal((N, T, D)), rng.standard_normal((N, T, 1))
    m = models.make_model(cell, D, H, 1, seed=0)
    full = m.loss(x, y)
    full_grads = {k: g.copy() for k, g in m.grads.items()}
    # k >= T: one chunk, the full gradient
    loss, grads, _ = tbptt.truncated_bptt(m, x, y, k=T)
    assert loss == pytest.approx(full, rel=1e-12)
    for k in grads:
        np.testing.assert_allclose(grads[k], full_grads[k], rtol=1e-10, atol=1e-14)
    # k < T: same loss, different gradient; equal to the numerical gradient of the chunk losses
    # with each chunk's incoming state held fixed
    loss, grads, states = tbptt.truncated_bptt(m, x, y, k=4)
    assert loss == pytest.approx(full, rel=1e-12)
    assert rel_error(grads["Wh"], full_grads["Wh"]) > 1e-4
    bounds = tbptt.chunk_bounds(T, 4)

    def chunked_loss():
        return sum((b - a) / T * m.loss(x[:, a:b], y[:, a:b], h0=s)
                   for (a, b), s in zip(bounds, states, strict=True))

    for name, p in m.params.items():
        assert rel_error(grads[name], numerical_gradient(chunked_loss, p)) < 1e-7, name


def test_truncated_bptt_with_mask():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((2, 6, 1)), rng.standard_normal((2, 6, 1))
    mask = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 0, 0, 0, 0]])
    m = models.GRU(1, 3, 1, seed=0)
    full = m.loss(x, y, mask=mask)
    assert tbptt.truncated_bptt(m, x, y, 2, mask=mask)[0] == pytest.approx(full, rel=1e-12)


def test_data_generators_are_deterministic_and_correct():
    a, b = data.adding_problem(50, 30, seed=3), data.adding_problem(50, 30, seed=3)
    np.testing.assert_array_equal(a.x, b.x)
    marks = a.x[..., 1]
    assert np.all((marks == 1).sum(axis=1) == 2)
    first = np.argmax(marks == 1, axis=1)
    assert np.all(first < 10)
    assert np.all(np.argwhere(marks == 1)[:, 1] < 30 // 2 - 1)
    x1 = np.where(first == 0, 0.0, a.x[np.arange(50), first, 0])
    x2 = np.array([a.x[i, np.where(marks[i] == 1)[0][1], 0] for i in range(50)])
    np.testing.assert_allclose(a.targets[:, 0], 0.5 + (x1 + x2) / 4)
    assert np.all((a.targets >= 0) & (a.targets <= 1))
    assert data.adding_correct(a.targets + 0.039, a.targets).all()
    assert not data.adding_correct(a.targets + 0.041, a.targets).any()
    v = data.adding_problem(20, 50, seed=0, variable_length=True)
    assert v.x.shape[1] == 55 and v.lengths.min() >= 50 and v.lengths.max() <= 55
    assert np.all(v.x[np.arange(20), v.lengths - 1, 1] == -1)

    c = data.copy_task(3, 10, n_symbols=4, length=3, seed=0)
    assert c.x.shape == (3, 16, 6)
    np.testing.assert_array_equal(c.targets[:, -3:], c.x[:, :3].argmax(-1))
    assert c.mask.sum() == 9

    x, y = data.sine_wave(2, 10, seed=0)
    np.testing.assert_allclose(x[:, 1:], y[:, :-1])

    he = data.hello_example()
    assert he.vocab.decode(he.x[0].argmax(-1)) == "hell"
    assert he.vocab.decode(he.targets[0]) == "ello"


def test_shipped_data():
    text = data.load_corpus()
    assert 100_000 < len(text) < 400_000
    vocab = data.CharVocab.from_text(text)
    assert vocab.decode(vocab.encode(text[:500])) == text[:500]
    xs, ys = data.char_windows(vocab.encode(text), 20, 5, seed=0)
    np.testing.assert_array_equal(xs[:, 1:], ys[:, :-1])
    for name in data.available_series():
        series = data.load_series(name)
        assert len(next(iter(series.values()))) > 100
    x, y = data.make_windows(np.arange(10.0), 3, horizon=2)
    np.testing.assert_array_equal(x[0, :, 0], [0, 1, 2])
    assert y[0, 0] == 4
    xp, mask, lengths = data.pad_sequences([np.ones((2, 1)), np.ones((4, 1))])
    assert xp.shape == (2, 4, 1) and mask.sum() == 6 and list(lengths) == [2, 4]
