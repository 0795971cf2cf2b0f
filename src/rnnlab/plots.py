"""Matplotlib figures for the book: the explorers' figures and a few shared plotting helpers.

This is a view module: with ``widgets.py`` it is the only part of rnnlab that imports matplotlib;
everything it draws is computed below it (``rnnlab.analysis``, ``rnnlab.experiments``).

Gradient norms are drawn as log10 values on a linear axis whose ticks read 10^n: a norm of
10^400 is just the number 400 here, so nothing overflows while drawing, and values that are truly
non-finite (a hidden state that overflowed, a product that is exactly zero) are marked as such.

The explorers' figures separate what changes with a setting (curves, the heat map: the
*dynamic* artists) from what does not (axes, ticks, labels, legend). The static part is drawn
once and cached. The live widget receives it as one PNG inside an SVG whose dynamic artists are
vector elements the browser draws (``LayeredFigure.svg``), so a slider move rasterises and
encodes nothing but the heat map's few pixels; a raster redraw (``render``, ``png``) blits only
the dynamic artists onto the cache, and the static book ships the static part once per axis
layout instead of once per frame.
Changing text (the regime, the measured norm) is not drawn into the raster at all: ``caption``
returns it as text for the page.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import struct
import zlib

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize, to_hex
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.markers import MarkerStyle
from matplotlib.patches import Patch
from matplotlib.path import Path
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, MaxNLocator
from matplotlib.transforms import Affine2D

from rnnlab.analysis import GradientFlow

# One palette for the whole book's figures (matplotlib's tab10, by role).
COLORS = {"norm": "#1f77b4", "bound": "#d62728", "rnn": "#1f77b4", "lstm": "#2ca02c",
          "lstm_cell": "#ff7f0e", "gru": "#9467bd", "other": "#8c564b"}
CYCLE = ("#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")


def _pow10(value: float, _pos=None) -> str:
    return f"$10^{{{int(round(value))}}}$"


def log10_axis(ax) -> None:
    """Label a linear axis that holds log10 values as powers of ten."""
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    ax.yaxis.set_major_formatter(FuncFormatter(_pow10))

def figure_to_png(fig: Figure, dpi: int = 72, colors: int = 96) -> bytes:
    """Compact PNG bytes of a whole figure: rendered by Agg, reduced to a palette of `colors`.

    No version stamp or date is written, so equal figures give equal bytes.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    old_dpi = fig.dpi
    fig.set_dpi(dpi)
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba()).copy()
    fig.set_dpi(old_dpi)
    return _palette_png(rgba, colors)


def _palette_png(rgba: np.ndarray, colors: int = 96, transparent=None) -> bytes:
    """PNG of an (h, w, 4) image reduced to `colors` colours; `transparent` (h, w) bool marks
    pixels to leave see-through (index `colors` of the palette)."""
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(rgba[..., :3]), "RGB")
    image = image.quantize(colors=colors, method=Image.Quantize.FASTOCTREE,
                           dither=Image.Dither.NONE)
    # the octree averages colours: snap near-white back to the page's white
    palette = [255 if v >= 250 else v for v in (image.getpalette() or [])[: 3 * colors]]
    palette += [0] * (3 * colors - len(palette))  # pad, so index `colors` is the transparent one
    options = {}
    if transparent is not None:
        index = np.array(image)
        index[transparent] = colors
        image = Image.fromarray(index, "P")
        palette = palette + [255, 255, 255]
        options["transparency"] = colors
    image.putpalette(palette)
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=9, **options)
    return buf.getvalue()


def _fast_png(rgba: np.ndarray) -> bytes:
    """PNG of an (h, w, 4) image, encoded for speed (``png``; the SVG's heat map), not size.

    Written directly (RGB, 8 bits, no row filter, zlib level 1): about twice as fast as Pillow's
    encoder at level 1, which tries a filter per row, for a file of the same size (the figure is
    mostly flat white, which zlib compresses well unfiltered).
    """
    h, w = rgba.shape[:2]
    rows = np.empty((h, 1 + 3 * w), np.uint8)
    rows[:, 0] = 0  # filter type "None" for every row
    # = rgba[..., :3], gathered with one index array: a third of the time of the strided copy
    rows[:, 1:] = np.take(np.ascontiguousarray(rgba).reshape(h, 4 * w), _rgb_columns(w), axis=1)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlacing
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows.data, 1)) + chunk(b"IEND", b""))


@functools.lru_cache(maxsize=4)
def _rgb_columns(w: int) -> np.ndarray:
    """Byte offsets of R, G, B in a row of w RGBA pixels (skipping every alpha byte)."""
    index = np.arange(4 * w).reshape(w, 4)[:, :3].ravel()
    index.flags.writeable = False  # cached: shared by every call
    return index


