"""What it costs that a cache keeps its own copies of the arrays a forward pass was given.

rnnlab 2.0 copies x, the states and the weights into every cache, so that a backward pass gives
the gradient of the forward pass that ran even if the caller then reuses an input buffer or
updates the weights in place. The alternative, read-only views, cannot protect the caller's own
arrays (they stay writable) and costs about as much at the book's sizes. This prints the time of
those copies next to the forward + backward they belong to (process CPU time, one BLAS thread).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_cache_copies.py
"""

from __future__ import annotations

import os
import statistics
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from rnnlab import layers  # noqa: E402
from rnnlab.models import MODELS  # noqa: E402


def per_call(f, calls: int, repeats: int = 7) -> float:
    """Median process CPU time of one call of f."""
    times = []
    for _ in range(repeats):
        t = time.process_time()
        for _ in range(calls):
            f()
        times.append((time.process_time() - t) / calls)
    return statistics.median(times)


def run(cell: str, N: int, T: int, D: int, H: int) -> str:
    rng = np.random.default_rng(0)
    G = MODELS[cell].gates
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    Wx, Wh = 0.1 * rng.standard_normal((D, G * H)), 0.1 * rng.standard_normal((H, G * H))
    b, dh = np.zeros(G * H), rng.standard_normal((N, T, H))
    xt, dht = x[:, 0].copy(), dh[:, 0].copy()
    if cell == "rnn":
        def step():
            layers.rnn_step_backward(dht, layers.rnn_step_forward(xt, h0, Wx, Wh, b)[1])

        def sequence():
            layers.rnn_backward(dh, layers.rnn_forward(x, h0, Wx, Wh, b)[1])
    elif cell == "lstm":
        def step():
            cache = layers.lstm_step_forward(xt, h0, h0, Wx, Wh, b)[1]
            layers.lstm_step_backward((dht, None), cache)

        def sequence():
            layers.lstm_backward(dh, layers.lstm_forward(x, h0, Wx, Wh, b)[1])
    else:
        def step():
            layers.gru_step_backward(dht, layers.gru_step_forward(xt, h0, Wx, Wh, b, b)[1])

        def sequence():
            layers.gru_backward(dh, layers.gru_forward(x, h0, Wx, Wh, b, b)[1])
    kept = [xt, h0, Wx, Wh] + ([h0] if cell == "lstm" else [])  # what a step cache copies

    def copies():
        for a in kept:
            a.copy()

    def readonly_views():
        for a in kept:
            v = a.view()
            v.flags.writeable = False

    t_step, t_copy = per_call(step, 200), per_call(copies, 200)
    t_view = per_call(readonly_views, 200)
    t_seq, t_seq_copy = per_call(sequence, 3 if N * T > 1000 else 50), per_call(copies, 200)
    return (f"| {cell} | {N}, {T}, {D}, {H} | {1e6 * t_step:.0f} | {1e6 * t_copy:.1f} "
            f"({100 * t_copy / t_step:.1f}%) | {1e6 * t_view:.1f} | {1e3 * t_seq:.2f} | "
            f"{100 * t_seq_copy / t_seq:.2f}% |")


def main() -> None:
    print("| cell | N, T, D, H | step fwd+bwd (µs) | its copies (µs) | read-only views (µs) "
          "| sequence fwd+bwd (ms) | copies / sequence |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for shape in [(64, 100, 32, 128), (4, 20, 3, 8)]:
        for cell in MODELS:
            print(run(cell, *shape))


if __name__ == "__main__":
    main()
