from __future__ import annotations

import numpy as np
import pytest

from rnnlab import optim


def test_clip_grad_norm_is_pascanu_algorithm_1():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}
    pre = optim.clip_grad_norm(grads, 1.0)
    assert pre == pytest.approx(5.0)
    assert optim.global_norm(grads) == pytest.approx(1.0)
    np.testing.assert_allclose(grads["a"], [0.6, 0.0])  # direction kept
    small = {"a": np.array([0.1, 0.2])}
    assert optim.clip_grad_norm(small, 1.0) == pytest.approx(np.sqrt(0.05))
    np.testing.assert_allclose(small["a"], [0.1, 0.2])  # below the threshold: untouched


def test_clip_grad_norm_refuses_non_finite():
    with pytest.raises(ValueError, match="NaN or inf"):
        optim.clip_grad_norm({"a": np.array([np.inf])}, 1.0)


def test_clip_grad_value_changes_direction():
    g = {"a": np.array([3.0, 0.5])}
    optim.clip_grad_value(g, 1.0)
    np.testing.assert_allclose(g["a"], [1.0, 0.5])


@pytest.mark.parametrize("opt", [optim.SGD(0.1), optim.SGD(0.05, momentum=0.9),
                                 optim.RMSProp(0.05), optim.Adam(0.1)])
def test_optimisers_minimise_a_quadratic(opt):
    p = {"w": np.array([3.0, -2.0])}
    for _ in range(300):
        opt.step(p, {"w": 2 * p["w"]})
    assert np.linalg.norm(p["w"]) < 0.05


def test_adam_first_step_is_lr_times_sign():
    p = {"w": np.array([1.0, -1.0])}
    optim.Adam(0.1).step(p, {"w": np.array([5.0, -0.01])})
    np.testing.assert_allclose(p["w"], [0.9, -0.9], rtol=1e-6)


def test_mismatched_keys():
    with pytest.raises(ValueError, match="same keys"):
        optim.SGD(0.1).step({"a": np.zeros(1)}, {"b": np.zeros(1)})
    with pytest.raises(ValueError, match="lr must be a positive"):
        optim.Adam(-1)
