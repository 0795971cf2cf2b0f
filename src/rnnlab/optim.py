"""Optimisers and gradient clipping.

Parameters and gradients are dicts of arrays with the same keys (``model.params``,
``model.grads``); every update is in place, so a model keeps its arrays.

* ``SGD`` (optional momentum), ``RMSProp`` (Tieleman & Hinton 2012), ``Adam`` (Kingma & Ba 2015).
* ``clip_grad_norm``: Pascanu, Mikolov & Bengio (2013), Algorithm 1 — if ‖g‖ > threshold,
  g ← threshold · g / ‖g‖, with ‖g‖ the norm of *all* gradients together. Keeps the direction.
* ``clip_grad_value``: element-wise clipping to [−c, c]. Changes the direction.

Adaptive optimisers rescale each parameter's step by a running average of its squared gradient,
which tames an occasional large gradient but does nothing about information that never reaches an
early time step (vanishing gradients): a zero stays a zero however it is rescaled.
"""

from __future__ import annotations

import numpy as np

from rnnlab.validation import check_positive

Params = dict[str, np.ndarray]


def _check_pair(params: Params, grads: Params) -> None:
    if set(params) != set(grads):
        raise ValueError(f"grads must have the same keys as params; params has {sorted(params)}, "
                         f"grads has {sorted(grads)}")
    for k in params:
        if params[k].shape != grads[k].shape:
            raise ValueError(f"grads[{k!r}] must have the shape of params[{k!r}] "
                             f"{params[k].shape}; got {grads[k].shape}")


def global_norm(grads: Params) -> float:
    """√(Σ ‖g‖²) over every array in `grads`, as one vector (inf if it overflows). Chapter 4.

    grads: {name: array} as ``model.grads``
    """
    with np.errstate(over="ignore"):
        total = sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads.values())
    return float(np.sqrt(total))


def clip_grad_norm(grads: Params, max_norm: float) -> float:
    """Rescale all gradients together so their global norm is at most `max_norm`, in place.

    Returns the norm *before* clipping (useful to plot how often and how hard it clips).
    """
    max_norm = check_positive("max_norm", max_norm)
    norm = global_norm(grads)
    if not np.isfinite(norm):
        raise ValueError("the gradients contain NaN or inf; clipping cannot recover a direction "
                         "from them (lower the learning rate or clip earlier)")
    if norm > max_norm:
        scale = max_norm / norm
        for g in grads.values():
            g *= scale
    return norm


def clip_grad_value(grads: Params, clip_value: float) -> None:
    """Clip every gradient entry to [−c, c], in place (changes the direction). Chapter 4.

    grads:      {name: array} as ``model.grads``
    clip_value: c > 0
    """
    clip_value = check_positive("clip_value", clip_value)
    for g in grads.values():
        np.clip(g, -clip_value, clip_value, out=g)


class SGD:
    """θ ← θ − lr · v with v ← momentum · v + g (plain SGD when momentum = 0)."""

    def __init__(self, lr: float = 0.01, momentum: float = 0.0) -> None:
        self.lr = check_positive("lr", lr)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1); got {momentum!r}")
        self.momentum = float(momentum)
        self.velocity: Params = {}

    def step(self, params: Params, grads: Params) -> None:
        _check_pair(params, grads)
        for k, p in params.items():
            g = grads[k]
            if self.momentum:
                v = self.velocity.setdefault(k, np.zeros_like(p))
                v *= self.momentum
                v += g
                g = v
            p -= self.lr * g


class RMSProp:
    """θ ← θ − lr · g / (√s + eps) with s ← ρ s + (1 − ρ) g² (Tieleman & Hinton 2012)."""

    def __init__(self, lr: float = 0.001, rho: float = 0.9, eps: float = 1e-8) -> None:
        self.lr = check_positive("lr", lr)
        if not 0 < rho < 1:
            raise ValueError(f"rho must be in (0, 1); got {rho!r}")
        self.rho = float(rho)
        self.eps = check_positive("eps", eps)
        self.sq: Params = {}

    def step(self, params: Params, grads: Params) -> None:
        _check_pair(params, grads)
        for k, p in params.items():
            g = grads[k]
            s = self.sq.setdefault(k, np.zeros_like(p))
            s *= self.rho
            s += (1 - self.rho) * g * g
            p -= self.lr * g / (np.sqrt(s) + self.eps)


class Adam:
    """Adam (Kingma & Ba 2015) with bias correction."""

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8) -> None:
        self.lr = check_positive("lr", lr)
        for name, beta in (("beta1", beta1), ("beta2", beta2)):
            if not 0 <= beta < 1:
                raise ValueError(f"{name} must be in [0, 1); got {beta!r}")
        self.beta1, self.beta2 = float(beta1), float(beta2)
        self.eps = check_positive("eps", eps)
        self.m: Params = {}
        self.v: Params = {}
        self.t = 0

    def step(self, params: Params, grads: Params) -> None:
        _check_pair(params, grads)
        self.t += 1
        c1 = 1 - self.beta1 ** self.t
        c2 = 1 - self.beta2 ** self.t
        for k, p in params.items():
            g = grads[k]
            m = self.m.setdefault(k, np.zeros_like(p))
            v = self.v.setdefault(k, np.zeros_like(p))
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * g * g
            p -= self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)
