"""Weight initialisation: spectral radius control, orthogonal and Xavier/Glorot initialisers.

The spectral radius ρ(W) = max |λ_i(W)| decides whether a *linear* recurrence h_t = h_{t−1} W
shrinks or grows; the largest singular value σ_max(W) ≥ ρ(W) bounds how much one step can stretch
any vector. For a normal matrix (e.g. an orthogonal one scaled by ρ) the two are equal; for a
random Gaussian matrix σ_max is about twice ρ (circular law vs. Marchenko–Pastur edge).
"""

from __future__ import annotations

import numpy as np

from rnnlab.validation import as_float_array, check_positive, check_positive_int, check_square


def spectral_radius(W) -> float:
    """ρ(W) = max |λ_i(W)|, the largest eigenvalue modulus. Chapter 4.

    W: (H, H) square matrix
    """
    W = check_square("W", W)
    return float(np.max(np.abs(np.linalg.eigvals(W))))


def largest_singular_value(W) -> float:
    """σ_max(W) = ‖W‖₂, the most one multiplication by W can stretch a vector. Chapter 4.

    W: (D, H) matrix
    """
    W = as_float_array("W", W)
    if W.ndim != 2:
        raise ValueError(f"W must be a matrix; got shape {W.shape}")
    return float(np.linalg.norm(W, 2))


def scale_to_spectral_radius(W, rho: float) -> np.ndarray:
    """Return W rescaled so that its spectral radius is exactly `rho`. Chapter 4.

    W:   (H, H) square matrix with a nonzero spectral radius
    rho: the spectral radius wanted, > 0
    """
    W = check_square("W", W)
    rho = check_positive("rho", rho)
    current = spectral_radius(W)
    if current == 0:
        raise ValueError("W has spectral radius 0 (nilpotent or zero); it cannot be rescaled")
    return W * (rho / current)


def _rng(seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def orthogonal(shape: tuple[int, int], seed: int | np.random.Generator = 0,
               gain: float = 1.0, dtype=np.float64) -> np.ndarray:
    """A (semi-)orthogonal matrix of `shape` (Saxe et al. 2014), times `gain`. Chapter 4.

    shape: (rows, cols)
    seed:  an int or a np.random.Generator

    For a square matrix all singular values equal `gain`, so spectral radius = σ_max = gain.
    """
    rows = check_positive_int("shape[0]", shape[0])
    cols = check_positive_int("shape[1]", shape[1])
    a = _rng(seed).standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))  # make the distribution uniform (Haar), not biased by QR's signs
    if rows < cols:
        q = q.T
    return (gain * q).astype(dtype)


def xavier_uniform(shape: tuple[int, int], seed: int | np.random.Generator = 0,
                   gain: float = 1.0, dtype=np.float64) -> np.ndarray:
    """Glorot & Bengio (2010): U(−a, a), a = gain·√(6 / (fan_in + fan_out)). Chapter 6.

    shape: (fan_in, fan_out)
    seed:  an int or a np.random.Generator
    """
    fan_in = check_positive_int("shape[0]", shape[0])
    fan_out = check_positive_int("shape[1]", shape[1])
    a = gain * np.sqrt(6.0 / (fan_in + fan_out))
    return _rng(seed).uniform(-a, a, size=(fan_in, fan_out)).astype(dtype)


def xavier_normal(shape: tuple[int, int], seed: int | np.random.Generator = 0,
                  gain: float = 1.0, dtype=np.float64) -> np.ndarray:
    """Glorot & Bengio (2010): N(0, s²) with s = gain·√(2 / (fan_in + fan_out)). Chapter 6.

    shape: (fan_in, fan_out)
    seed:  an int or a np.random.Generator
    """
    fan_in = check_positive_int("shape[0]", shape[0])
    fan_out = check_positive_int("shape[1]", shape[1])
    s = gain * np.sqrt(2.0 / (fan_in + fan_out))
    return (s * _rng(seed).standard_normal((fan_in, fan_out))).astype(dtype)


def recurrent_matrix(H: int, rho: float, seed: int | np.random.Generator = 0,
                     kind: str = "gaussian", dtype=np.float64) -> np.ndarray:
    """A recurrent weight matrix Wh: (H, H) with spectral radius exactly `rho`. Chapter 4.

    H:    hidden size
    rho:  the spectral radius, > 0
    seed: an int or a np.random.Generator

    kind="gaussian": i.i.d. normal entries, rescaled (σ_max is then about 2ρ);
    kind="orthogonal": ρ times an orthogonal matrix (σ_max = ρ).
    """
    H = check_positive_int("H", H)
    if kind == "gaussian":
        W = _rng(seed).standard_normal((H, H)) / np.sqrt(H)
        return scale_to_spectral_radius(W, rho).astype(dtype)
    if kind == "orthogonal":
        return orthogonal((H, H), seed, gain=check_positive("rho", rho), dtype=dtype)
    raise ValueError(f"kind must be 'gaussian' or 'orthogonal'; got {kind!r}")
