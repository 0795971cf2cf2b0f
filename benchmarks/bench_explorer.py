"""Latency of one slider move of chapter 4's gradient explorer (T = 500, H = 64).

A move = recompute (rnnlab.experiments) + redraw (matplotlib Agg) + encode the PNG that the live
widget sends to the browser. Medians (and quartiles) over several moves between different ρ, the
way a reader drags the slider (the y-scale is "fixed", so the axes do not change between these
moves). Every step is timed twice, in process CPU time (what this process computed; a machine
shared with other jobs inflates wall time by the time spent waiting for a core) and in wall time.

Three generations of the live path are timed side by side in one run, interleaved (each move
runs them in a rotating order, so none always comes first):

* original (session 1): the plain ``analysis.jacobian_log10_norms(rnn_jacobians(...))`` at
  129 k, every artist drawn again, a compact palette PNG at 72 dpi;
* session 2: ``rnn_jacobian_log10_norms_fast`` as it was then (a column scaling, an allocated
  product and a max/min per step, one SVD per stored product; copied below as
  ``_session2_norms``) at 65 k; the axes drawn once and cached and the curves and the heat map
  blitted onto them at 100 dpi, the heat map handed to imshow as scalars that Agg colour-maps;
  the PNG written directly from a strided RGB copy;
* now: ``rnn_jacobian_log10_norms_fast`` (preallocated buffers, rescaled only at the stored k
  and where a growth bound requires it, ``eigvalsh`` of the Gram matrices), and no raster at
  all: ``figure.svg()`` sends the cached static part as one PNG and the curves and the heat
  map's pixels as SVG that the browser draws (what ``Explorer.live_widget`` shows now).

For reference, the PNG path is also timed as it is now (the heat map coloured once into RGBA
bytes before the blit, the PNG's RGB bytes gathered with one index array), and the bytes a move
sends to the browser are counted.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \\
        python benchmarks/bench_explorer.py [--repeats 16] [--no-original]
"""

from __future__ import annotations

import argparse
import math
import statistics
import struct
import time
import zlib
from collections.abc import Callable
from contextlib import contextmanager

import numpy as np

from rnnlab import analysis, experiments, plots, widgets
from rnnlab.activations import activation_grad, check_activation
from rnnlab.validation import check_shape


def _session2_norms(h, Wh, activation="tanh", ord=2, ks=None):
    """``analysis.rnn_jacobian_log10_norms_fast`` as session 2 left it (for comparison only)."""
    check_activation(activation)
    Wh = np.asarray(Wh, dtype=np.float64)
    h = np.asarray(h, dtype=np.float64)
    check_shape("h", h, (None, Wh.shape[0]), "T, H")
    T, H = h.shape
    ks = analysis._check_ks(ks, T)
    with np.errstate(all="ignore"):
        d = np.nan_to_num(activation_grad(activation)(h), nan=0.0)
    WhT = np.ascontiguousarray(Wh.T)
    slot = np.full(T + 1, -1)
    slot[ks] = np.arange(len(ks))
    mats = np.empty((len(ks), H, H))
    exps = np.zeros(len(ks))
    P, e = np.eye(H), 0
    scale = 1.0
    for k in range(T, -1, -1):
        if k < T:
            P = (P * (d[k] * scale)) @ WhT
        m = max(float(P.max()), -float(P.min()))
        if m == 0.0:
            mats[slot[:k + 1][slot[:k + 1] >= 0]] = 0.0
            exps[slot[:k + 1][slot[:k + 1] >= 0]] = -np.inf
            break
        _, shift = math.frexp(m)
        e += shift
        scale = math.ldexp(1.0, -shift)
        if slot[k] >= 0:
            mats[slot[k]] = np.ldexp(P, -shift)
            exps[slot[k]] = e
        if not 2.0 ** -1000 < scale < 2.0 ** 1000:
            P, scale = np.ldexp(P, -shift), 1.0
    if ord == 2:
        unit_norms = np.linalg.svd(mats, compute_uv=False)[:, 0]
    else:
        unit_norms = np.sqrt(np.einsum("kij,kij->k", mats, mats))
    with np.errstate(divide="ignore", invalid="ignore"):
        return exps * np.log10(2.0) + np.log10(unit_norms)


