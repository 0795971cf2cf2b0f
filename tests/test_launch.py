"""Launching the notebooks elsewhere: Binder (repo2docker reads requirements.txt and runtime.txt)
and Colab (each notebook's first cell installs rnnlab when it is missing)."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tools import sync_notebooks  # noqa: E402

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


def test_launch_buttons_come_from_one_repository_setting():
    url = CONFIG["repository"]["url"]
    assert url.startswith("https://github.com/")
    assert CONFIG["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert CONFIG["launch_buttons"]["colab_url"] == "https://colab.research.google.com"


def test_binder_files():
    reqs = (ROOT / "requirements.txt").read_text().split()
    assert "-e" in reqs and "." in reqs, "requirements.txt installs rnnlab itself"
    assert (ROOT / "runtime.txt").read_text().strip().startswith("python-3.")


@pytest.mark.parametrize("nb", sync_notebooks.notebooks(), ids=lambda p: p.name)
def test_first_cell_installs_rnnlab_in_colab(nb):
    first = nbformat.read(nb, as_version=4).cells[0]
    assert first.cell_type == "code"
    assert first.source == sync_notebooks.colab_cell_source(CONFIG["repository"]["url"])
    assert "remove-cell" in first.metadata.get("tags", [])
    assert first.outputs == [], "a no-op where rnnlab is installed"


def test_colab_cell_is_a_no_op_when_rnnlab_is_installed(tmp_path):
    """Run the cell's code path in IPython: with rnnlab importable it must not call pip."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    calls = []
    shell.register_magic_function(lambda line: calls.append(line), "line", "pip")
    result = shell.run_cell(sync_notebooks.colab_cell_source())
    assert result.success and calls == []


def test_fresh_venv_from_requirements_runs_a_chapter(tmp_path):
    """What Binder does: a new environment from requirements.txt alone executes a chapter."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    install = subprocess.run([str(py), "-m", "pip", "install", "-q", "-r", "requirements.txt"],
                             cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr[-2000:]
    out = tmp_path / "executed.ipynb"
    run = subprocess.run(
        [str(env_dir / "bin" / "jupyter"), "nbconvert", "--to", "notebook", "--execute",
         "--ExecutePreprocessor.timeout=120", "--output", str(out),
         str(ROOT / "chapters" / "02_forward_pass" / "forward_pass.ipynb")],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PATH": f"{env_dir / 'bin'}:{os.environ['PATH']}"})
    assert run.returncode == 0, run.stderr[-3000:]
    nb = nbformat.read(out, as_version=4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert errors == []
