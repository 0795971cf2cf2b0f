"""Latency of one slider move of chapter 4's gradient explorer (T = 500, H = 64).

A move = recompute (rnnlab.analysis) + redraw (matplotlib Agg) + encode the PNG that the live
widget shows. Reported separately, medians over several moves between different settings.

    python benchmarks/bench_explorer.py
"""

from __future__ import annotations

import statistics
import time

from rnnlab import widgets


def main(repeats: int = 12) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    ex = widgets.gradient_explorer(T=500, H=64)
    FigureCanvasAgg(ex.figure.fig)  # what figure_to_png attaches on first use
    moves = [dict(rho=r) for r in (0.8, 1.2, 2.0, 0.5)] * (repeats // 4)
    compute, draw, png = [], [], []
    for move in moves:
        s = {**ex.settings, **move}
        t0 = time.perf_counter()
        flow = widgets.gradient_flow_setting(s["rho"], s["T"], s["H"], s["activation"],
                                             s["seed"], s["matrix"])
        t1 = time.perf_counter()
        ex.settings.update(move)
        ex.figure.update(flow, "benchmark")
        ex.figure.fig.canvas.draw()
        t2 = time.perf_counter()
        ex.figure.png()
        t3 = time.perf_counter()
        compute.append(t1 - t0)
        draw.append(t2 - t1)
        png.append(t3 - t2)
    full = []
    for move in moves:
        t0 = time.perf_counter()
        ex.update(**move)
        ex.figure.png()
        full.append(time.perf_counter() - t0)
    med = statistics.median
    print("gradient explorer, T=500, H=64, one slider move (median of "
          f"{len(moves)}):")
    print(f"  recompute (analysis)          {1e3 * med(compute):6.1f} ms")
    print(f"  redraw (matplotlib Agg)       {1e3 * med(draw):6.1f} ms")
    print(f"  recompute + redraw            {1e3 * (med(compute) + med(draw)):6.1f} ms  "
          "(target < 100 ms)")
    print(f"  redraw + PNG encode (widget)  {1e3 * med(png):6.1f} ms")
    print(f"  end to end (update + PNG)     {1e3 * med(full):6.1f} ms")


if __name__ == "__main__":
    main()