class LayeredFigure:
    """A figure whose `dynamic` artists change with the settings and everything else does not.

    Subclasses fill ``fig``, ``dynamic`` and ``background_key()`` (whatever changes the static
    pixels: axis limits, labels). ``render`` draws the static part once per key and blits the
    dynamic artists onto it; ``png`` encodes that; ``svg`` is the live widget's image (the
    cached static part plus the dynamic artists as SVG elements); ``png_layers`` gives the
    static frames a shared background and a transparent foreground with only what changed.
    """

    fig: Figure
    dynamic: list
    live_dpi = 100  # the live image's static part: 100 dpi, the size Jupyter shows it at
    # The static book's frames: 160 pixels per inch, shown at 100 CSS px per inch, so 1.6 device
    # pixels per CSS pixel: sharp on HiDPI screens while a page of 35 frames stays under 800 KB.
    frame_dpi = 160

    def background_key(self) -> tuple:
        raise NotImplementedError

    def _canvas(self):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        if not isinstance(self.fig.canvas, FigureCanvasAgg):
            FigureCanvasAgg(self.fig)
        return self.fig.canvas

    def _background(self, dpi: float) -> dict:
        """The static part at `dpi` for the current layout, drawn once and cached."""
        canvas = self._canvas()
        if self.fig.dpi != dpi:
            self.fig.set_dpi(dpi)
        key = (dpi, self.background_key())
        cache = self.__dict__.setdefault("_backgrounds", {})
        if key not in cache:
            visible = [artist.get_visible() for artist in self.dynamic]
            for artist in self.dynamic:
                artist.set_visible(False)
            canvas.draw()
            cache[key] = {"region": canvas.copy_from_bbox(self.fig.bbox),
                          "pixels": np.asarray(canvas.buffer_rgba()).copy(), "png": None,
                          "uri": None}
            for artist, shown in zip(self.dynamic, visible):
                artist.set_visible(shown)
            while len(cache) > 8:  # keep the few most recent layouts (dicts keep order)
                del cache[next(iter(cache))]
        self._bg = cache[key]
        return self._bg

    def render(self, dpi: float | None = None) -> np.ndarray:
        """(h, w, 4) RGBA pixels of the figure at `dpi` (a view into the canvas: copy to keep)."""
        self._background(dpi or self.live_dpi)
        canvas = self._canvas()
        canvas.restore_region(self._bg["region"])
        for artist in self.dynamic:
            self.fig.draw_artist(artist)
        return np.asarray(canvas.buffer_rgba())

    def png(self, dpi: float | None = None) -> bytes:
        """PNG bytes of the current figure, fast to encode."""
        return _fast_png(self.render(dpi))

    def svg(self) -> bytes:
        """The live widget's image: an SVG document with the static part as one embedded PNG
        (at live_dpi, encoded once per axis layout) and the dynamic artists as vector elements
        that the browser draws (sharp at any zoom).

        A slider move then costs no rasterising and no encoding of the whole figure: only the
        curves' coordinates (matplotlib's own transforms) and the heat map's few pixels. The
        static part is reduced to 255 colours (about 9 KB instead of 30 KB unreduced; each move
        sends it again, inside the SVG).
        """
        dpi = self.live_dpi
        bg = self._background(dpi)
        if bg["uri"] is None:
            bg["uri"] = "data:image/png;base64," + base64.b64encode(
                _palette_png(bg["pixels"], 255)).decode("ascii")
        width, height = self.fig.bbox.width, self.fig.bbox.height  # device pixels at dpi
        parts = [f'<svg xmlns="http://www.w3.org/2000/svg" '
                 f'xmlns:xlink="http://www.w3.org/1999/xlink" '
                 f'width="{width:.0f}" height="{height:.0f}" '
                 f'viewBox="0 0 {width:.0f} {height:.0f}">'
                 f'<image x="0" y="0" width="{width:.0f}" height="{height:.0f}" '
                 f'xlink:href="{bg["uri"]}"/>']
        clips: dict[tuple, str] = {}
        for artist in sorted(self.dynamic, key=lambda a: a.get_zorder()):  # as Agg draws them
            if artist.get_visible():
                parts.append(_svg_artist(artist, height, dpi, clips))
        parts.insert(1, "<defs>" + "".join(
            f'<clipPath id="{name}"><rect x="{x:.2f}" y="{y:.2f}" width="{w:.2f}" '
            f'height="{h:.2f}"/></clipPath>' for (x, y, w, h), name in clips.items()) + "</defs>")
        parts.append("</svg>")
        return "".join(parts).encode()

    def png_layers(self, dpi: float | None = None, colors: int = 32) -> tuple[bytes, bytes]:
        """(background, foreground) PNGs: the static part, and the pixels the dynamic artists
        changed, transparent elsewhere. Stacked, they give ``render(dpi)`` up to the palette:
        `colors` for the foreground (a frame's few curves), twice that for the shared
        background (antialiased text)."""
        full = self.render(dpi or self.frame_dpi)
        bg = self._bg
        same = np.all(full == bg["pixels"], axis=-1)
        if bg["png"] is None:  # encoded once per axis layout
            bg["png"] = _palette_png(bg["pixels"], 2 * colors)
        return bg["png"], _palette_png(full, colors, same)


