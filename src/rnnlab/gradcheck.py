"""Numerical gradients by centred differences, and the relative error used to compare them.

    ∂f/∂x_i ≈ (f(x + h e_i) − f(x − h e_i)) / 2h      (error O(h²))

Use float64: in float32 the rounding error of f swamps the O(h²) truncation error.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_gradient(f: Callable[[], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """∂f/∂x by centred differences, perturbing `x` **in place** entry by entry (and restoring it).
    Chapter 3.

    f: a function of no arguments that reads `x` (e.g. a closure over the parameters) and
       returns a scalar
    x: any shape, float64
    h: the step of the centred difference
    Returns an array of x's shape.
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError(f"x must be a float64 NumPy array (gradient checks need float64); got "
                        f"{getattr(x, 'dtype', type(x).__name__)}")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        fp = f()
        x[i] = old - h
        fm = f()
        x[i] = old
        grad[i] = (fp - fm) / (2 * h)
    return grad


def numerical_gradient_array(f: Callable[[], np.ndarray], x: np.ndarray, dout: np.ndarray,
                             h: float = 1e-5) -> np.ndarray:
    """∂(Σ f() ⊙ dout)/∂x: the numerical counterpart of a backward pass given upstream `dout`.
    Chapter 3.

    f:    a function of no arguments that reads `x` and returns an array (a layer's output)
    x:    any shape, float64, perturbed in place
    dout: the shape of f()'s result, the upstream gradient
    """
    dout = np.asarray(dout)
    return numerical_gradient(lambda: float(np.sum(f() * dout)), x, h)


def rel_error(a: np.ndarray, b: np.ndarray, eps: float = 1e-12) -> float:
    """‖a − b‖ / max(‖a‖ + ‖b‖, eps) with Frobenius norms. Chapter 3.

    a, b: arrays of the same shape

    Below about 1e-7 two float64 gradients agree; a wrong backward pass typically gives 1e-2 or
    more. The norm-based form does not blow up on entries that are almost zero in both arrays,
    where an element-wise ratio would only measure the finite-difference noise.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape; got {a.shape} and {b.shape}")
    return float(np.linalg.norm(a - b)) / max(float(np.linalg.norm(a) + np.linalg.norm(b)), eps)