def _plain_norms(h, Wh, activation="tanh", ord=2, ks=None):
    J = analysis.rnn_jacobians(h, np.zeros(h.shape[1]), Wh, activation)
    return analysis.jacobian_log10_norms(J, ord, ks)


@contextmanager
def _norms(fn):
    """rnn_gradient_flow with `fn` in place of its fast path."""
    fast = analysis.rnn_jacobian_log10_norms_fast
    analysis.rnn_jacobian_log10_norms_fast = fn
    try:
        yield
    finally:
        analysis.rnn_jacobian_log10_norms_fast = fast


def _session2_png(rgba: np.ndarray) -> bytes:
    """The live PNG as session 2 wrote it: a strided RGB copy, then zlib level 1."""
    h, w = rgba.shape[:2]
    rows = np.empty((h, 1 + 3 * w), np.uint8)
    rows[:, 0] = 0
    rows[:, 1:].reshape(h, w, 3)[...] = rgba[..., :3]

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows.tobytes(), 1)) + chunk(b"IEND", b""))


def _scalar_heat_map(fig: plots.GradientFlowFigure) -> None:
    """Session 2's heat map: scalars that Agg colour-maps on every draw (same pixels)."""
    fig.heat.set_cmap(fig.heat_colors.get_cmap())
    fig.heat.set_norm(fig.heat_colors.norm)
    fig.heat.set_data(fig.plotted["heat"])


def _session2_render(fig: plots.GradientFlowFigure) -> np.ndarray:
    _scalar_heat_map(fig)
    return fig.render(fig.live_dpi)


def _original_move(ex: widgets.Explorer, move: dict) -> bytes:
    s = {**ex.settings, **move}
    with _norms(_plain_norms):
        flow = experiments.gradient_flow_setting(s["rho"], s["T"], s["H"], s["activation"],
                                                 s["seed"], s["matrix"], 128)
    ex.settings.update(move)
    ex.figure.update(flow, s["scale"])
    _scalar_heat_map(ex.figure)
    return plots.figure_to_png(ex.figure.fig, 72)


def _session2_move(ex: widgets.Explorer, move: dict) -> bytes:
    with _norms(_session2_norms):
        ex.update(**move)
    return _session2_png(_session2_render(ex.figure))


def _move(ex: widgets.Explorer, move: dict) -> bytes:
    ex.update(**move)
    return ex.figure.svg()


def _png_move(ex: widgets.Explorer, move: dict) -> bytes:
    ex.update(**move)
    return ex.figure.png()


class Timer:
    """CPU and wall seconds of named steps, kept for medians and quartiles."""

    def __init__(self) -> None:
        self.cpu: dict[str, list[float]] = {}
        self.wall: dict[str, list[float]] = {}

    def __call__(self, name: str, fn: Callable, *args, **kwargs):
        c, w = time.process_time(), time.perf_counter()
        out = fn(*args, **kwargs)
        self.cpu.setdefault(name, []).append(time.process_time() - c)
        self.wall.setdefault(name, []).append(time.perf_counter() - w)
        return out

    def stats(self, name: str, clock: str) -> tuple[float, float, float]:
        """(median, first quartile, third quartile) in ms."""
        values = 1e3 * np.array((self.cpu if clock == "cpu" else self.wall)[name])
        q1, med, q3 = np.percentile(values, [25, 50, 75])
        return float(med), float(q1), float(q3)