# -- the live image's vector layer ------------------------------------------------------------
# Each function turns one matplotlib artist into SVG markup in device pixels (y downwards) with
# the artist's own transform, colours and line widths (points → pixels at `dpi`).


def _svg_artist(artist, height: float, dpi: float, clips: dict) -> str:
    if isinstance(artist, Line2D):
        return _svg_line(artist, height, dpi, _svg_clip(artist, height, clips))
    if isinstance(artist, AxesImage):
        return _svg_image(artist, height, _svg_clip(artist, height, clips))
    if isinstance(artist, Text):
        return _svg_text(artist, height, dpi)
    if isinstance(artist, Patch):  # e.g. the spines drawn over the heat map
        return _svg_patch(artist, height, dpi)
    raise TypeError(f"no SVG for a dynamic artist of type {type(artist).__name__}")


def _svg_clip(artist, height: float, clips: dict) -> str:
    box = artist.get_clip_box()
    if not artist.get_clip_on() or box is None:
        return ""
    key = (box.x0, height - box.y1, box.width, box.height)
    name = clips.setdefault(key, f"clip{len(clips)}")
    return f' clip-path="url(#{name})"'


def _svg_xy(xy: np.ndarray, height: float) -> np.ndarray:
    return np.column_stack([xy[:, 0], height - xy[:, 1]])


def _svg_line(line: Line2D, height: float, dpi: float, clip: str) -> str:
    xy = _svg_xy(line.get_transform().transform(line.get_xydata()), height)
    px = dpi / 72.0
    colour = to_hex(line.get_color())
    out = []
    style = line.get_linestyle()
    if style not in ("None", "", " ", "none") and len(xy):
        dash = ""
        if style == "--":
            lw = line.get_linewidth()
            dash = ' stroke-dasharray="' + " ".join(
                f"{v * lw * px:.2f}" for v in mpl.rcParams["lines.dashed_pattern"]) + '"'
        cap = "butt" if style == "--" else {"projecting": "square"}.get(
            line.get_solid_capstyle(), line.get_solid_capstyle())
        # NaN (a norm that is exactly zero) breaks the line, as in matplotlib
        ok = np.isfinite(xy).all(axis=1)
        for run in np.split(np.arange(len(xy)), np.flatnonzero(np.diff(ok)) + 1):
            if ok[run[0]] and len(run) > 1:
                points = " ".join(f"{x:.2f},{y:.2f}" for x, y in xy[run])
                out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" '
                           f'stroke-width="{line.get_linewidth() * px:.2f}" '
                           f'stroke-linejoin="round" stroke-linecap="{cap}"{dash}{clip}/>')
    marker = MarkerStyle(line.get_marker())
    if marker.get_marker() not in ("None", "", " ", "none", None):
        size = line.get_markersize() * px
        shape = marker.get_path().transformed(
            marker.get_transform() + Affine2D().scale(size, -size))
        d = _svg_path_data(np.asarray(shape.vertices), shape.codes)
        face, edge = to_hex(line.get_markerfacecolor()), to_hex(line.get_markeredgecolor())
        for x, y in xy[np.isfinite(xy).all(axis=1)]:
            out.append(f'<path d="{d}" transform="translate({x:.2f},{y:.2f})" fill="{face}" '
                       f'stroke="{edge}" stroke-width="{line.get_markeredgewidth() * px:.2f}"'
                       f"{clip}/>")
    return "".join(out)


def _svg_path_data(vertices: np.ndarray, codes) -> str:
    """SVG path data of a polygonal matplotlib path (MOVETO, LINETO, CLOSEPOLY)."""
    out = []
    for i, (x, y) in enumerate(vertices):
        code = Path.LINETO if codes is None and i else (Path.MOVETO if codes is None
                                                         else codes[i])
        if code == Path.CLOSEPOLY:
            out.append("Z")
        else:
            out.append(f"{'M' if code == Path.MOVETO else 'L'}{x:.2f},{y:.2f}")
    return " ".join(out)


