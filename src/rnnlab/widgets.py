"""Interactive explorers that work with a kernel *and* in the static HTML book.

An explorer is one object with two faces:

* live, in Jupyter: ipywidgets sliders; each move calls ``update(**settings)``, which recomputes
  with ``rnnlab.analysis`` and redraws the figure (``benchmarks/bench_explorer.py`` times it);
* static, in the built book (no kernel): a grid of settings is precomputed into PNG frames and
  shipped as an HTML snippet with plain ``<input type="range">`` sliders and a few lines of
  JavaScript that swap the frame, so the sliders still change the figure offline.

Displaying the object offers both (``_repr_mimebundle_``): Jupyter renders the live widget, the
book (myst-nb, configured in ``_config.yml`` to prefer text/html) renders the static frames.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnlab import analysis, init, layers
from rnnlab.activations import ACTIVATIONS
from rnnlab.plots import CellComparisonFigure, GradientFlowFigure
from rnnlab.validation import check_activation, check_positive, check_positive_int


@dataclass(frozen=True)
class Control:
    """One slider/dropdown: its label, range or options, and how it is formatted."""

    label: str
    kind: str  # "float", "int", "choice"
    low: float = 0.0
    high: float = 1.0
    step: float = 1.0
    options: tuple = ()
    fmt: str = "{}"


class Explorer:
    """A figure driven by named settings: ``update`` for code and tests, two displays for readers.

    compute(**settings) -> data; draw(data, settings) updates ``figure`` (an object with
    ``update`` and ``png``). ``static_grid`` names at most two settings and the values to
    precompute for the offline slider; the other settings stay at their initial values.
    """

    def __init__(self, name: str, figure, compute: Callable[..., Any],
                 draw: Callable[[Any, dict], None], controls: dict[str, Control],
                 initial: dict[str, Any], static_grid: dict[str, Sequence]) -> None:
        if len(static_grid) > 2:
            raise ValueError("static_grid may name at most two settings")
        self.name = name
        self.figure = figure
        self._compute = compute
        self._draw = draw
        self.controls = controls
        self.settings = dict(initial)
        self.static_grid = {k: list(v) for k, v in static_grid.items()}
        self.data = None
        self.update()

    def update(self, **changes) -> Any:
        """Recompute and redraw with some settings changed; returns the computed data."""
        unknown = set(changes) - set(self.controls)
        if unknown:
            raise ValueError(f"unknown setting(s) {sorted(unknown)}; expected some of "
                             f"{sorted(self.controls)}")
        self.settings.update(changes)
        self.data = self._compute(**self.settings)
        self._draw(self.data, self.settings)
        return self.data

    # -- static face --------------------------------------------------------------------------
    def static_html(self, dpi: int = 72) -> str:
        """HTML with precomputed frames and range sliders that work without a kernel."""
        saved = dict(self.settings)
        keys = list(self.static_grid)
        grids = [self.static_grid[k] for k in keys]
        frames = []
        for combo in np.ndindex(*[len(g) for g in grids]):
            self.update(**{k: grids[i][j] for i, (k, j) in enumerate(zip(keys, combo))})
            frames.append("data:image/png;base64,"
                          + base64.b64encode(self.figure.png(dpi)).decode("ascii"))
        self.update(**saved)
        uid = "rnnlab-" + hashlib.sha1(
            json.dumps([self.name, saved, self.static_grid], sort_keys=True, default=str)
            .encode()).hexdigest()[:10]
        start = [_closest(g, saved[k]) for k, g in zip(keys, grids)]
        sliders = []
        for i, k in enumerate(keys):
            c = self.controls[k]
            labels = [c.fmt.format(v) for v in grids[i]]
            sliders.append(
                f'<label style="display:block;margin:2px 0">{html.escape(c.label)}: '
                f'<input type="range" class="{uid}-s" data-axis="{i}" min="0" '
                f'max="{len(grids[i]) - 1}" step="1" value="{start[i]}" '
                f'aria-label="{html.escape(c.label)}" style="vertical-align:middle;width:16em"> '
                f'<output class="{uid}-v" data-labels=\'{html.escape(json.dumps(labels))}\'>'
                f"{html.escape(labels[start[i]])}</output></label>")
        fixed = ", ".join(f"{self.controls[k].label} = {self.controls[k].fmt.format(v)}"
                          for k, v in saved.items() if k not in self.static_grid)
        flat = sum(s * int(np.prod([len(g) for g in grids[i + 1:]])) for i, s in enumerate(start))
        return f"""<div class="rnnlab-explorer" id="{uid}">
