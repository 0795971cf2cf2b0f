"""Forward + backward of rnnlab's RNN, LSTM and GRU against torch.nn on the CPU, in one process.

Each case runs rnnlab and torch alternately (interleaved, so both see the same machine state),
repeats, and reports medians, the time ratio rnnlab/torch (≤ 1.0 means rnnlab is as fast or
faster), and the achieved GFLOP/s of rnnlab against a measured matmul peak.

    python benchmarks/bench_layers.py [--repeats 15] [--threads 1] [--clock wall|cpu]
                                      [--baseline GIT_REV] [--floor]

--clock cpu measures each call's process CPU time instead of wall time: on a shared machine
where other processes compete for the cores, it leaves out the time this process waited for a
core, which otherwise lands at random on either library. Both libraries run single-threaded
(--threads 1), so CPU time is their compute time. Run it with the machine's OpenBLAS tuning
variables unset: ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/...``.

--baseline GIT_REV also times ``src/rnnlab/layers.py`` as it was at that commit (loaded from git
into a module of its own), interleaved with the current one and torch: before, after and torch
in one run. --floor also times only the matrix products that any implementation of the layer
must make (the FLOP count below, each product once, into preallocated outputs, no element-wise
work): the lower bound of NumPy's time for the layer, next to torch's whole forward + backward.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

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


def baseline_layers(rev: str) -> types.ModuleType:
    """``rnnlab.layers`` as it was at git revision `rev`, as a module of its own."""
    root = Path(__file__).resolve().parents[1]
    source = subprocess.run(["git", "show", f"{rev}:src/rnnlab/layers.py"], cwd=root, check=True,
                            capture_output=True, text=True).stdout
    module = types.ModuleType(f"layers_at_{rev}")
    exec(compile(source, f"layers.py@{rev}", "exec"), module.__dict__)  # noqa: S102
    return module


def gemm_floor_case(cell: str, dtype):
    """Only the matrix products of a forward + backward pass, into preallocated outputs.

    The products every implementation needs (6·N·T·G·H·(D + H) FLOPs in all): forward, the input
    projection of all steps (one product) and one recurrent product a step; backward, one
    recurrent product a step back, and dWx, dWh, dx each as one product over all T·N rows.
    """
    rng = np.random.default_rng(1)
    GH = GATES[cell] * H
    x = rng.standard_normal((T * N, D)).astype(dtype)
    hs = rng.standard_normal((T, N, H)).astype(dtype)
    da = rng.standard_normal((T, N, GH)).astype(dtype)
    Wx, Wh = rng.standard_normal((D, GH)).astype(dtype), rng.standard_normal((H, GH)).astype(dtype)
    WhT, WxT = np.ascontiguousarray(Wh.T), np.ascontiguousarray(Wx.T)
    xa, a = np.empty((T * N, GH), dtype), np.empty((N, GH), dtype)
    dh, dWx, dWh, dx = (np.empty(s, dtype) for s in [(N, H), (D, GH), (H, GH), (T * N, D)])
    da2, hs2 = da.reshape(T * N, GH), hs.reshape(T * N, H)

    def run():
        np.matmul(x, Wx, out=xa)
        for t in range(T):
            np.matmul(hs[t], Wh, out=a)
        for t in range(T):
            np.matmul(da[t], WhT, out=dh)
        np.matmul(x.T, da2, out=dWx)
        np.matmul(hs2.T, da2, out=dWh)
        np.matmul(da2, WxT, out=dx)
    return run


def rnnlab_case(cell: str, dtype, layers=layers):
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


def measure(repeats: int, threads: int, clock=time.perf_counter, baseline: str | None = None,
            floor: bool = False):
    import torch

    torch.set_num_threads(threads)
    before = baseline_layers(baseline) if baseline else None

    rows = []
    for dtype in (np.float32, np.float64):
        peak = peak_gflops(dtype, clock=clock)
        for cell in ("rnn", "lstm", "gru"):
            runs = {"rnnlab": rnnlab_case(cell, dtype), "torch": torch_case(torch, cell, dtype)}
            if before is not None:
                runs["before"] = rnnlab_case(cell, dtype, before)
            if floor:
                runs["floor"] = gemm_floor_case(cell, dtype)
            times: dict[str, list[float]] = {name: [] for name in runs}
            for run in runs.values():
                run()  # warm-up
            for _ in range(repeats):  # interleaved
                for name, run in runs.items():
                    t = clock()
                    run()
                    times[name].append(clock() - t)
            ms = {name: 1e3 * statistics.median(ts) for name, ts in times.items()}
            mo, mt = ms["rnnlab"], ms["torch"]
            gf = matmul_flops(cell) / mo / 1e6
            rows.append(dict(cell=cell, dtype=np.dtype(dtype).name, rnnlab_ms=mo, torch_ms=mt,
                             ratio=mo / mt, gflops=gf, peak=peak, before_ms=ms.get("before"),
                             floor_ms=ms.get("floor")))
    return rows, torch.__version__, torch.get_num_threads()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1,
                        help="threads for both NumPy's BLAS and torch (default 1)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall time (default) or process CPU time (for a shared machine)")
    parser.add_argument("--baseline", metavar="GIT_REV",
                        help="also time layers.py as it was at this git revision (before/after)")
    parser.add_argument("--floor", action="store_true",
                        help="also time only the matrix products every implementation must make")
    args = parser.parse_args()
    try:
        import torch  # noqa: F401
    except ImportError:
        raise SystemExit("bench_layers needs torch (pip install torch==2.13.0): it compares "
                         "rnnlab with torch.nn side by side") from None
    rows, tv, threads = measure(args.repeats, args.threads, CLOCKS[args.clock], args.baseline,
                                args.floor)
    print(f"rnnlab {__version__} vs torch {tv}, {threads} thread(s) each, NumPy {np.__version__}, "
          f"{platform.processor() or platform.machine()}; N={N} T={T} D={D} H={H}, "
          f"forward+backward, median of {args.repeats}, {args.clock} clock")
    extra_head, extra_rule = "", ""
    if args.baseline:
        extra_head += f" | {args.baseline} (ms) | ratio {args.baseline}/torch"
        extra_rule += "---:|---:|"
    if args.floor:
        extra_head += " | matmuls only (ms) | ratio matmuls only/torch"
        extra_rule += "---:|---:|"
    print("| cell | dtype | rnnlab (ms) | torch (ms) | ratio rnnlab/torch | rnnlab GFLOP/s "
          f"| matmul peak GFLOP/s | % of peak{extra_head} |")
    print(f"|---|---|---:|---:|---:|---:|---:|---:|{extra_rule}")
    for r in rows:
        extra = ""
        for key in ("before_ms", "floor_ms"):
            if r[key] is not None:
                extra += f" | {r[key]:.1f} | {r[key] / r['torch_ms']:.2f}"
        print(f"| {r['cell']} | {r['dtype']} | {r['rnnlab_ms']:.1f} | {r['torch_ms']:.1f} | "
              f"{r['ratio']:.2f} | {r['gflops']:.1f} | {r['peak']:.1f} | "
              f"{100 * r['gflops'] / r['peak']:.0f}%{extra} |")
    worst = max(r["ratio"] for r in rows)
    print(f"\nworst ratio: {worst:.2f} (target ≤ {TARGET}: "
          f"{'met' if worst <= TARGET else 'NOT met'})")


if __name__ == "__main__":
    main()