def _svg_image(image: AxesImage, height: float, clip: str) -> str:
    """An image as its own pixels, scaled by the browser without smoothing (as 'nearest')."""
    rgba = np.asarray(image.get_array())
    if rgba.ndim != 3:  # scalar data: colour it as matplotlib would
        rgba = image.to_rgba(rgba, bytes=True)
    if image.origin == "lower":
        rgba = rgba[::-1]
    x0, x1, y0, y1 = image.get_extent()
    (a, b), (c, d) = image.axes.transData.transform([(x0, y0), (x1, y1)])
    left, right = min(a, c), max(a, c)
    top, bottom = height - max(b, d), height - min(b, d)
    uri = "data:image/png;base64," + base64.b64encode(
        _fast_png(np.ascontiguousarray(rgba))).decode("ascii")
    return (f'<image x="{left:.2f}" y="{top:.2f}" width="{right - left:.2f}" '
            f'height="{bottom - top:.2f}" preserveAspectRatio="none" '
            f'style="image-rendering:pixelated;image-rendering:crisp-edges" '
            f'xlink:href="{uri}"{clip}/>')


def _svg_patch(patch: Patch, height: float, dpi: float) -> str:
    path = patch.get_path().transformed(patch.get_transform())
    vertices = _svg_xy(np.asarray(path.vertices), height)
    return (f'<path d="{_svg_path_data(vertices, path.codes)}" fill="none" '
            f'stroke="{to_hex(patch.get_edgecolor())}" '
            f'stroke-width="{patch.get_linewidth() * dpi / 72:.2f}" stroke-linecap="square"/>')


def _svg_text(text: Text, height: float, dpi: float) -> str:
    """Centred text in a rounded white box (the heat map's overflow note)."""
    lines = text.get_text().split("\n")
    if not any(lines):
        return ""
    size = float(text.get_fontsize()) * dpi / 72
    x, y = text.get_transform().transform(text.get_position())
    y = height - y
    # matplotlib's round box: the text (DejaVu Sans, ~0.53 em a character) plus 0.3 em a side
    w = 0.53 * size * max(len(line) for line in lines) + 0.6 * size
    h = 1.2 * size * (len(lines) - 1) + 1.17 * size + 0.6 * size
    spans = "".join(f'<tspan x="{x:.2f}" dy="{0 if i == 0 else 1.2 * size:.2f}">'
                    f"{html.escape(line)}</tspan>" for i, line in enumerate(lines))
    first = y - 0.6 * size * (len(lines) - 1) + 0.35 * size
    return (f'<rect x="{x - w / 2:.2f}" y="{y - h / 2:.2f}" width="{w:.2f}" height="{h:.2f}" '
            f'rx="{0.3 * size:.2f}" fill="white" fill-opacity="0.9" stroke="black"/>'
            f'<text x="{x:.2f}" y="{first:.2f}" font-family="DejaVu Sans, sans-serif" '
            f'font-size="{size:.2f}" text-anchor="middle" fill="{to_hex(text.get_color())}">'
            f"{spans}</text>")


def regime_text(lambda_gamma: float) -> str:
    """What Pascanu et al. (2013) let us conclude from λ₁γ (and what they do not)."""
    if np.isclose(lambda_gamma, 1.0, rtol=1e-9, atol=0):
        return "λ₁γ = 1: no explosion possible (bound = 1), but vanishing is not guaranteed"
    if lambda_gamma < 1:
        return f"λ₁γ = {lambda_gamma:.2f} < 1: vanishing guaranteed (sufficient condition)"
    return f"λ₁γ = {lambda_gamma:.2f} > 1: explosion possible (necessary, not sufficient)"


def fixed_log10_limits(T: int) -> tuple[float, float]:
    """The explorer's fixed y-range for length T: ±(T/2 + 1) decades.

    It holds every curve whose per-step factor lies between 10^−½ ≈ 0.32 and 10^½ ≈ 3.2, and it
    depends on T only, so curves for different ρ are drawn on the same scale.
    """
    half = T / 2 + 1
    return -half, half


def _fmt_pow10(log10_value: float) -> str:
    if np.isneginf(log10_value):
        return "0 (exactly)"
    if np.isposinf(log10_value):
        return "∞"
    return f"10^{log10_value:.1f}"


