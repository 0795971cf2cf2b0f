"""Input checks for rnnlab's public functions.

Every public function validates its arguments once, here, so that a learner who passes the wrong
shape gets a message that names the argument, what was expected and what came, instead of a NumPy
broadcasting traceback or a silent NaN. Inner loops stay free of checks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FLOAT_DTYPES = (np.float32, np.float64)


def as_float_array(name: str, value, dtype: np.dtype | None = None) -> np.ndarray:
    """Return `value` as a float32/float64 array, refusing other dtypes and non-finite values.

    Python lists of numbers become float64. Integer, boolean, complex or object arrays raise a
    TypeError naming `name`: silently casting them would hide a bug (an int array of one-hot
    indices passed where one-hot vectors were meant, for instance).
    """
    if isinstance(value, np.ndarray):
        arr = value
    else:
        arr = np.asarray(value)
        if arr.dtype.kind in "iu" and not isinstance(value, np.generic):
            arr = arr.astype(np.float64)  # plain Python numbers in a list: float64 by default
    if arr.dtype.type not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be a float32 or float64 array; got dtype {arr.dtype}")
    if dtype is not None and arr.dtype != dtype:
        raise TypeError(
            f"{name} must have dtype {np.dtype(dtype)} like the other arrays; got {arr.dtype} "
            f"(cast all inputs to one dtype, e.g. arr.astype(np.{np.dtype(dtype)}))"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf; got {_count_nonfinite(arr)} such values")
    return arr


def _count_nonfinite(arr: np.ndarray) -> int:
    return int(arr.size - np.count_nonzero(np.isfinite(arr)))


def check_shape(name: str, arr: np.ndarray, expected: Sequence[int | None], axes: str) -> None:
    """Raise ValueError unless `arr.shape` matches `expected` (None = any size).

    `axes` names the axes for the message, e.g. "N, T, D".
    """
    names = [a.strip() for a in axes.split(",")]
    ok = arr.ndim == len(expected) and all(
        e is None or e == s for e, s in zip(expected, arr.shape, strict=False)
    )
    if not ok:
        parts = [n if e is None else f"{n}={e}" for n, e in zip(names, expected, strict=True)]
        raise ValueError(f"{name} must have shape ({', '.join(parts)}); got {tuple(arr.shape)}")


def check_nonempty_time(name: str, arr: np.ndarray, axis: int = 1) -> None:
    if arr.shape[axis] == 0:
        raise ValueError(f"{name} must have at least one time step (T >= 1); got T = 0")


def check_activation(activation: str) -> str:
    from rnnlab.activations import ACTIVATIONS

    if activation not in ACTIVATIONS:
        raise ValueError(
            f"activation must be one of {sorted(ACTIVATIONS)}; got {activation!r}"
        )
    return activation


def check_positive(name: str, value: float) -> float:
    if not np.isscalar(value) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number; got {value!r}")
    return float(value)


def check_positive_int(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def check_mask(mask, shape: tuple[int, ...], dtype: np.dtype, name: str = "mask") -> np.ndarray:
    """A mask of 0/1 (or booleans) with `shape`; returned as `dtype` with at least one 1."""
    m = np.asarray(mask)
    if m.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)} (one entry per position); "
                         f"got {m.shape}")
    if m.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold booleans or 0/1 numbers; got dtype {m.dtype}")
    if not np.all((m == 0) | (m == 1)):
        raise ValueError(f"{name} must contain only 0/1 (or False/True) values")
    if not np.any(m):
        raise ValueError(f"{name} selects no position at all; the loss would be 0/0")
    return m.astype(dtype)