<img id="{uid}-img" src="{frames[flat]}" alt="{html.escape(self.name)}" style="max-width:100%">
{''.join(sliders)}<p style="font-size:85%;margin:2px 0">Precomputed frames (static page);
fixed: {html.escape(fixed)}. Run the notebook for the live version with every setting.</p>
<script>
(function () {{
  var frames = {json.dumps(frames)};
  var sizes = {json.dumps([len(g) for g in grids])};
  var root = document.getElementById("{uid}");
  var img = document.getElementById("{uid}-img");
  var sliders = root.querySelectorAll("input.{uid}-s");
  var outs = root.querySelectorAll("output.{uid}-v");
  function show() {{
    var flat = 0;
    for (var i = 0; i < sliders.length; i++) {{
      var v = parseInt(sliders[i].value, 10);
      flat = flat * sizes[i] + v;
      outs[i].textContent = JSON.parse(outs[i].getAttribute("data-labels"))[v];
    }}
    img.src = frames[flat];
    img.setAttribute("data-frame", String(flat));
  }}
  for (var i = 0; i < sliders.length; i++) {{ sliders[i].addEventListener("input", show); }}
}})();
</script>
</div>"""

    # -- live face ----------------------------------------------------------------------------
    def live_widget(self):
        """An ipywidgets box: sliders bound to ``update`` and an Image showing the figure."""
        import ipywidgets as w

        image = w.Image(value=self.figure.png(), format="png")
        controls = {}
        for key, c in self.controls.items():
            value = self.settings[key]
            common = dict(description=c.label, value=value, continuous_update=False,
                          style={"description_width": "initial"})
            if c.kind == "float":
                controls[key] = w.FloatSlider(min=c.low, max=c.high, step=c.step, **common)
            elif c.kind == "int":
                controls[key] = w.IntSlider(min=int(c.low), max=int(c.high), step=int(c.step),
                                            **common)
            else:
                common.pop("continuous_update")
                controls[key] = w.Dropdown(options=list(c.options), **common)

        def on_change(change):
            self.update(**{k: ctl.value for k, ctl in controls.items()})
            image.value = self.figure.png()

        for ctl in controls.values():
            ctl.observe(on_change, names="value")
        return w.VBox([w.HBox(list(controls.values())[:3]), w.HBox(list(controls.values())[3:]),
                       image])

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.settings.items())
        return f"<{self.name} explorer: {shown}>"

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {"text/plain": repr(self), "text/html": self.static_html()}
        try:
            live = self.live_widget()
        except ImportError:  # ipywidgets missing: the static frames still work
            return bundle
        live_bundle = live._repr_mimebundle_(include=include, exclude=exclude) or {}
        if "application/vnd.jupyter.widget-view+json" in live_bundle:
            bundle["application/vnd.jupyter.widget-view+json"] = \
                live_bundle["application/vnd.jupyter.widget-view+json"]
        return bundle


def _closest(values: Sequence, value) -> int:
    try:
        return int(np.argmin([abs(float(v) - float(value)) for v in values]))
    except (TypeError, ValueError):
        return list(values).index(value) if value in values else 0


# --------------------------------------------------------------------------------------------
# Chapter 4: spectral radius × sequence length
# --------------------------------------------------------------------------------------------


def gradient_flow_setting(rho: float, T: int, H: int = 64, activation: str = "tanh",
                          seed: int = 0, matrix: str = "orthogonal",
                          max_points: int = 128) -> analysis.GradientFlow:
    """The explorer's experiment for one setting: a random RNN with spectral radius `rho`.

    Wh: (H, H) with ρ(Wh) = rho (orthogonal × rho by default, so λ₁ = ρ; "gaussian" gives
    λ₁ ≈ 2ρ); one input channel x_t ~ N(0, 1), Wx ~ N(0, 1/4), b = 0, h_0 = 0, all from `seed`.
    The norms are measured at up to max_points + 1 evenly spaced k.
    """
    rho = check_positive("rho", rho)
    T = check_positive_int("T", T)
    H = check_positive_int("H", H)
    check_activation(activation)
    rng = np.random.default_rng(seed)
    Wh = init.recurrent_matrix(H, rho, rng, kind=matrix)
    Wx = 0.5 * rng.standard_normal((1, H))
    x = rng.standard_normal((T, 1))
    return analysis.rnn_gradient_flow(x, np.zeros(H), Wx, Wh, np.zeros(H), activation,
                                      ks=analysis.evenly_spaced_steps(T, max_points))


# The static book's grid: 7 × 5 = 35 frames (about 10 s to precompute, ~0.8 MB in the notebook).
RHO_FRAMES = (0.5, 0.9, 1.0, 1.1, 1.5, 2.0, 3.0)
T_FRAMES = (10, 50, 100, 200, 500)


def gradient_explorer(rho: float = 1.0, T: int = 100, H: int = 64, activation: str = "tanh",
                      seed: int = 0, matrix: str = "orthogonal",
                      static_rhos: Sequence[float] = RHO_FRAMES,
                      static_Ts: Sequence[int] = T_FRAMES) -> Explorer:
    """Chapter 4's explorer: ‖∂h_T/∂h_k‖ against k with the bound, and the hidden states.

    Sliders: spectral radius (0.1–3), sequence length (5–500), hidden size, activation, seed.
    The static book gets frames over static_rhos × static_Ts at the other initial settings.
    """
    fig = GradientFlowFigure()

    def compute(rho, T, H, activation, seed, matrix):
        return gradient_flow_setting(rho, T, H, activation, seed, matrix)

    def draw(flow, s):
        fig.update(flow, f"vanilla RNN, {s['activation']}, H = {s['H']}, T = {s['T']}, "
                         f"ρ = {s['rho']:.2f}, seed {s['seed']}")

    controls = {
        "rho": Control("spectral radius ρ", "float", 0.1, 3.0, 0.05, fmt="{:.2f}"),
        "T": Control("sequence length T", "int", 5, 500, 5),
        "H": Control("hidden size H", "int", 2, 128, 2),
        "activation": Control("activation", "choice", options=("tanh", "relu", "linear")),
        "seed": Control("seed", "int", 0, 20, 1),
        "matrix": Control("Wh", "choice", options=("orthogonal", "gaussian")),
    }
    initial = dict(rho=rho, T=T, H=H, activation=activation, seed=seed, matrix=matrix)
    return Explorer("gradient flow", fig, compute, draw, controls, initial,
                    {"rho": static_rhos, "T": static_Ts})


# --------------------------------------------------------------------------------------------
# Chapter 5: vanilla RNN vs LSTM vs GRU memory
# --------------------------------------------------------------------------------------------


def cell_gradient_setting(T: int, forget_bias: float = 1.0, H: int = 32, seed: int = 0,
                          weight_scale: float = 0.5) -> dict[str, np.ndarray]:
    """log10 ‖∂L/∂state_k‖, k = 0 … T, for L = u·h_T, in three cells with comparable init.

    All cells get weights ~ N(0, weight_scale²/H) from `seed`; the vanilla RNN's Wh is rescaled
    to spectral radius 1; the LSTM's forget-gate bias is `forget_bias` (large ⇒ f_t ≈ 1 ⇒ the
    additive cell path carries the gradient). Returns {"vanilla RNN: h", "LSTM: c",
    "LSTM: c (cell path only)", "GRU: h"}.
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


