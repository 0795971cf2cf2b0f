"""Element-wise activations and their derivatives, written in terms of the *output*. Chapter 2.

For the recurrences in this package the backward pass only keeps the activation's output
h = σ(a), so each derivative is expressed through h: tanh'(a) = 1 − h², relu'(a) = [h > 0],
linear'(a) = 1, sigmoid'(a) = h (1 − h).

This module imports nothing else from rnnlab (``validation`` and ``layers`` import it).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def sigmoid(a):
    """Logistic function σ(a) = 1 / (1 + e^(−a)), computed as (1 + tanh(a/2)) / 2. Chapter 5.

    a: any shape (or a Python number)
    The identity is exact, and the tanh form never overflows, so there is no RuntimeWarning for a
    large |a|. Keeps a float32 array float32.
    """
    return 0.5 * np.tanh(0.5 * a) + 0.5


def _relu(a: np.ndarray) -> np.ndarray:
    return np.maximum(a, 0)


def _linear(a: np.ndarray) -> np.ndarray:
    return a


def _tanh_grad(h: np.ndarray) -> np.ndarray:
    return 1 - h * h


def _relu_grad(h: np.ndarray) -> np.ndarray:
    return (h > 0).astype(h.dtype)


def _linear_grad(h: np.ndarray) -> np.ndarray:
    return np.ones_like(h)


def _sigmoid_grad(h: np.ndarray) -> np.ndarray:
    return h * (1 - h)


# name -> (σ, σ' written in terms of h = σ(a), γ = sup |σ'|)
ACTIVATIONS: dict[str, tuple[Callable, Callable, float]] = {
    "tanh": (np.tanh, _tanh_grad, 1.0),
    "relu": (_relu, _relu_grad, 1.0),
    "linear": (_linear, _linear_grad, 1.0),
    "sigmoid": (sigmoid, _sigmoid_grad, 0.25),
}


def check_activation(activation: str) -> str:
    """Return `activation` if it names one of ACTIVATIONS; otherwise a ValueError listing them."""
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}; got {activation!r}")
    return activation


def activation_fn(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """σ for `name` in ACTIVATIONS."""
    return ACTIVATIONS[check_activation(name)][0]


def activation_grad(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """σ'(a) as a function of h = σ(a), for `name` in ACTIVATIONS."""
    return ACTIVATIONS[check_activation(name)][1]


def gamma(name: str) -> float:
    """γ = sup_a |σ'(a)|: 1 for tanh, relu and linear, 1/4 for the sigmoid. Chapter 4.

    (Pascanu, Mikolov & Bengio 2013, the γ of their eq. 7.)
    """
    return ACTIVATIONS[check_activation(name)][2]
