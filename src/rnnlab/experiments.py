"""The explorers' experiments: build a model for one setting and measure what a view draws.

These functions compute and return arrays; they never draw. ``rnnlab.widgets`` (the views) calls
them on every slider move and the chapters call them directly, so a number in the text and a
frame of an explorer come from the same code. Each function names the chapter that uses it.
"""

from __future__ import annotations

import numpy as np

from rnnlab import analysis, init, layers
from rnnlab.validation import check_activation, check_positive, check_positive_int


def gradient_flow_setting(rho: float, T: int, H: int = 64, activation: str = "tanh",
                          seed: int = 0, matrix: str = "orthogonal",
                          max_points: int = 128) -> analysis.GradientFlow:
    """Chapter 4's experiment for one setting: a random RNN with spectral radius `rho`.

    rho: spectral radius of Wh (> 0)
    T: sequence length
    H: hidden size
    activation: "tanh", "sigmoid", "relu" or "linear"
    seed: draws Wh, Wx and the inputs
    matrix: "orthogonal" (Wh = rho · Q, so λ₁ = ρ) or "gaussian" (λ₁ ≈ 2ρ)
    max_points: the norms are measured at up to max_points + 1 evenly spaced k
    One input channel x_t ~ N(0, 1), Wx: (1, H) ~ N(0, 1/4), b = 0, h_0 = 0.
    Returns the analysis.GradientFlow of ‖∂h_T/∂h_k‖ with the Pascanu bound.
    """
    rho = check_positive("rho", rho)
    T = check_positive_int("T", T)
    H = check_positive_int("H", H)
    max_points = check_positive_int("max_points", max_points)
    check_activation(activation)
    rng = np.random.default_rng(seed)
    Wh = init.recurrent_matrix(H, rho, rng, kind=matrix)
    Wx = 0.5 * rng.standard_normal((1, H))
    x = rng.standard_normal((T, 1))
    return analysis.rnn_gradient_flow(x, np.zeros(H), Wx, Wh, np.zeros(H), activation,
                                      ks=analysis.evenly_spaced_steps(T, max_points))


def cell_gradient_setting(T: int, forget_bias: float = 1.0, H: int = 32, seed: int = 0,
                          weight_scale: float = 0.5) -> dict[str, np.ndarray]:
    """Chapter 5's experiment: log10 ‖∂L/∂state_k‖, k = 0 … T, for L = u·h_T in three cells.

    T: sequence length
    forget_bias: the LSTM's forget-gate bias (large ⇒ f_t ≈ 1 ⇒ the cell path keeps the gradient)
    H: hidden size
    seed: draws every weight and the inputs
    weight_scale: weights ~ N(0, weight_scale²/H); the vanilla RNN's Wh: Gaussian, rescaled to ρ = 1
    Returns {"vanilla RNN: h", "LSTM: c", "LSTM: c (cell path only)", "GRU: h"}, each (T + 1,).
    """
    T = check_positive_int("T", T)
    H = check_positive_int("H", H)
    rng = np.random.default_rng(seed)
    D = 1
    x = rng.standard_normal((T, D))
    h0 = np.zeros(H)
    s = weight_scale / np.sqrt(H)
    rnn = {"Wx": s * rng.standard_normal((D, H)),
           "Wh": init.recurrent_matrix(H, 1.0, rng), "b": np.zeros(H)}
    lstm = {"Wx": s * rng.standard_normal((D, 4 * H)), "Wh": s * rng.standard_normal((H, 4 * H)),
            "b": np.zeros(4 * H)}
    lstm["b"][H:2 * H] = forget_bias
    gru = {"Wx": s * rng.standard_normal((D, 3 * H)), "Wh": s * rng.standard_normal((H, 3 * H)),
           "bx": np.zeros(3 * H), "bh": np.zeros(3 * H)}
    _, cache = layers.lstm_forward(x[None], h0[None], lstm["Wx"], lstm["Wh"], lstm["b"])
    return {
        "vanilla RNN: h": analysis.state_gradient_log10_norms("rnn", x, h0, rnn)["h"],
        "LSTM: c": analysis.state_gradient_log10_norms("lstm", x, h0, lstm)["c"],
        "LSTM: c (cell path only)": analysis.lstm_cell_path_log10_norms(
            cache.gates[:, 0, H:2 * H]),
        "GRU: h": analysis.state_gradient_log10_norms("gru", x, h0, gru)["h"],
    }


__all__ = ["cell_gradient_setting", "gradient_flow_setting"]