class GradientFlowFigure(LayeredFigure):
    """Two panels: log10 ‖∂h_T/∂h_k‖ against k with the Pascanu bound, and a heat map of the
    hidden states h_t (one row a unit), readable for any T.

    ``update(flow, scale)`` only moves existing artists; ``caption`` holds the text that goes
    with the frame (regime, measured ‖∂h_T/∂h_0‖). The last drawn values are kept in
    ``plotted`` so a test can compare them with the analysis.
    """

    n_units = 16  # rows of the heat map

    def __init__(self, figsize=(8.0, 3.4)) -> None:
        self.fig = Figure(figsize=figsize, dpi=self.live_dpi)
        self.fig.subplots_adjust(left=0.1, right=0.93, bottom=0.15, top=0.84, wspace=0.3)
        self.ax_norm, self.ax_h = self.fig.subplots(1, 2, width_ratios=[1.35, 1])
        (self.norm_line,) = self.ax_norm.plot([], [], color=COLORS["norm"], lw=2,
                                              label=r"$\|\partial h_T/\partial h_k\|_2$ measured")
        (self.bound_line,) = self.ax_norm.plot([], [], color=COLORS["bound"], lw=1.5, ls="--",
                                               label=r"bound $(\lambda_1\gamma)^{T-k}$")
        (self.zero_marks,) = self.ax_norm.plot([], [], "v", color="k", ms=5,
                                               label="product exactly 0")
        self.ax_norm.set_xlabel("k (the step the gradient reaches)")
        self.ax_norm.set_ylabel(r"$\|\partial h_T/\partial h_k\|_2$")
        log10_axis(self.ax_norm)
        # above the axes, so that no curve is ever hidden behind it
        self.ax_norm.legend(loc="lower left", bbox_to_anchor=(0, 1.01), ncol=3, fontsize=8,
                            frameon=False, borderaxespad=0, handlelength=1.6, columnspacing=1)
        # grey: overflowed. The heat map is coloured here and handed to imshow as RGBA bytes,
        # which Agg draws in about half the time of scalar data it would colour-map itself.
        self.heat_colors = ScalarMappable(Normalize(-1, 1),
                                          plt.get_cmap("RdBu_r").with_extremes(bad="#999999"))
        self.heat = self.ax_h.imshow(np.zeros((self.n_units, 2, 4), np.uint8), aspect="auto",
                                     interpolation="nearest", origin="lower")
        self.colorbar = self.fig.colorbar(self.heat_colors, ax=self.ax_h, fraction=0.06,
                                          pad=0.03, ticks=[-1, 0, 1])
        self.h_note = self.ax_h.text(0.5, 0.5, "", transform=self.ax_h.transAxes, ha="center",
                                     va="center", color="k", fontsize=9,
                                     bbox=dict(boxstyle="round", fc="white", alpha=0.9))
        self.ax_h.set_xlabel("t")
        self.ax_h.set_ylabel("unit")
        self.ax_h.set_title(r"hidden states $h_t$", fontsize=9)
        # the heat map fills its axes; its frame (spines) is drawn on top of it, as in a full draw
        self.dynamic = [self.norm_line, self.bound_line, self.zero_marks, self.heat,
                        *self.ax_h.spines.values(), self.h_note]
        self.caption = ""
        self.plotted: dict[str, np.ndarray] = {}
        self._bounded = True

    def background_key(self) -> tuple:
        return (self.ax_norm.get_xlim(), self.ax_norm.get_ylim(), self.ax_h.get_xlim(),
                self.ax_h.get_ylim(), self._bounded)

    def update(self, flow: GradientFlow, scale: str = "fixed", title: str = "") -> None:
        """Show `flow`; scale "fixed" (depends on T only, see fixed_log10_limits) or "auto"."""
        if scale not in ("fixed", "auto"):
            raise ValueError(f"scale must be 'fixed' or 'auto'; got {scale!r}")
        k = flow.k
        norms = flow.log10_norms
        bound = flow.log10_bound
        finite = np.isfinite(norms)
        shown = np.where(finite, norms, np.nan)
        T = flow.h.shape[0]
        if scale == "fixed":
            lo, hi = fixed_log10_limits(T)
        else:
            lo = min(np.nanmin(shown) if finite.any() else -1, 0)
            hi = max(np.nanmax(shown) if finite.any() else 1, 0)
            pad = max(0.05 * (hi - lo), 0.5)
            lo, hi = lo - pad, hi + pad
        self.norm_line.set_data(k, shown)
        self.bound_line.set_data(k, bound)  # the bound may leave the frame: it is a bound
        zeros = k[np.isneginf(norms)]
        self.zero_marks.set_data(zeros, np.full(len(zeros), lo + 0.03 * (hi - lo)))
        self.plotted = {"k": k, "log10_norms": norms, "log10_bound": bound}
        self.ax_norm.set_xlim(0, T)
        self.ax_norm.set_ylim(lo, hi)

        h = flow.h[:, : self.n_units]
        ok = np.isfinite(h)
        big = float(np.max(np.abs(h[ok]))) if ok.any() else 0.0
        self._bounded = big <= 1.0
        with np.errstate(all="ignore"):
            if self._bounded:
                colour = np.where(ok, h, np.nan)
            else:  # signed log scale: ±1 is ±max|h_t|, so growth over many decades stays visible
                colour = np.where(ok, np.sign(h) * np.log1p(np.abs(h)) / np.log1p(big), np.nan)
        self.plotted["heat"] = colour.T  # (units, T) values in [−1, 1], NaN where overflowed
        self.heat.set_data(self.heat_colors.to_rgba(colour.T, bytes=True))  # NaN: grey
        self.heat.set_extent((0.5, T + 0.5, -0.5, h.shape[1] - 0.5))
        self.ax_h.set_xlim(0.5, T + 0.5)
        self.ax_h.set_ylim(-0.5, h.shape[1] - 0.5)
        self.colorbar.set_label(r"$h_t$" if self._bounded
                                else r"sign$(h)\,\log(1+|h|)$, scaled", fontsize=9)
        bad = ~np.isfinite(flow.h).all(axis=1)
        self.h_note.set_text(f"hidden state overflowed\nto ±inf/NaN from t = "
                             f"{int(np.argmax(bad)) + 1} (grey)" if bad.any() else "")
        self.h_note.set_visible(bool(bad.any()))

        parts = [title] if title else []
        parts.append(f"‖∂h_T/∂h_0‖ = {_fmt_pow10(norms[0])}, bound "
                     f"{_fmt_pow10(bound[0])}; ρ(Wh) = {flow.spectral_radius:.2f}, "
                     f"λ₁ = {flow.lambda1:.2f}, γ = {flow.gamma:g}")
        parts.append(regime_text(flow.lambda1 * flow.gamma))
        if len(zeros):
            parts.append("▼ the product is exactly 0 (every path cut)")
        colour_note = ("= h_t" if self._bounded else
                       f"on a signed log scale, ±1 = ±max|h_t| = ±{big:.1e}")
        parts.append(f"heat map: first {h.shape[1]} units; colour {colour_note}")
        self.caption = "\n".join(parts)


