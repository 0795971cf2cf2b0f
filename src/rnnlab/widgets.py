"""Interactive explorers that work with a kernel *and* in the static HTML book.

An explorer is one object with two faces:

* live, in Jupyter: ipywidgets sliders; each move calls ``update(**settings)``, which recomputes
  with ``rnnlab.experiments``, and sends the figure as SVG: the cached static part as one PNG,
  the curves as vectors that the browser draws (``benchmarks/bench_explorer.py`` times a move);
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

from rnnlab import attention_results as ar
from rnnlab.activations import ACTIVATIONS
from rnnlab.experiments import cell_gradient_setting, gradient_flow_setting
from rnnlab.plots import AttentionExplorerFigure, CellComparisonFigure, GradientFlowFigure


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

    compute(**settings) -> data; draw(data, settings) updates ``figure`` (a
    ``plots.LayeredFigure``: ``png``, ``png_layers`` and a text ``caption``). ``static_grid``
    names at most two settings and the values to precompute for the offline slider; the other
    settings stay at their initial values.
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
    def static_html(self, dpi: int | None = None) -> str:
        """HTML with precomputed frames and range sliders that work without a kernel.

        Each frame is two stacked PNGs at `dpi` (default the figure's frame_dpi, 160): a
        background with the axes, shared by every frame with the same axis layout, and a
        transparent foreground with only the curves. The image is shown at 100 CSS px per inch
        of figure, so it stays sharp on HiDPI screens. The changing text is HTML.
        """
        saved = dict(self.settings)
        dpi = dpi or self.figure.frame_dpi
        keys = list(self.static_grid)
        grids = [self.static_grid[k] for k in keys]
        frames, backgrounds, frame_bg, captions = [], [], [], []
        for combo in np.ndindex(*[len(g) for g in grids]):
            self.update(**{k: grids[i][j] for i, (k, j) in enumerate(zip(keys, combo))})
            bg, fg = self.figure.png_layers(dpi)
            bg_uri = _data_uri(bg)
            if bg_uri not in backgrounds:
                backgrounds.append(bg_uri)
            frame_bg.append(backgrounds.index(bg_uri))
            frames.append(_data_uri(fg))
            captions.append(self.figure.caption)
        self.update(**saved)
        uid = "rnnlab-" + hashlib.sha1(
            json.dumps([self.name, saved, self.static_grid], sort_keys=True, default=str)
            .encode()).hexdigest()[:10]
        start = [_closest(g, saved[k]) for k, g in zip(keys, grids)]
        sliders = []
        for i, k in enumerate(keys):
            c = self.controls[k]
            labels = [c.fmt.format(v) for v in grids[i]]
            n = len(labels)
            # tick labels under the thumb positions (the track is even, the values need not be)
            ticks = "".join(
                f'<span style="position:absolute;transform:translateX(-50%);'
                f'left:calc(8px + (100% - 16px) * {j}/{max(n - 1, 1)})">{html.escape(lab)}</span>'
                for j, lab in enumerate(labels))
            sliders.append(
                f'<label style="display:block;margin:4px 0">{html.escape(c.label)}: '
                f'<span style="display:inline-block;vertical-align:top;width:22em;max-width:70%">'
                f'<input type="range" class="{uid}-s" data-axis="{i}" min="0" '
                f'max="{n - 1}" step="1" value="{start[i]}" '
                f'aria-label="{html.escape(c.label)}" style="width:100%;margin:0">'
                f'<span aria-hidden="true" style="position:relative;display:block;height:1.3em;'
                f'font-size:75%;color:#555">{ticks}</span></span> '
                f'<output class="{uid}-v" data-labels=\'{html.escape(json.dumps(labels))}\'>'
                f"{html.escape(labels[start[i]])}</output></label>")
        fixed = ", ".join(f"{self.controls[k].label} = {self.controls[k].fmt.format(v)}"
                          for k, v in saved.items() if k not in self.static_grid)
        flat = sum(s * int(np.prod([len(g) for g in grids[i + 1:]])) for i, s in enumerate(start))
        width = round(self.figure.fig.get_figwidth() * 100)
        stage = ("display:inline-block;max-width:100%;line-height:0;background:#fff "
                 f"url({backgrounds[frame_bg[flat]]}) 0 0/100% 100% no-repeat")
        img_style = "display:block;max-width:100%;height:auto"
        cap_style = "white-space:pre-line;font-size:85%;margin:4px 0"
        return f"""<div class="rnnlab-explorer" id="{uid}">
<div id="{uid}-stage" style="{stage}">
<img id="{uid}-img" src="{frames[flat]}" alt="{html.escape(self.name)}" width="{width}" \
style="{img_style}">
</div>
<div id="{uid}-cap" style="{cap_style}">{html.escape(captions[flat])}</div>
{''.join(sliders)}<p style="font-size:85%;margin:2px 0">Precomputed frames (static page);
fixed: {html.escape(fixed)}. Run the notebook for the live version with every setting.</p>
<script>
(function () {{
  var frames = {json.dumps(frames)};
  var backgrounds = {json.dumps(backgrounds)};
  var frameBackground = {json.dumps(frame_bg)};
  var captions = {json.dumps(captions, ensure_ascii=False)};
  var sizes = {json.dumps([len(g) for g in grids])};
  var root = document.getElementById("{uid}");
  var img = document.getElementById("{uid}-img");
  var stage = document.getElementById("{uid}-stage");
  var cap = document.getElementById("{uid}-cap");
  var sliders = root.querySelectorAll("input.{uid}-s");
  var outs = root.querySelectorAll("output.{uid}-v");
  function show() {{
    var flat = 0;
    for (var i = 0; i < sliders.length; i++) {{
      var v = parseInt(sliders[i].value, 10);
      flat = flat * sizes[i] + v;
      outs[i].textContent = JSON.parse(outs[i].getAttribute("data-labels"))[v];
    }}
    stage.style.backgroundImage = "url(" + backgrounds[frameBackground[flat]] + ")";
    img.src = frames[flat];
    cap.textContent = captions[flat];
    img.setAttribute("data-frame", String(flat));
  }}
  for (var i = 0; i < sliders.length; i++) {{ sliders[i].addEventListener("input", show); }}
}})();
</script>
</div>"""

    # -- live face ----------------------------------------------------------------------------
    def live_widget(self):
        """An ipywidgets box: sliders bound to ``update``, the figure, and its caption as text."""
        import ipywidgets as w

        # SVG: the cached static part as one PNG, the curves as vectors (plots.LayeredFigure.svg)
        image = w.Image(value=self.figure.svg(), format="svg+xml")
        caption = w.HTML(value=_caption_html(self.figure.caption))
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
            image.value = self.figure.svg()
            caption.value = _caption_html(self.figure.caption)

        for ctl in controls.values():
            ctl.observe(on_change, names="value")
        boxes = list(controls.values())
        return w.VBox([w.HBox(boxes[:3]), w.HBox(boxes[3:]), image, caption])

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


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _caption_html(text: str) -> str:
    return ('<div style="white-space:pre-line;font-size:90%">' + html.escape(text) + "</div>")


def _closest(values: Sequence, value) -> int:
    try:
        return int(np.argmin([abs(float(v) - float(value)) for v in values]))
    except (TypeError, ValueError):
        return list(values).index(value) if value in values else 0


# --------------------------------------------------------------------------------------------
# Chapter 4: spectral radius × sequence length
# --------------------------------------------------------------------------------------------


# The static book's grid: 7 × 5 = 35 frames.
RHO_FRAMES = (0.5, 0.9, 1.0, 1.1, 1.5, 2.0, 3.0)
T_FRAMES = (10, 50, 100, 200, 500)


def gradient_explorer(rho: float = 1.0, T: int = 100, H: int = 64, activation: str = "tanh",
                      seed: int = 0, matrix: str = "orthogonal", scale: str = "fixed",
                      static_rhos: Sequence[float] = RHO_FRAMES,
                      static_Ts: Sequence[int] = T_FRAMES, max_points: int = 64) -> Explorer:
    """Chapter 4's explorer: ‖∂h_T/∂h_k‖ against k with the bound, and the hidden states.

    Sliders: spectral radius (0.1–3), sequence length (5–500), hidden size, activation
    (tanh, sigmoid, relu, linear), seed, kind of Wh, and the y-scale: "fixed" (±(T/2 + 1)
    decades, the same for every ρ, so settings can be compared) or "auto" (fits the curve).
    The static book gets frames over static_rhos × static_Ts at the other initial settings.
    The norms are measured at max_points + 1 evenly spaced k (always including k = 0 and T):
    one SVD per point is most of a slider move's cost, and 65 points draw a smooth curve.
    """
    fig = GradientFlowFigure()

    def compute(rho, T, H, activation, seed, matrix, scale):
        return gradient_flow_setting(rho, T, H, activation, seed, matrix, max_points)

    def draw(flow, s):
        fig.update(flow, s["scale"], f"vanilla RNN, {s['activation']}, H = {s['H']}, "
                                     f"T = {s['T']}, ρ = {s['rho']:.2f}, seed {s['seed']}")

    controls = {
        "rho": Control("spectral radius ρ", "float", 0.1, 3.0, 0.05, fmt="{:.2f}"),
        "T": Control("sequence length T", "int", 5, 500, 5),
        "H": Control("hidden size H", "int", 2, 128, 2),
        "activation": Control("activation", "choice", options=("tanh", "sigmoid", "relu",
                                                                 "linear")),
        "seed": Control("seed", "int", 0, 20, 1),
        "matrix": Control("Wh", "choice", options=("orthogonal", "gaussian")),
        "scale": Control("y-scale", "choice", options=("fixed", "auto")),
    }
    initial = dict(rho=rho, T=T, H=H, activation=activation, seed=seed, matrix=matrix,
                   scale=scale)
    return Explorer("gradient flow", fig, compute, draw, controls, initial,
                    {"rho": static_rhos, "T": static_Ts})


# --------------------------------------------------------------------------------------------
# Chapter 5: vanilla RNN vs LSTM vs GRU memory
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Chapter 6: seq2seq with and without attention, over string length
# --------------------------------------------------------------------------------------------


def attention_explorer(results: dict, length: int | None = None, model: str | None = None,
                       seed: int | None = None, example: int = 0) -> Explorer:
    """Chapter 6's explorer over the committed attention sweep (no training, no kernel needed).

    results: the JSON of a full run of experiments/attention_sweep.py, as a dict
    length:  the string length shown (default: the longest)
    model:   the attention of the model shown: "none", "dot" (or "additive" if the run trained
             it); default: the last model of the run
    seed:    which seed's model decodes the example (default: the first)
    example: which of the held-out strings stored for each length
    Left: exact match (greedy) against length, mean and min–max over seeds for every model, the
    chosen seed's curve dashed. Right: the chosen model's attention weights while it decodes a
    held-out string of the chosen length. The static book gets frames over length × model at
    the initial seed and example; the live widget also moves the seed and the example.
    """
    ar.check_results(results)
    meta = results["meta"]
    attentions = list(meta["attention"])
    keys = ["none" if a is None else a for a in attentions]  # the slider's values
    by_key = dict(zip(keys, attentions))
    names = [ar.model_name(a) for a in attentions]
    seeds = list(meta["seeds"])
    lengths, _ = ar.accuracy_by_length(results, attentions[0])
    acc = {name: ar.accuracy_by_length(results, a)[1] for name, a in zip(names, attentions)}
    stored = results["results"][0]["test"]["by_length"]
    n_examples = min(len(r["test"]["by_length"][0]) for r in results["results"])
    max_out = max(len(ex["greedy"]) + 1 for r in results["results"]
                  for per_length in r["test"]["by_length"] for ex in per_length)
    palette = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd")
    fig = AttentionExplorerFigure(lengths, acc, dict(zip(names, palette)), max_out)
    initial = dict(length=int(lengths[-1]) if length is None else length,
                   model=keys[-1] if model is None else model,
                   seed=seeds[0] if seed is None else seed, example=example)
    if len(stored) != len(lengths):
        raise ValueError("results store no examples per length (rerun the sweep)")

    def compute(length, model, seed, example):
        if model not in by_key:
            raise ValueError(f"model must be one of {keys}; got {model!r}")
        if seed not in seeds:
            raise ValueError(f"seed must be one of {seeds}; got {seed!r}")
        ex = ar.example(results, by_key[model], seed, int(length), int(example))
        i = int(np.flatnonzero(lengths == length)[0])
        name = ar.model_name(by_key[model])
        return dict(example=ex, i=i, name=name, seed_acc=acc[name][seeds.index(seed)])

    def draw(data, s):
        ex, i, model = data["example"], data["i"], data["name"]
        weights = ex.get("weights")
        rows = len(ex["greedy"]) + 1 if weights is None else len(weights)
        outputs = (list(ex["greedy"]) + ["</s>"])[:rows]
        mark = {True: "✓", False: "✗"}
        lines = [f"L = {s['length']}, {model}, seed {s['seed']}, held-out string "
                 f"{s['example'] + 1} of {n_examples}",
                 f"input {ex['source']}  →  wanted {ex['target']}",
                 f"greedy: {ex['greedy'] or '(empty)'} {mark[ex['greedy'] == ex['target']]}    "
                 f"beam search: {ex['beam'] or '(empty)'} {mark[ex['beam'] == ex['target']]}"]
        if weights is not None and ex["greedy"]:
            mirror = ar.mirror_weight(weights, min(len(ex["greedy"]), len(weights)))
            lines.append(f"mean weight on the mirrored input: {mirror:.2f} "
                         f"(uniform: 1/L = {1 / s['length']:.2f})")
        lines.append(f"exact match at L = {s['length']} (greedy, {len(seeds)} seeds, mean "
                     "[min, max]): " + "; ".join(
                         f"{name} {a[:, i].mean():.2f} [{a[:, i].min():.2f}, {a[:, i].max():.2f}]"
                         for name, a in acc.items()))
        fig.update(model, s["length"], float(acc[model][:, i].mean()), lengths,
                   data["seed_acc"], ex["source"], outputs, weights, "\n".join(lines))

    controls = {
        "length": Control("string length L", "int", int(lengths[0]), int(lengths[-1]), 1),
        "model": Control("attention", "choice", options=tuple(keys)),
        "seed": Control("seed", "choice", options=tuple(seeds)),
        "example": Control("held-out string", "int", 0, n_examples - 1, 1),
    }
    return Explorer("attention", fig, compute, draw, controls, initial,
                    {"length": [int(L) for L in lengths], "model": keys})


__all__ = ["ACTIVATIONS", "Control", "Explorer", "attention_explorer", "cell_gradient_setting",
           "gradient_explorer", "gradient_flow_setting", "memory_explorer"]