def main(repeats: int = 16, original: bool = True) -> None:
    explorers = {g: widgets.gradient_explorer(T=500, H=64, scale="fixed")
                 for g in ("original", "session 2", "now", "now, PNG")}
    for g, ex in explorers.items():  # first draw: fills the background cache, as a display does
        _session2_render(ex.figure) if g in ("original", "session 2") else ex.figure.png()
    explorers["now"].figure.svg()
    moves = [dict(rho=r) for r in (0.8, 1.2, 2.0, 0.5)] * math.ceil(repeats / 4)
    moves = moves[:repeats]
    generations = ["session 2", "now", "now, PNG"]
    if original:
        generations.insert(0, "original")
    end_to_end = {"original": _original_move, "session 2": _session2_move, "now": _move,
                  "now, PNG": _png_move}
    sent: dict[str, list[int]] = {}
    t = Timer()
    for i, move in enumerate(moves):
        # the steps one by one, on the same setting (rotating order) ...
        ex = explorers["now"]
        s = {**ex.settings, **move}
        args = (s["rho"], s["T"], s["H"], s["activation"], s["seed"], s["matrix"])
        steps = [("recompute session 2", _norms(_session2_norms), 64),
                 ("recompute now", None, 64)]
        if original:
            steps.append(("recompute original", _norms(_plain_norms), 128))
        flows = {}
        for j in range(len(steps)):
            name, patch, points = steps[(i + j) % len(steps)]
            if patch is None:
                flows[name] = t(name, experiments.gradient_flow_setting, *args, points)
            else:
                with patch:
                    flows[name] = t(name, experiments.gradient_flow_setting, *args, points)
        # the same numbers as the plain analysis (the tests check this more widely)
        assert np.allclose(flows["recompute now"].log10_norms,
                           flows["recompute session 2"].log10_norms, rtol=1e-12, atol=1e-12)
        ex.settings.update(move)
        ex.figure.update(flows["recompute now"], s["scale"])
        old = explorers["session 2"].figure
        old.update(flows["recompute now"], s["scale"])
        for j in range(3):
            step = (i + j) % 3
            if step == 0:
                t("blit session 2", _session2_render, old)
            elif step == 1:
                t("blit now", ex.figure.render)
            else:
                t("svg now", ex.figure.svg)
        rgba = ex.figure.render().copy()
        for j in range(2):
            if (i + j) % 2:
                t("png session 2", _session2_png, rgba)
            else:
                t("png now", plots._fast_png, rgba)
        # ... and the whole move, end to end
        for j in range(len(generations)):
            g = generations[(i + j) % len(generations)]
            sent.setdefault(g, []).append(
                len(t(f"end to end {g}", end_to_end[g], explorers[g], move)))

    rows = [
        ("recompute, plain norms at 129 k (original)", "recompute original"),
        ("recompute, session 2's fast norms at 65 k", "recompute session 2"),
        ("recompute, fast norms at 65 k (now)", "recompute now"),
        ("blit redraw, 100 dpi, scalar heat map (session 2)", "blit session 2"),
        ("PNG, strided RGB copy (session 2)", "png session 2"),
        ("SVG: curves, heat map pixels, cached static PNG (now)", "svg now"),
        ("  for reference: blit with an RGBA heat map", "blit now"),
        ("  for reference: PNG, RGB gathered by index", "png now"),
        ("original, end to end (full redraw, palette PNG)", "end to end original"),
        ("session 2, end to end (blit + PNG)", "end to end session 2"),
        ("now, end to end (ex.update + figure.svg)", "end to end now"),
        ("  for reference: now with the PNG path", "end to end now, PNG"),
    ]
    print(f"gradient explorer, T=500, H=64, one ρ move, {len(moves)} moves: "
          "median [quartiles] in ms")
    print(f"  {'':<52} {'CPU':>20} {'wall':>22}")
    for label, name in rows:
        if name not in t.cpu:
            continue
        cpu = t.stats(name, "cpu")
        wall = t.stats(name, "wall")
        print(f"  {label:<52} {cpu[0]:6.1f} [{cpu[1]:5.1f}, {cpu[2]:5.1f}]"
              f" {wall[0]:7.1f} [{wall[1]:6.1f}, {wall[2]:6.1f}]")
    now, before = (statistics.median(t.cpu[f"end to end {g}"]) for g in ("now", "session 2"))
    print(f"  now / session 2, end to end, CPU: {now / before:.2f}")
    print("  bytes sent to the browser per move: " + ", ".join(
        f"{g} {statistics.median(n) / 1e3:.1f} KB" for g, n in sent.items()))
    print("  goal: end to end <= 50 ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=16, help="slider moves (default 16)")
    parser.add_argument("--no-original", action="store_true",
                        help="skip the slow original path (about 0.3 s of CPU per move)")
    options = parser.parse_args()
    main(options.repeats, not options.no_original)