def _ladder(x: float) -> float:
    """The smallest of 1, 2, 5, 10, 20, 50, … that is at least x (x > 0)."""
    decade = 10.0 ** np.floor(np.log10(x))
    return float(next(m * decade for m in (1, 2, 5, 10) if m * decade >= x))


class CellComparisonFigure(LayeredFigure):
    """log10 ‖∂L/∂state_k‖ against k for several cells (vanilla RNN, LSTM cell path, GRU …)."""

    def __init__(self, labels: list[str], figsize=(7.0, 3.2)) -> None:
        self.fig = Figure(figsize=figsize, dpi=self.live_dpi)
        self.fig.subplots_adjust(left=0.12, right=0.98, bottom=0.15, top=0.95)
        self.ax = self.fig.subplots()
        self.lines = {lab: self.ax.plot([], [], lw=2, color=CYCLE[i % len(CYCLE)], label=lab)[0]
                      for i, lab in enumerate(labels)}
        self.ax.set_xlabel("k (the step the gradient reaches)")
        self.ax.set_ylabel(r"$\|\partial L/\partial s_k\|$")
        log10_axis(self.ax)
        self.ax.legend(loc="lower right", fontsize=8)
        self.dynamic = list(self.lines.values())
        self.caption = ""
        self.plotted: dict[str, np.ndarray] = {}

    def background_key(self) -> tuple:
        return (self.ax.get_xlim(), self.ax.get_ylim())

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
        # limits from a 1-2-5 ladder, so that nearby settings share the static layer (axes, ticks)
        self.ax.set_ylim(-_ladder(pad - lo), _ladder(hi + pad))
        self.caption = title


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


# -- Inside a trained network (chapter 6): text coloured by a unit, gate saturation ------------

