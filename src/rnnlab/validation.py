"""Input checks for rnnlab's public functions.

Every public function validates its arguments once, here, so that a learner who passes the wrong
shape gets a message that names the argument, what was expected and what came, instead of a NumPy
broadcasting traceback or a silent NaN. Inner loops stay free of checks.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

# check_activation lives with the activations it checks; it is re-exported here for callers that
# import every check from this module. activations imports nothing from rnnlab, so no cycle.
from rnnlab.activations import check_activation

__all__ = ["FLOAT_DTYPES", "as_float_array", "check_activation", "check_choice", "check_finite",
           "check_mask", "check_nonempty_batch", "check_nonempty_time", "check_nonneg_int",
           "check_positive", "check_positive_int", "check_sequence", "check_shape",
           "check_square"]

FLOAT_DTYPES = (np.float32, np.float64)


def as_float_array(name: str, value, dtype: npt.DTypeLike | None = None) -> np.ndarray:
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
    """Raise ValueError if `arr` has no time step (its `axis` has length 0)."""
    if arr.shape[axis] == 0:
        raise ValueError(f"{name} must have at least one time step (T >= 1); got T = 0")


def check_nonempty_batch(name: str, arr: np.ndarray) -> None:
    """Raise ValueError if `arr` holds no sequence (N = 0): a mean over it would be 0/0."""
    if arr.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one sequence (N >= 1); got N = 0 "
                         f"(shape {tuple(arr.shape)})")


def check_sequence(name: str, x, D: int | None = None, dtype: npt.DTypeLike | None = None
                   ) -> np.ndarray:
    """A float batch of sequences x: (N >= 1, T >= 1, D), with D and dtype checked if given."""
    x = as_float_array(name, x, dtype)
    check_shape(name, x, (None, None, D), "N, T, D")
    check_nonempty_batch(name, x)
    check_nonempty_time(name, x)
    return x


def check_square(name: str, W) -> np.ndarray:
    """A finite float matrix W: (H, H)."""
    W = as_float_array(name, W)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"{name} must be a square matrix (H, H); got shape {W.shape}")
    return W


def check_choice(name: str, value, choices) -> str:
    """`value` if it is one of `choices`; otherwise a ValueError listing them."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}; got {value!r}")
    return value


def _is_real_number(value) -> bool:
    """A Python or NumPy int/float (not a bool, not an array, not complex)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def check_positive(name: str, value: float) -> float:
    """A finite real number > 0, as a float."""
    if not _is_real_number(value) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number; got {value!r}")
    return float(value)


def check_positive_int(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def check_nonneg_int(name: str, value: int, below: int | None = None) -> int:
    """An integer (not a bool, not a float) >= 0, and < `below` if given."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer; got {value!r} of type "
                        f"{type(value).__name__}")
    if value < 0 or (below is not None and value >= below):
        allowed = ">= 0" if below is None else f"in [0, {below})"
        raise ValueError(f"{name} must be an integer {allowed}; got {value!r}")
    return int(value)


def check_finite(name: str, value: float, minimum: float | None = None) -> float:
    """A finite real number, at least `minimum` if given."""
    if not _is_real_number(value) or not math.isfinite(value) \
            or (minimum is not None and value < minimum):
        at_least = "" if minimum is None else f" >= {minimum}"
        raise ValueError(f"{name} must be a finite number{at_least}; got {value!r}")
    return float(value)


def check_mask(mask, shape: tuple[int, ...], dtype: npt.DTypeLike, name: str = "mask"
               ) -> np.ndarray:
    """A mask of 0/1 (or booleans) with `shape`; returned as `dtype` with at least one 1."""
    m = np.asarray(mask)
    if m.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)} (one entry per position); "
                         f"got {m.shape}")
    if m.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold booleans or 0/1 numbers; got dtype {m.dtype}")
    if m.size and not np.all((m == 0) | (m == 1)):
        raise ValueError(f"{name} must contain only 0/1 (or False/True) values")
    if not np.any(m):
        raise ValueError(f"{name} selects no position at all; the loss would be 0/0")
    return m.astype(dtype)
