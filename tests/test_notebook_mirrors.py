"""Every chapter notebook has an up-to-date MyST text mirror (jupytext.toml, tools/sync_notebooks).

The mirrors exist so that a change to a chapter can be reviewed as a text diff; a stale mirror
would show a reviewer something other than what the book runs.
"""

from __future__ import annotations

import json

import pytest

from tools import sync_notebooks

NOTEBOOKS = sync_notebooks.notebooks()


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_mirror_is_up_to_date(notebook):
    mirror = sync_notebooks.mirror_path(notebook)
    assert mirror.exists(), f"{mirror.name} is missing: run python -m tools.sync_notebooks"
    assert mirror.read_text(encoding="utf-8") == sync_notebooks.mirror_text(notebook), (
        f"{mirror.name} is out of date: run python -m tools.sync_notebooks")


def test_mirror_follows_a_change_and_holds_no_outputs(tmp_path):
    notebook = NOTEBOOKS[0]
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    code = next(c for c in nb["cells"] if c["cell_type"] == "code" and c.get("outputs"))
    code["source"] = ["print('a changed cell')\n"]
    changed = tmp_path / "chapter.ipynb"
    changed.write_text(json.dumps(nb), encoding="utf-8")
    (tmp_path / "jupytext.toml").write_text(
        (sync_notebooks.ROOT / "jupytext.toml").read_text(encoding="utf-8"), encoding="utf-8")
    text = sync_notebooks.mirror_text(changed)
    assert "print('a changed cell')" in text
    assert text != sync_notebooks.mirror_text(notebook)
    assert "image/png" not in text and '"outputs"' not in text
    assert not sync_notebooks.stray_mirrors()


def test_book_does_not_build_the_mirrors():
    import yaml

    config = yaml.safe_load((sync_notebooks.ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert "**/*.myst.md" in config["exclude_patterns"]
