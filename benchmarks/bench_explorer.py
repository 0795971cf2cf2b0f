"""Latency of one slider move of chapter 4's gradient explorer (T = 500, H = 64).

A move = recompute (rnnlab.experiments) + redraw (matplotlib Agg) + encode the PNG that the live
widget sends to the browser. Medians over several moves between different ρ, the way a reader
drags the slider (the y-scale is "fixed", so the axes do not change between these moves).

Two ways of drawing are timed side by side in one run:

* full redraw: every artist (text, ticks, legend) drawn again, then the compact palette PNG
  (what the explorer did before: 72 dpi, ~7 px text);
* blit: the axes are drawn once and cached, a move redraws only the curves and the heat map
  onto them and encodes a fast PNG at 100 dpi (what the explorer does now); the changing
  text is sent as HTML beside the image, not drawn into it.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \\
        python benchmarks/bench_explorer.py
"""

from __future__ import annotations

import statistics
import time

from rnnlab import experiments, plots, widgets


def _median_ms(values: list[float]) -> float:
    return 1e3 * statistics.median(values)


def main(repeats: int = 16) -> None:
    ex = widgets.gradient_explorer(T=500, H=64, scale="fixed")
    fig = ex.figure
    ex.figure.png()  # first draw: fills the background cache, as the widget's first display does
    moves = [dict(rho=r) for r in (0.8, 1.2, 2.0, 0.5)] * (repeats // 4)
    compute_128, compute, full_draw, full_png = [], [], [], []
    blit_draw, blit_png, end_to_end = [], [], []
    for move in moves:
        s = {**ex.settings, **move}
        t0 = time.perf_counter()
        experiments.gradient_flow_setting(s["rho"], s["T"], s["H"], s["activation"],
                                          s["seed"], s["matrix"], max_points=128)
        t0b = time.perf_counter()
        flow = experiments.gradient_flow_setting(s["rho"], s["T"], s["H"], s["activation"],
                                                 s["seed"], s["matrix"], max_points=64)
        t1 = time.perf_counter()
        ex.settings.update(move)
        fig.update(flow, s["scale"])
        fig.fig.set_dpi(72)
        fig.fig.canvas.draw()
        t2 = time.perf_counter()
        plots.figure_to_png(fig.fig, 72)  # draws everything again, as the old png() did
        t3 = time.perf_counter()
        fig.render(fig.live_dpi)
        t4 = time.perf_counter()
        fig.png(fig.live_dpi)
        t5 = time.perf_counter()
        compute_128.append(t0b - t0)
        compute.append(t1 - t0b)
        full_draw.append(t2 - t1)
        full_png.append(t3 - t2)
        blit_draw.append(t4 - t3)
        blit_png.append(t5 - t4)
    for move in moves:
        t0 = time.perf_counter()
        ex.update(**move)
        ex.figure.png()
        end_to_end.append(time.perf_counter() - t0)
    c, c128 = _median_ms(compute), _median_ms(compute_128)
    print(f"gradient explorer, T=500, H=64, one ρ move (median of {len(moves)}):")
    print(f"  recompute, norms at 129 k (before)             {c128:6.1f} ms")
    print(f"  recompute, norms at 65 k (now)                 {c:6.1f} ms")
    print(f"  full redraw, 72 dpi                            {_median_ms(full_draw):6.1f} ms")
    print(f"    + palette PNG (full draw again + encode)     {_median_ms(full_png):6.1f} ms")
    print(f"  blit redraw, {fig.live_dpi} dpi                          "
          f"{_median_ms(blit_draw):6.1f} ms")
    print(f"    + fast PNG (blit again + encode)             {_median_ms(blit_png):6.1f} ms")
    print(f"  before: recompute (129 k) + palette PNG        "
          f"{c128 + _median_ms(full_png):6.1f} ms")
    print(f"  now:    recompute (65 k) + fast PNG of a blit  {c + _median_ms(blit_png):6.1f} ms")
    print(f"  now, end to end (ex.update + figure.png)       {_median_ms(end_to_end):6.1f} ms"
          "  (goal <= 50 ms)")


if __name__ == "__main__":
    main()