def text_activation(text: str, values, *, vmin: float | None = None,
                    vmax: float | None = None, title: str | None = None,
                    cmap: str = "coolwarm", fontsize: float = 8.5, ax=None):
    """Draw `text` line by line, each character on a cell coloured by its value (Karpathy,
    Johnson & Fei-Fei 2015, Fig. 2). Chapter 6.

    text:   T characters (its own line breaks start new rows; a newline is drawn as ⏎)
    values: (T,) one value per character, e.g. a cell state c_t after reading that character
    vmin:   value drawn in full blue (default: the 2nd percentile of `values`)
    vmax:   value drawn in full red (default: the 98th percentile of `values`)
    The scale runs from the passage's own low to its own high values, so a unit whose state
    never changes sign still shows where it is high and where it is low. Returns the axis.
    """
    values = np.asarray(values, dtype=float)
    if values.shape != (len(text),):
        raise ValueError(f"values must have shape (T={len(text)},), one per character; "
                         f"got {values.shape}")
    rows, cols, grid_row, grid_col = [], [], 0, 0
    for ch in text:
        rows.append(grid_row)
        cols.append(grid_col)
        grid_row, grid_col = (grid_row + 1, 0) if ch == "\n" else (grid_row, grid_col + 1)
    n_rows, n_cols = max(rows) + 1, max(cols) + 1
    grid = np.full((n_rows, n_cols), np.nan)
    grid[rows, cols] = values
    lo = float(np.percentile(values, 2)) if vmin is None else vmin
    hi = float(np.percentile(values, 98)) if vmax is None else vmax
    if hi <= lo:
        hi = lo + 1.0
    if ax is None:
        _, ax = plt.subplots(figsize=(0.105 * n_cols + 0.3, 0.2 * n_rows + 0.5))
    ax.imshow(grid, cmap=cmap, vmin=lo, vmax=hi, aspect="auto", interpolation="nearest",
              alpha=0.8)
    for ch, r, c in zip(text, rows, cols):
        ax.text(c, r, "⏎" if ch == "\n" else ch, ha="center", va="center",
                fontsize=fontsize, family="monospace", color="#444" if ch == "\n" else "black")
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    if title:
        ax.set_title(title, fontsize=9, loc="left")
    return ax


def saturation_scatter(fractions: dict, *, others: dict | None = None,
                       labels: tuple[str, str] = ("trained", "untrained"), axes=None):
    """The gate-saturation scatter of Karpathy, Johnson & Fei-Fei (2015), Fig. 3: one panel a
    gate, one point a unit at (fraction of steps left-saturated, fraction right-saturated).
    Chapter 6.

    fractions: gate name -> (left, right), each (H,), as from
               ``interpret.saturation_fractions``
    others:    the same for a second model (e.g. untrained), drawn in grey behind
    labels:    legend names of `fractions` and `others`
    Returns the array of axes.
    """
    if axes is None:
        _, axes = plt.subplots(1, len(fractions), figsize=(3.2 * len(fractions), 3.3),
                               sharex=True, sharey=True)
    axes = np.atleast_1d(axes)
    names = {"i": "input gate", "f": "forget gate", "o": "output gate"}
    for ax, (gate, (left, right)) in zip(axes, fractions.items()):
        ax.plot([0, 1], [1, 0], color="#bbb", lw=0.8)  # left + right = 1: always saturated
        if others is not None:
            ax.scatter(*others[gate], s=14, color="#999", alpha=0.6, label=labels[1])
        ax.scatter(left, right, s=14, color=CYCLE[0], alpha=0.7, label=labels[0])
        ax.set_xlim(-0.03, 1.03)
        ax.set_ylim(-0.03, 1.03)
        ax.set_aspect("equal")
        ax.set_title(names.get(gate, gate), fontsize=10)
        ax.set_xlabel("fraction left-saturated (< 0.1)")
    axes[0].set_ylabel("fraction right-saturated (> 0.9)")
    axes[0].legend(fontsize=8, loc="upper right")
    return axes


