"""The live explorers' SVG image in a real browser: it must look like matplotlib's own drawing.

The live widget (rnnlab.widgets.Explorer.live_widget) shows ``LayeredFigure.svg()``: the cached
static part as one PNG and the dynamic artists as SVG that the browser draws. Here headless
chromium rasterises that SVG at the figure's size and the pixels are compared with Agg's
rendering of the same figure (the blitted frame the live widget showed before). No built book is
needed; without a browser the tests skip with one line (tests/optional_parts.py).
"""

from __future__ import annotations

import base64
import sys
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from optional_parts import require

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from rnnlab import widgets  # noqa: E402
from tools import browser as browsers  # noqa: E402


@pytest.fixture(scope="module")
def page():
    found = browsers.find_chromium()
    require("browser", found is not None, browsers.why_missing())
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=found.path, args=browsers.FLAGS, headless=True)
        yield b.new_page(viewport={"width": 900, "height": 400})
        b.close()


def _browser_pixels(page, svg: bytes) -> np.ndarray:
    from PIL import Image

    uri = "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
    page.set_content(f'<html><body style="margin:0"><img id="live" src="{uri}"></body></html>')
    page.wait_for_function("document.getElementById('live').complete")
    shot = page.locator("#live").screenshot()
    return np.asarray(Image.open(BytesIO(shot)).convert("RGB")).astype(int)


@pytest.mark.parametrize("make, settings", [
    (widgets.gradient_explorer, dict(rho=1.2, T=500, H=64)),
    (widgets.gradient_explorer, dict(rho=0.5, T=50, H=64, activation="relu", scale="auto")),
    # overflow (30^220 > 10^308), with T below the heat axes' width in pixels: for longer T both
    # matplotlib and the browser skip columns, and each picks its own
    (widgets.gradient_explorer, dict(rho=30.0, T=220, H=16, activation="linear")),
    (widgets.memory_explorer, dict(T=100, H=16)),
])
def test_live_svg_looks_like_the_agg_frame(page, make, settings):
    ex = make(**settings)
    agg = ex.figure.render()[..., :3].astype(int)
    shown = _browser_pixels(page, ex.figure.svg())
    assert shown.shape == agg.shape
    diff = np.abs(shown - agg).max(axis=-1)
    heat = np.zeros(diff.shape, bool)  # the heat map's axes, if any
    if hasattr(ex.figure, "ax_h"):
        box, height = ex.figure.ax_h.bbox, agg.shape[0]
        heat[int(height - box.y1):int(np.ceil(height - box.y0)),
             int(box.x0):int(np.ceil(box.x1))] = True
    # Outside the heat map only antialiasing along the curves' edges differs: a few hundred
    # pixels; a misplaced, missing or restyled curve changes thousands (a 2-pixel line across
    # the axes alone is ~1,000 pixels of 272,000).
    assert diff[~heat].mean() < 1.5, diff[~heat].mean()
    assert (diff[~heat] > 96).mean() < 0.006, (diff[~heat] > 96).mean()
    # The heat map: the same pixels (tests/test_widgets.py decodes them), scaled by nearest
    # neighbour in both, but a column boundary may fall one screen pixel apart; a missing or
    # recoloured map would differ by ~100 on average.
    if heat.any():
        assert diff[heat].mean() < 20, diff[heat].mean()
