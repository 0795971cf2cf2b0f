"""The two drawing helpers of chapter 6, "Inside a trained network": text coloured by a unit
(one cell and one glyph per character, rows at the text's own line breaks) and the gate-saturation
scatter (one panel per gate, one point per unit)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from rnnlab import plots  # noqa: E402


def test_text_activation_places_every_character():
    text = 'ab "c"\nde\n'
    values = np.arange(len(text), dtype=float)
    ax = plots.text_activation(text, values, title="unit 3")
    glyphs = [t.get_text() for t in ax.texts]
    assert glyphs == ["a", "b", " ", '"', "c", '"', "⏎", "d", "e", "⏎"]
    grid = ax.images[0].get_array()
    assert grid.shape == (2, 7)  # two rows (the final newline opens none), longest row 7 cells
    assert grid[0, 4] == 4 and grid[1, 1] == 8 and np.ma.is_masked(grid[1, 5])
    lo, hi = ax.images[0].get_clim()
    assert lo == pytest.approx(np.percentile(values, 2)) and hi == pytest.approx(
        np.percentile(values, 98))
    plt.close("all")


def test_text_activation_refuses_mismatched_values():
    with pytest.raises(ValueError, match="one per character"):
        plots.text_activation("abc", np.zeros(2))


def test_saturation_scatter_one_panel_per_gate():
    rng = np.random.default_rng(0)
    frac = {g: (rng.random(5) / 2, rng.random(5) / 2) for g in ("i", "f", "o")}
    axes = plots.saturation_scatter(frac, others=frac)
    assert len(axes) == 3
    assert [ax.get_title() for ax in axes] == ["input gate", "forget gate", "output gate"]
    assert all(len(ax.collections) == 2 for ax in axes)  # trained and the control
    np.testing.assert_array_equal(axes[1].collections[1].get_offsets()[:, 0], frac["f"][0])
    plt.close("all")
