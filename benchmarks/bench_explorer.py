"""Latency of one slider move of chapter 4's gradient explorer (T = 500, H = 64).

A move = recompute (rnnlab.experiments) + redraw (matplotlib Agg) + encode the PNG that the live
widget sends to the browser. Medians over several moves between different ρ, the way a reader
drags the slider (the y-scale is "fixed", so the axes do not change between these moves). Every
step is timed twice, in process CPU time (what this process computed; a machine shared with other
jobs inflates wall time by the time spent waiting for a core) and in wall time.

Three generations of the path are timed side by side, interleaved, in one run:

* original: norms from the plain ``analysis.jacobian_log10_norms(rnn_jacobians(...))`` at 129 k,
  every artist drawn again, a compact palette PNG at 72 dpi;
* previous: the same plain norms at 65 k, the axes drawn once and cached, the curves and the heat
  map blitted onto them at 100 dpi, Pillow's PNG encoder at zlib level 1;
* now: the norms from ``analysis.rnn_jacobian_log10_norms_fast`` (no (T, H, H) Jacobians, exact
  power-of-two rescaling), the same blit, the PNG written directly (no row filter, level 1).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \\
        python benchmarks/bench_explorer.py
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Callable
from contextlib import contextmanager

import numpy as np

from rnnlab import analysis, experiments, plots, widgets


@contextmanager
def _plain_norms():
    """rnn_gradient_flow with the plain Jacobian products instead of its fast path."""
    fast = analysis.rnn_jacobian_log10_norms_fast

    def plain(h, Wh, activation="tanh", ord=2, ks=None):
        J = analysis.rnn_jacobians(h, np.zeros(h.shape[1]), Wh, activation)
        return analysis.jacobian_log10_norms(J, ord, ks)

    analysis.rnn_jacobian_log10_norms_fast = plain
    try:
        yield
    finally:
        analysis.rnn_jacobian_log10_norms_fast = fast


def _pillow_png(rgba: np.ndarray) -> bytes:
    """The previous live PNG: Pillow at zlib level 1 (it chooses a filter per row)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgba[..., :3]), "RGB").save(buf, format="PNG",
                                                                     compress_level=1)
    return buf.getvalue()


def _previous_move(ex: widgets.Explorer, move: dict) -> bytes:
    with _plain_norms():
        ex.update(**move)
    return _pillow_png(ex.figure.render(ex.figure.live_dpi))


def _move(ex: widgets.Explorer, move: dict) -> bytes:
    ex.update(**move)
    return ex.figure.png()


class Timer:
    """CPU and wall seconds of named steps, kept for medians."""

    def __init__(self) -> None:
        self.cpu: dict[str, list[float]] = {}
        self.wall: dict[str, list[float]] = {}

    def __call__(self, name: str, fn: Callable, *args, **kwargs):
        c, w = time.process_time(), time.perf_counter()
        out = fn(*args, **kwargs)
        self.cpu.setdefault(name, []).append(time.process_time() - c)
        self.wall.setdefault(name, []).append(time.perf_counter() - w)
        return out

    def ms(self, name: str) -> tuple[float, float]:
        return (1e3 * statistics.median(self.cpu[name]), 1e3 * statistics.median(self.wall[name]))


def main(repeats: int = 16) -> None:
    ex = widgets.gradient_explorer(T=500, H=64, scale="fixed")
    fig = ex.figure
    fig.png()  # first draw: fills the background cache, as the widget's first display does
    moves = [dict(rho=r) for r in (0.8, 1.2, 2.0, 0.5)] * (repeats // 4)
    t = Timer()
    for move in moves:
        s = {**ex.settings, **move}
        args = (s["rho"], s["T"], s["H"], s["activation"], s["seed"], s["matrix"])
        with _plain_norms():
            t("recompute plain 129", experiments.gradient_flow_setting, *args, 128)
            plain = t("recompute plain 65", experiments.gradient_flow_setting, *args, 64)
        flow = t("recompute fast 65", experiments.gradient_flow_setting, *args, 64)
        assert np.allclose(flow.log10_norms, plain.log10_norms, rtol=1e-12, atol=1e-12)
        ex.settings.update(move)
        fig.update(flow, s["scale"])
        t("full draw + palette PNG", plots.figure_to_png, fig.fig, 72)
        t("blit", fig.render, fig.live_dpi)
        rgba = fig.render(fig.live_dpi)
        t("Pillow PNG", _pillow_png, rgba)
        t("direct PNG", plots._fast_png, rgba)
        t("end to end previous", _previous_move, ex, move)
        t("end to end now", _move, ex, move)

    rows = [
        ("recompute, plain norms at 129 k (original)", ["recompute plain 129"]),
        ("recompute, plain norms at 65 k (previous)", ["recompute plain 65"]),
        ("recompute, fast norms at 65 k (now)", ["recompute fast 65"]),
        ("full redraw + palette PNG, 72 dpi (original)", ["full draw + palette PNG"]),
        ("blit redraw, 100 dpi", ["blit"]),
        ("  Pillow PNG, level 1 (previous)", ["Pillow PNG"]),
        ("  direct PNG, no filter, level 1 (now)", ["direct PNG"]),
        ("original: recompute + full redraw + PNG",
         ["recompute plain 129", "full draw + palette PNG"]),
        ("previous, end to end (plain norms, Pillow PNG)", ["end to end previous"]),
        ("now, end to end (ex.update + figure.png)", ["end to end now"]),
    ]
    print(f"gradient explorer, T=500, H=64, one ρ move, median of {len(moves)} "
          "(CPU ms / wall ms):")
    for label, names in rows:
        cpu = sum(t.ms(n)[0] for n in names)
        wall = sum(t.ms(n)[1] for n in names)
        print(f"  {label:<50} {cpu:6.1f} {wall:7.1f}")
    print("  goal: end to end <= 50 ms")


if __name__ == "__main__":
    main()
