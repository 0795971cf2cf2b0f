"""Matplotlib figures for the book (the only core module besides widgets.py that imports it).

Gradient norms are drawn as log10 values on a linear axis whose ticks read 10^n: a norm of
10^400 is just the number 400 here, so nothing overflows while drawing, and values that are truly
non-finite (a hidden state that overflowed, a product that is exactly zero) are marked as such.
"""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from rnnlab.analysis import GradientFlow

COLORS = {"norm": "#1f77b4", "bound": "#d62728", "lstm": "#2ca02c", "gru": "#9467bd"}


def _pow10(value: float, _pos=None) -> str:
    return f"$10^{{{int(round(value))}}}$"


def log10_axis(ax) -> None:
    """Label a linear axis that holds log10 values as powers of ten."""
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    ax.yaxis.set_major_formatter(FuncFormatter(_pow10))


def figure_to_png(fig: Figure, dpi: int = 72, colors: int = 96) -> bytes:
    """Compact PNG bytes of a figure: rendered by Agg, reduced to a palette of `colors`.

    Line plots need few colours, and the palette makes a frame 3-4× smaller, which matters for
    the explorers' precomputed frames that are embedded in the notebooks. No version stamp or
    date is written, so equal figures give equal bytes.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    old_dpi = fig.dpi
    fig.set_dpi(dpi)
    # Reuse the figure's Agg canvas: its renderer (and text layout caches) survive between draws.
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba())
    fig.set_dpi(old_dpi)
    image = image.convert("RGB").quantize(colors=colors, method=Image.Quantize.MEDIANCUT,
                                          dither=Image.Dither.NONE)
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def regime_text(lambda_gamma: float) -> str:
    """What Pascanu et al. (2013) let us conclude from λ₁γ (and what they do not)."""
    if np.isclose(lambda_gamma, 1.0, rtol=1e-9, atol=0):
        return "λ₁γ = 1: no explosion possible (bound = 1),\nbut vanishing is not guaranteed"
    if lambda_gamma < 1:
        return f"λ₁γ = {lambda_gamma:.2f} < 1: vanishing guaranteed\n(sufficient condition)"
    return f"λ₁γ = {lambda_gamma:.2f} > 1: explosion possible\n(necessary, not sufficient)"


class GradientFlowFigure:
    """Two panels: log10 ‖∂h_T/∂h_k‖ against k with the Pascanu bound, and hidden trajectories.

    ``update(flow, title)`` only moves existing artists (set_data), so a redraw is cheap.
    The last drawn values are kept in ``plotted`` so a test can compare them with the analysis.
    """

    n_units = 4  # hidden units whose trajectories are drawn

    def __init__(self, figsize=(9.0, 3.4)) -> None:
        # A fixed layout (no constrained/tight layout pass) keeps a redraw cheap.
        self.fig = Figure(figsize=figsize, dpi=72)  # the live widget and the frames use 72 dpi
        self.fig.subplots_adjust(left=0.08, right=0.98, bottom=0.15, top=0.9, wspace=0.22)
        self.ax_norm, self.ax_h = self.fig.subplots(1, 2, width_ratios=[1.3, 1])
        (self.norm_line,) = self.ax_norm.plot([], [], color=COLORS["norm"], lw=2,
                                              label=r"$\|\partial h_T/\partial h_k\|_2$ (measured)")
        (self.bound_line,) = self.ax_norm.plot([], [], color=COLORS["bound"], lw=1.5, ls="--",
                                               label=r"bound $(\lambda_1\gamma)^{T-k}$")
        self.zero_marks = self.ax_norm.plot([], [], "v", color="k", ms=5)[0]  # products == 0
        self.ax_norm.set_xlabel("k (the step the gradient reaches)")
        self.ax_norm.set_ylabel(r"$\|\partial h_T/\partial h_k\|_2$ (log scale)")
        log10_axis(self.ax_norm)
        self.ax_norm.legend(loc="lower right", fontsize=8)
        self.regime = self.ax_norm.text(0.02, 0.97, "", transform=self.ax_norm.transAxes,
                                        va="top", fontsize=9,
                                        bbox=dict(boxstyle="round", fc="white", alpha=0.85))
        self.h_lines = [self.ax_h.plot([], [], lw=1)[0] for _ in range(self.n_units)]
        self.h_note = self.ax_h.text(0.5, 0.5, "", transform=self.ax_h.transAxes, ha="center",
                                     va="center", color="#d62728", fontsize=10)
        self.ax_h.set_xlabel("t")
        self.ax_h.set_ylabel(f"$h_t$ (first {self.n_units} units)")
        self.plotted: dict[str, np.ndarray] = {}

    def update(self, flow: GradientFlow, title: str = "") -> None:
        k = flow.k
        norms = flow.log10_norms
        bound = flow.log10_bound
        finite = np.isfinite(norms)
        shown = np.where(finite, norms, np.nan)
        self.norm_line.set_data(k, shown)
        self.bound_line.set_data(k, bound)
        zeros = k[np.isneginf(norms)]
        floor = np.nanmin(shown) if finite.any() else 0
        self.zero_marks.set_data(zeros, np.full(len(zeros), floor))
        self.plotted = {"k": k, "log10_norms": norms, "log10_bound": bound}
        T = flow.h.shape[0]
        lo = min(np.nanmin(shown) if finite.any() else -1, 0)
        hi = max(np.nanmax(shown) if finite.any() else 1, 0)
        pad = max(0.05 * (hi - lo), 0.5)
        self.ax_norm.set_xlim(0, T)
        self.ax_norm.set_ylim(lo - pad, hi + pad)  # the bound may leave the frame: it is a bound
        self.regime.set_text(f"ρ(Wh) = {flow.spectral_radius:.2f}, λ₁ = {flow.lambda1:.2f}\n"
                             + regime_text(flow.lambda1 * flow.gamma)
                             + ("\n▼ product exactly 0" if len(zeros) else ""))
        t = np.arange(1, T + 1)
        h = flow.h
        ok = np.isfinite(h)
        for j, line in enumerate(self.h_lines):
            if j < h.shape[1]:
                line.set_data(t, np.where(ok[:, j], h[:, j], np.nan))
            else:
                line.set_data([], [])
        if not ok.all():
            first_bad = int(np.argmax(~ok.all(axis=1))) + 1
            self.h_note.set_text(f"hidden state overflowed\nto ±inf/NaN from t = {first_bad}")
        else:
            self.h_note.set_text("")
        vis = h[:, : self.n_units]
        vis = vis[np.isfinite(vis)]
        if vis.size:
            m = max(float(np.max(np.abs(vis))), 1e-3)
            self.ax_h.set_ylim(-1.05 * m, 1.05 * m)
        self.ax_h.set_xlim(1, max(T, 2))
        self.fig.suptitle(title, fontsize=10)

    def png(self, dpi: int = 72) -> bytes:
        return figure_to_png(self.fig, dpi)


class CellComparisonFigure:
    """log10 ‖∂L/∂state_k‖ against k for several cells (vanilla RNN, LSTM cell path, GRU …)."""

    def __init__(self, labels: list[str], figsize=(7.0, 3.4)) -> None:
        self.fig = Figure(figsize=figsize, dpi=72)  # the live widget and the frames use 72 dpi
        self.fig.subplots_adjust(left=0.12, right=0.98, bottom=0.15, top=0.9)
        self.ax = self.fig.subplots()
        palette = ["#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]
        self.lines = {lab: self.ax.plot([], [], lw=2, color=palette[i % 5], label=lab)[0]
                      for i, lab in enumerate(labels)}
        self.ax.set_xlabel("k (the step the gradient reaches)")
        self.ax.set_ylabel(r"$\|\partial L/\partial s_k\|$ (log scale)")
        log10_axis(self.ax)
        self.ax.legend(loc="lower right", fontsize=8)
        self.plotted: dict[str, np.ndarray] = {}

    def update(self, curves: dict[str, np.ndarray], title: str = "") -> None:
        lo, hi, T = 0.0, 0.0, 1
        for lab, values in curves.items():
            k = np.arange(len(values))
            shown = np.where(np.isfinite(values), values, np.nan)
            self.lines[lab].set_data(k, shown)
            if np.isfinite(shown).any():
                lo, hi = min(lo, np.nanmin(shown)), max(hi, np.nanmax(shown))
            T = max(T, len(values) - 1)
        self.plotted = dict(curves)
        pad = max(0.05 * (hi - lo), 0.5)
        self.ax.set_xlim(0, T)
        self.ax.set_ylim(lo - pad, hi + pad)
        self.ax.set_title(title, fontsize=10)

    def png(self, dpi: int = 72) -> bytes:
        return figure_to_png(self.fig, dpi)


def loss_curves(histories: dict[str, np.ndarray], ylabel: str = "training loss", logy=True,
                ax=None):
    """Plot several loss curves (name -> values) on one axis; returns the axis."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.2))
    for name, values in histories.items():
        ax.plot(np.arange(len(values)), values, label=name)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("update")
    ax.set_ylabel(ylabel)
    ax.legend()
    return ax
