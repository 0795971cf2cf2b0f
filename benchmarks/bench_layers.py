"""Forward + backward of rnnlab's RNN, LSTM and GRU against torch.nn on the CPU, in one process.

Each case runs rnnlab and torch alternately (interleaved, so both see the same machine state),
repeats, and reports medians, the time ratio rnnlab/torch (≤ 1.0 means rnnlab is as fast or
faster), and the achieved GFLOP/s of rnnlab against a measured matmul peak.

    python benchmarks/bench_layers.py [--repeats 15] [--threads 1] [--clock wall|cpu]

--clock cpu measures each call's process CPU time instead of wall time: on a shared machine
where other processes compete for the cores, it leaves out the time this process waited for a
core, which otherwise lands at random on either library. Both libraries run single-threaded
(--threads 1), so CPU time is their compute time. Run it with the machine's OpenBLAS tuning
variables unset: ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/...``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

# Both libraries get the same number of threads (default 1), set before NumPy loads its BLAS:
# with OpenBLAS threads spinning between calls, torch would be slowed down by our own process.
_threads = "1"
for i, arg in enumerate(sys.argv):
    if arg == "--threads" and i + 1 < len(sys.argv):
        _threads = sys.argv[i + 1]
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = _threads

import numpy as np  # noqa: E402

from rnnlab import __version__, layers  # noqa: E402
from rnnlab.models import MODELS  # noqa: E402

N, T, D, H = 64, 100, 32, 128
GATES = {cell: model.gates for cell, model in MODELS.items()}  # gate blocks: 1, 4, 3
TARGET = 0.7  # issue 11: every cell and dtype at most 0.7 of torch.nn's time


def matmul_flops(cell: str) -> float:
    """Matmul FLOPs of forward + backward: forward 2NT·GH(D + H), backward twice that."""
    return 3 * 2 * N * T * GATES[cell] * H * (D + H)


def peak_gflops(dtype, repeats: int = 7, clock=time.perf_counter) -> float:
    """GFLOP/s of one large matmul of the same kind as the layers' (N·T, H) @ (H, 4H)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((N * T, 4 * H)).astype(dtype)
    b = rng.standard_normal((4 * H, 4 * H)).astype(dtype)
    times = []
    for _ in range(repeats):
        t = clock()
        a @ b
        times.append(clock() - t)
    return 2 * a.shape[0] * a.shape[1] * b.shape[1] / min(times) / 1e9


def rnnlab_case(cell: str, dtype):
    rng = np.random.default_rng(1)
    G = GATES[cell]
    x = rng.standard_normal((N, T, D)).astype(dtype)
    h0 = np.zeros((N, H), dtype=dtype)
    Wx = (0.1 * rng.standard_normal((D, G * H))).astype(dtype)
    Wh = (0.1 * rng.standard_normal((H, G * H))).astype(dtype)
    b = np.zeros(G * H, dtype=dtype)
    dh = rng.standard_normal((N, T, H)).astype(dtype)
    if cell == "rnn":
        def run():
            h, cache = layers.rnn_forward(x, h0, Wx, Wh, b)
            return layers.rnn_backward(dh, cache)
    elif cell == "lstm":
        def run():
            h, cache = layers.lstm_forward(x, h0, Wx, Wh, b)
            return layers.lstm_backward(dh, cache)
    else:
        def run():
            h, cache = layers.gru_forward(x, h0, Wx, Wh, b, b)
            return layers.gru_backward(dh, cache)
    return run


def torch_case(torch, cell: str, dtype):
    tdtype = torch.float32 if dtype == np.float32 else torch.float64
    net = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](
        D, H, batch_first=True).to(tdtype)
    rng = np.random.default_rng(1)
    x = torch.tensor(rng.standard_normal((N, T, D)), dtype=tdtype, requires_grad=True)
    dh = torch.tensor(rng.standard_normal((N, T, H)), dtype=tdtype)

    def run():
        net.zero_grad(set_to_none=True)
        x.grad = None
        out, _ = net(x)
        out.backward(dh)
    return run


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def measure(repeats: int, threads: int, clock=time.perf_counter):
    import torch

    torch.set_num_threads(threads)

    rows = []
    for dtype in (np.float32, np.float64):
        peak = peak_gflops(dtype, clock=clock)
        for cell in ("rnn", "lstm", "gru"):
            ours, theirs = rnnlab_case(cell, dtype), torch_case(torch, cell, dtype)
            ours(), theirs()  # warm-up
            t_ours, t_theirs = [], []
            for _ in range(repeats):  # interleaved
                t = clock()
                ours()
                t_ours.append(clock() - t)
                t = clock()
                theirs()
                t_theirs.append(clock() - t)
            mo, mt = statistics.median(t_ours), statistics.median(t_theirs)
            gf = matmul_flops(cell) / mo / 1e9
            rows.append(dict(cell=cell, dtype=np.dtype(dtype).name, rnnlab_ms=1e3 * mo,
                             torch_ms=1e3 * mt, ratio=mo / mt, gflops=gf, peak=peak))
    return rows, torch.__version__, torch.get_num_threads()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1,
                        help="threads for both NumPy's BLAS and torch (default 1)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall time (default) or process CPU time (for a shared machine)")
    args = parser.parse_args()
    try:
        import torch  # noqa: F401
    except ImportError:
        raise SystemExit("bench_layers needs torch (pip install torch==2.13.0): it compares "
                         "rnnlab with torch.nn side by side") from None
    rows, tv, threads = measure(args.repeats, args.threads, CLOCKS[args.clock])
    print(f"rnnlab {__version__} vs torch {tv}, {threads} thread(s) each, NumPy {np.__version__}, "
          f"{platform.processor() or platform.machine()}; N={N} T={T} D={D} H={H}, "
          f"forward+backward, median of {args.repeats}, {args.clock} clock")
    print("| cell | dtype | rnnlab (ms) | torch (ms) | ratio rnnlab/torch | rnnlab GFLOP/s "
          "| matmul peak GFLOP/s | % of peak |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['cell']} | {r['dtype']} | {r['rnnlab_ms']:.1f} | {r['torch_ms']:.1f} | "
              f"{r['ratio']:.2f} | {r['gflops']:.1f} | {r['peak']:.1f} | "
              f"{100 * r['gflops'] / r['peak']:.0f}% |")
    worst = max(r["ratio"] for r in rows)
    print(f"\nworst ratio: {worst:.2f} (target ≤ {TARGET}: "
          f"{'met' if worst <= TARGET else 'NOT met'})")


if __name__ == "__main__":
    main()
