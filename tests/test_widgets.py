"""The explorers: driven through their update function with extreme settings; the figure data
must be what rnnlab.analysis computes, and non-finite values must be shown, not crash."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from rnnlab import analysis, experiments, widgets


@pytest.fixture(scope="module")
def explorer():
    return widgets.gradient_explorer(T=50, H=16)


@pytest.mark.parametrize("settings", [
    dict(rho=3.0, T=500, H=64, activation="linear"),  # norms ~ 10^238: beyond any plot, finite log
    dict(rho=3.0, T=500, H=8, activation="relu"),
    dict(rho=0.1, T=500, H=64, activation="tanh"),  # ~ 10^-500: below float64, still plotted
    dict(rho=1.0, T=5, H=2, activation="tanh", seed=7),
    dict(rho=2.0, T=300, H=32, activation="tanh", matrix="gaussian"),
    dict(rho=5.0, T=200, H=32, activation="sigmoid"),  # γ = 1/4: λ₁γ = 1.25
    dict(rho=1.0, T=100, H=16, activation="tanh", scale="auto"),
])
def test_update_plots_what_analysis_computes(explorer, settings):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flow = explorer.update(**settings)
        png = explorer.figure.png()
    s = explorer.settings
    expected = experiments.gradient_flow_setting(s["rho"], s["T"], s["H"], s["activation"],
                                                 s["seed"], s["matrix"], max_points=64)
    np.testing.assert_array_equal(flow.log10_norms, expected.log10_norms)
    plotted = explorer.figure.plotted
    np.testing.assert_array_equal(plotted["log10_norms"], expected.log10_norms)
    np.testing.assert_array_equal(plotted["log10_bound"], expected.log10_bound)
    x, y = explorer.figure.norm_line.get_data()
    finite = np.isfinite(expected.log10_norms)
    np.testing.assert_array_equal(np.asarray(y)[finite], expected.log10_norms[finite])
    assert png.startswith(b"\x89PNG")
    # the caption prints the measured ‖∂h_T/∂h_0‖ of this setting
    if np.isfinite(expected.log10_norms[0]):
        assert f"‖∂h_T/∂h_0‖ = 10^{expected.log10_norms[0]:.1f}" in explorer.figure.caption
    # spot-check against a direct, full-resolution analysis
    full = analysis.rnn_gradient_flow(*_setting_arrays(s), s["activation"])
    np.testing.assert_allclose(expected.log10_norms, full.log10_norms[expected.k], rtol=1e-12)


def _setting_arrays(s):
    from rnnlab import init

    rng = np.random.default_rng(s["seed"])
    Wh = init.recurrent_matrix(s["H"], s["rho"], rng, kind=s["matrix"])
    Wx = 0.5 * rng.standard_normal((1, s["H"]))
    x = rng.standard_normal((s["T"], 1))
    return x, np.zeros(s["H"]), Wx, Wh, np.zeros(s["H"])


def test_overflowed_states_are_labelled(explorer):
    # 3^1000 ≈ 10^477 overflows float64 (the slider stops at 500; update() takes any T)
    explorer.update(rho=3.0, T=1000, H=16, activation="linear", matrix="orthogonal")
    assert "overflowed" in explorer.figure.h_note.get_text()
    assert "explosion possible" in explorer.figure.caption
    explorer.update(rho=0.5, T=50, activation="tanh")
    assert explorer.figure.h_note.get_text() == ""
    assert "vanishing guaranteed" in explorer.figure.caption


def test_sigmoid_is_offered_with_its_gamma(explorer):
    assert "sigmoid" in explorer.controls["activation"].options
    flow = explorer.update(rho=3.0, T=50, activation="sigmoid")
    assert flow.gamma == 0.25
    assert "λ₁γ = 0.75 < 1: vanishing guaranteed" in explorer.figure.caption
    explorer.update(activation="tanh")


def test_fixed_scale_depends_on_T_only(explorer):
    """With the fixed scale, ρ = 0.5 and ρ = 3 are drawn on the same axes (issue 10)."""
    from rnnlab.plots import fixed_log10_limits

    limits = []
    for rho in (0.5, 3.0):
        explorer.update(rho=rho, T=100, activation="tanh", scale="fixed")
        limits.append(explorer.figure.ax_norm.get_ylim())
    assert limits[0] == limits[1] == fixed_log10_limits(100)
    explorer.update(rho=0.5, scale="auto")
    assert explorer.figure.ax_norm.get_ylim() != limits[0]
    with pytest.raises(ValueError, match="scale"):
        explorer.figure.update(explorer.data, scale="log")
    explorer.update(rho=1.0, scale="fixed")


def test_blitted_frame_equals_a_full_redraw(explorer):
    """The cached background + blitted curves give the same pixels as drawing everything."""
    explorer.update(rho=1.5, T=100, activation="tanh", scale="fixed")
    explorer.figure.render(50)                 # fill the cache at this layout ...
    explorer.update(rho=0.9)                   # ... then move ρ: only the curves are redrawn
    blitted = explorer.figure.render(50).copy()
    explorer.figure.fig.canvas.draw()          # everything, from scratch
    full = np.asarray(explorer.figure.fig.canvas.buffer_rgba())
    assert np.mean(np.any(blitted != full, axis=-1)) < 1e-3  # antialiasing order at most


def test_layers_stack_to_the_frame(explorer):
    from io import BytesIO

    from PIL import Image

    explorer.update(rho=2.0, T=50, activation="tanh", scale="fixed")
    bg, fg = explorer.figure.png_layers(60)
    back = Image.open(BytesIO(bg)).convert("RGBA")
    front = Image.open(BytesIO(fg)).convert("RGBA")
    assert back.size == front.size
    alpha = np.asarray(front)[..., 3]
    assert 0 < np.mean(alpha > 0) < 0.5  # the foreground holds the curves, not the axes
    stacked = np.asarray(Image.alpha_composite(back, front))[..., :3].astype(int)
    direct = explorer.figure.render(60)[..., :3].astype(int)
    assert np.abs(stacked - direct).mean() < 3  # equal up to the 32-colour palette


def test_regime_labels_follow_pascanu():
    from rnnlab.plots import regime_text

    assert "explosion possible" in regime_text(1.5)
    assert "explodes" not in regime_text(1.5)
    assert "vanishing guaranteed" in regime_text(0.5)
    assert "no explosion possible" in regime_text(1.0)


def test_experiments_live_below_the_views():
    """The explorers' computations are in rnnlab.experiments (no matplotlib); the old names in
    widgets still work for notebooks written against them."""
    import subprocess
    import sys

    assert widgets.gradient_flow_setting is experiments.gradient_flow_setting
    assert widgets.cell_gradient_setting is experiments.cell_gradient_setting
    code = ("import sys, rnnlab.experiments; "
            "print('matplotlib' in sys.modules, 'ipywidgets' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
    with pytest.raises(ValueError, match="rho"):
        experiments.gradient_flow_setting(rho=-1.0, T=10)
    with pytest.raises(ValueError, match="activation"):
        experiments.gradient_flow_setting(rho=1.0, T=10, activation="softplus")


def test_unknown_setting_is_refused(explorer):
    with pytest.raises(ValueError, match="unknown setting"):
        explorer.update(radius=2)


def test_static_html_is_deterministic_and_complete():
    ex = widgets.gradient_explorer(T=20, H=8, static_rhos=(0.5, 2.0), static_Ts=(10, 20, 30))
    html1 = ex.static_html()
    html2 = ex.static_html()
    assert html1 == html2  # nbval compares this output: it must not change between runs
    assert html1.count('type="range"') == 2
    frames = re.search(r"var frames = (\[.*?\]);", html1).group(1)
    assert frames.count("data:image/png;base64,") == 6
    # one background per axis layout: the fixed y-scale depends on T only (3 values)
    backgrounds = re.search(r"var backgrounds = (\[.*?\]);", html1).group(1)
    assert backgrounds.count("data:image/png;base64,") == 3
    # the uneven ρ values are labelled on the track, and each frame has its caption
    assert ">0.50</span>" in html1 and ">2.00</span>" in html1
    captions = re.search(r"var captions = (\[.*?\]);", html1).group(1)
    assert captions.count("‖∂h_T/∂h_0‖ = 10^") == 6
    # the DOM contract of tests/test_browser.py: one img, range inputs, data-frame set by JS
    assert html1.count("<img ") == 1 and "data-frame" in html1
    assert ex.settings["T"] == 20  # precomputing frames restores the reader's settings


def test_mimebundle_offers_live_and_static():
    ex = widgets.gradient_explorer(T=10, H=4, static_rhos=(1.0,), static_Ts=(10,))
    bundle = ex._repr_mimebundle_()
    assert "text/html" in bundle and "rnnlab-explorer" in bundle["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("<gradient flow explorer")


def test_memory_explorer_update():
    ex = widgets.memory_explorer(T=30, H=8, static_Ts=(10,), static_biases=(1.0,))
    curves = ex.update(T=60, forget_bias=5.0)
    assert set(curves) == set(ex.figure.plotted)
    assert all(len(v) == 61 for v in curves.values())
    # with f ≈ σ(5) the cell path keeps the gradient far better than the vanilla RNN
    assert curves["LSTM: c (cell path only)"][0] > curves["vanilla RNN: h"][0]


@pytest.mark.parametrize("notebook, limit", [
    ("chapters/04_vanishing_exploding/vanishing_exploding.ipynb", 470_000),
    ("chapters/05_lstm_gru/lstm_gru.ipynb", 470_000),
    ("chapters/06_applications/attention.ipynb", 350_000),
])
def test_committed_explorer_frames_stay_small(notebook, limit):
    """The built chapter 4 page must stay under 800 KB (issue 10): the explorer's inline HTML is
    most of it (the rest of that page is about 345 KB), so its size is guarded here."""
    import json
    from pathlib import Path

    nb = json.loads((Path(__file__).resolve().parents[1] / notebook).read_text())
    sizes = [len("".join(o["data"]["text/html"])) for c in nb["cells"] for o in c.get("outputs", [])
             if "rnnlab-explorer" in "".join(o.get("data", {}).get("text/html", ""))]
    assert len(sizes) == 1
    assert sizes[0] < limit, f"{notebook}: the explorer's static HTML is {sizes[0]} bytes"


def test_live_png_is_the_rendered_frame(explorer):
    """The directly written PNG decodes to exactly the pixels the figure rendered."""
    from io import BytesIO

    from PIL import Image

    explorer.update(rho=1.2, T=100, activation="tanh", scale="fixed")
    png = explorer.figure.png(60)
    pixels = explorer.figure.render(60)[..., :3]
    decoded = np.asarray(Image.open(BytesIO(png)).convert("RGB"))
    np.testing.assert_array_equal(decoded, pixels)


def _svg_elements(svg: bytes):
    import xml.etree.ElementTree as ET

    root = ET.fromstring(svg)  # well-formed XML, or this raises
    ns = "{http://www.w3.org/2000/svg}"
    return root, ns


@pytest.mark.parametrize("settings", [dict(rho=1.2, T=100, activation="tanh"),
                                      dict(rho=3.0, T=1000, activation="linear")])
def test_live_svg_holds_the_plotted_curves(explorer, settings):
    """The live image (SVG) puts the curves where matplotlib's transforms put them, the heat map
    as its own pixels over the heat axes, and the cached static part underneath."""
    from io import BytesIO

    from PIL import Image

    explorer.update(scale="fixed", H=16, **settings)
    fig = explorer.figure
    svg = fig.svg()
    root, ns = _svg_elements(svg)
    assert root.get("width") == f"{fig.fig.bbox.width:.0f}"
    images = root.findall(f"{ns}image")
    assert len(images) == 2  # the static background, then the heat map
    href = "{http://www.w3.org/1999/xlink}href"
    background = np.asarray(Image.open(BytesIO(_decode_uri(images[0].get(href)))).convert("RGB"))
    static = fig._bg["pixels"][..., :3].astype(int)
    assert background.shape == static.shape
    assert np.abs(background - static).mean() < 1  # 255 colours: close, not exact
    heat = np.asarray(Image.open(BytesIO(_decode_uri(images[1].get(href)))).convert("RGB"))
    np.testing.assert_array_equal(heat, np.asarray(fig.heat.get_array())[::-1, :, :3])
    lines = root.findall(f"{ns}polyline")
    colours = [p.get("stroke") for p in lines]
    norm = [p for p in lines if p.get("stroke") == "#1f77b4"]
    assert "#d62728" in colours and norm
    points = np.array([[float(v) for v in xy.split(",")]
                       for p in norm for xy in p.get("points").split()])
    k, y = fig.norm_line.get_data()
    ok = np.isfinite(y)
    expected = fig.ax_norm.transData.transform(np.column_stack([k, y])[ok])
    expected[:, 1] = fig.fig.bbox.height - expected[:, 1]
    np.testing.assert_allclose(points, expected, atol=0.006)  # printed to 0.01 px
    assert [p.get("stroke-dasharray") is not None for p in lines] == \
        [c == "#d62728" for c in colours]  # only the bound is dashed
    note = "".join(root.itertext())
    assert ("overflowed" in note) == bool(fig.h_note.get_visible())


def _decode_uri(uri: str) -> bytes:
    import base64

    assert uri.startswith("data:image/png;base64,")
    return base64.b64decode(uri.split(",", 1)[1])


def test_memory_explorer_live_svg():
    ex = widgets.memory_explorer(T=50, H=8)
    root, ns = _svg_elements(ex.figure.svg())
    assert len(root.findall(f"{ns}polyline")) == 4  # one curve per cell


def test_live_widget_shows_the_svg_and_follows_the_sliders():
    import ipywidgets as w

    ex = widgets.gradient_explorer(T=20, H=4, static_rhos=(1.0,), static_Ts=(20,))
    box = ex.live_widget()
    image = next(c for c in box.children if isinstance(c, w.Image))
    assert image.format == "svg+xml" and bytes(image.value).startswith(b"<svg")
    before = image.value
    slider = box.children[0].children[0]  # the spectral radius
    slider.value = 2.0
    assert ex.settings["rho"] == 2.0
    assert bytes(image.value) == ex.figure.svg() and bytes(image.value) != bytes(before)