class AttentionExplorerFigure(LayeredFigure):
    """Chapter 6's explorer: exact match against string length for each model (left) and the
    attention weights of one held-out string (right).

    The left panel's background holds every model's mean over seeds with its min–max band; the
    chosen model's seed curve, its mean at the chosen length and a line at that length are the
    dynamic part. The right panel has no ticks (its limits follow the string length without
    changing the background); the letters are dynamic text, so one background serves every frame.
    """

    def __init__(self, lengths: np.ndarray, curves: dict[str, np.ndarray], colors: dict[str, str],
                 max_out: int, figsize=(9.0, 3.7)) -> None:
        self.fig = Figure(figsize=figsize, dpi=self.live_dpi)
        self.fig.subplots_adjust(left=0.07, right=0.95, bottom=0.15, top=0.86, wspace=0.28)
        self.ax_acc, self.ax_map = self.fig.subplots(1, 2, width_ratios=[1.25, 1])
        self.colors = dict(colors)
        lengths = np.asarray(lengths)
        for name, acc in curves.items():  # acc: (seeds, lengths)
            color = self.colors[name]
            self.ax_acc.plot(lengths, acc.mean(axis=0), "o-", ms=3, lw=1.5, color=color,
                             label=f"{name}: mean")
            self.ax_acc.fill_between(lengths, acc.min(axis=0), acc.max(axis=0), color=color,
                                     alpha=0.15, lw=0)
        (self.seed_line,) = self.ax_acc.plot([], [], "--", lw=1.2, color="k")
        self.length_line = self.ax_acc.axvline(lengths[0], color="#777777", lw=1, ls=":")
        (self.mean_mark,) = self.ax_acc.plot([], [], "o", ms=9, mfc="none", mew=2, color="k")
        self.ax_acc.set_xlim(lengths[0] - 0.5, lengths[-1] + 0.5)
        self.ax_acc.set_ylim(-0.02, 1.02)
        self.ax_acc.set_xlabel("string length L")
        self.ax_acc.set_ylabel("exact match (greedy)")
        # legend-only proxies: what the band and the dynamic dashed curve mean
        self.ax_acc.fill_between([], [], [], color="#999999", alpha=0.3, lw=0,
                                 label="min–max over seeds")
        self.ax_acc.plot([], [], "--", lw=1.2, color="#555555", label="the chosen seed")
        self.ax_acc.legend(loc="lower left", bbox_to_anchor=(0, 1.01), ncol=2, fontsize=8,
                           frameon=False, borderaxespad=0)
        self.heat = self.ax_map.imshow(np.zeros((2, 2)), cmap="Blues", vmin=0, vmax=1,
                                       interpolation="nearest", aspect="auto")
        self.fig.colorbar(self.heat, ax=self.ax_map, fraction=0.06, pad=0.03, ticks=[0, 0.5, 1])
        (self.mirror,) = self.ax_map.plot([], [], "s", ms=4, mfc="none", mec="#d62728", mew=1)
        self.ax_map.set_xticks([])
        self.ax_map.set_yticks([])
        self.ax_map.set_xlabel("input letter", labelpad=14)
        self.ax_map.set_ylabel("output letter (greedy)", labelpad=14)
        self.ax_map.set_title("attention weights α (□: mirrored position)", fontsize=9)
        below = self.ax_map.get_xaxis_transform()  # x in data, y in axes coordinates
        beside = self.ax_map.get_yaxis_transform()  # x in axes, y in data coordinates
        n_in = int(lengths.max())
        self.in_letters = [self.ax_map.text(0, -0.02, "", transform=below, ha="center", va="top",
                                            fontsize=8, clip_on=False) for _ in range(n_in)]
        self.out_letters = [self.ax_map.text(-0.02, 0, "", transform=beside, ha="right",
                                             va="center", fontsize=8, clip_on=False)
                            for _ in range(max_out)]
        self.note = self.ax_map.text(0.5, 0.5, "", transform=self.ax_map.transAxes, ha="center",
                                     va="center", fontsize=9, wrap=True,
                                     bbox=dict(boxstyle="round", fc="white", alpha=0.9))
        self.dynamic = [self.seed_line, self.length_line, self.mean_mark, self.heat,
                        self.mirror, *self.ax_map.spines.values(), *self.in_letters,
                        *self.out_letters, self.note]
        self.caption = ""
        self.plotted: dict[str, object] = {}

    def background_key(self) -> tuple:
        # nothing static depends on the settings: one background for every frame
        return ()

    def update(self, model: str, length: int, mean_at_length: float, seed_lengths: np.ndarray,
               seed_acc: np.ndarray, source: str, outputs: list[str],
               weights: np.ndarray | None, caption: str = "") -> None:
        """model: the chosen model's name (a key of `colors`); length: the chosen L;
        mean_at_length: its mean exact match there; seed_lengths, seed_acc: (L,) one seed's
        curve; source: the input string; outputs: the output symbols, one per map row;
        weights: (T_out, S) attention weights, or None for a model without attention."""
        color = self.colors[model]
        self.seed_line.set_data(seed_lengths, seed_acc)
        self.seed_line.set_color(color)
        self.length_line.set_xdata([length, length])
        self.mean_mark.set_data([length], [mean_at_length])
        self.mean_mark.set_color(color)
        S = len(source)
        rows = len(outputs)
        self.ax_map.set_xlim(-0.5, S - 0.5)
        self.ax_map.set_ylim(rows - 0.5, -0.5)
        if weights is None:  # nothing to show: a transparent map under the note
            self.heat.set_data(np.zeros((rows, S)))
            self.heat.set_alpha(0.0)
            self.mirror.set_data([], [])
            self.note.set_text("no attention:\nthe decoder reads the input\nonly through the "
                               "encoder's\nfinal state h_S")
        else:
            self.heat.set_data(weights)
            self.heat.set_alpha(None)
            t = np.arange(min(S, sum(out != "</s>" for out in outputs)))
            self.mirror.set_data(S - 1 - t, t)
            self.note.set_text("")
        self.heat.set_extent((-0.5, S - 0.5, rows - 0.5, -0.5))
        for j, text in enumerate(self.in_letters):
            text.set_text(source[j] if j < S else "")
            text.set_x(j)
        for row, text in enumerate(self.out_letters):
            text.set_text(outputs[row] if row < rows else "")
            text.set_y(row)
        self.plotted = {"model": model, "length": length, "weights": weights,
                        "seed_acc": np.asarray(seed_acc), "outputs": list(outputs)}
        self.caption = caption