def memory_explorer(T: int = 100, forget_bias: float = 1.0, H: int = 32, seed: int = 0,
                    static_Ts: Sequence[int] = (10, 50, 100, 200, 400),
                    static_biases: Sequence[float] = (-1.0, 0.0, 1.0, 2.0, 3.0, 5.0)
                    ) -> Explorer:
    """Chapter 5's explorer: how far back the gradient reaches in an RNN, an LSTM and a GRU."""
    labels = ["vanilla RNN: h", "LSTM: c", "LSTM: c (cell path only)", "GRU: h"]
    fig = CellComparisonFigure(labels)

    def compute(T, forget_bias, H, seed):
        return cell_gradient_setting(T, forget_bias, H, seed)

    def draw(curves, s):
        fig.update(curves, f"T = {s['T']}, LSTM forget-gate bias = {s['forget_bias']:+.1f}, "
                           f"H = {s['H']}, seed {s['seed']}")

    controls = {
        "T": Control("sequence length T", "int", 5, 500, 5),
        "forget_bias": Control("LSTM forget-gate bias", "float", -2.0, 6.0, 0.5, fmt="{:+.1f}"),
        "H": Control("hidden size H", "int", 2, 128, 2),
        "seed": Control("seed", "int", 0, 20, 1),
    }
    return Explorer("memory", fig, compute, draw, controls,
                    dict(T=T, forget_bias=forget_bias, H=H, seed=seed),
                    {"T": static_Ts, "forget_bias": static_biases})


__all__ = ["ACTIVATIONS", "Control", "Explorer", "cell_gradient_setting", "gradient_explorer",
           "gradient_flow_setting", "memory_explorer"]
