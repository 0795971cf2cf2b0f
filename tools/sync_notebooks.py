"""Keep every chapter notebook's first cell and its MyST text mirror up to date.

    python -m tools.sync_notebooks          # fix first cells, regenerate every .myst.md mirror
    python -m tools.sync_notebooks --check  # exit 1 if a notebook or a mirror is out of date

First cell: a guarded Colab install of rnnlab, the same in every notebook.

The repository URL comes from `repository.url` in _config.yml (the one setting that also drives
the book's launch buttons). Locally and on Binder rnnlab is installed, so the cell does nothing
and prints nothing; in Colab it pip-installs rnnlab from the repository. The cell is tagged
`remove-cell`, so the HTML book does not show it.

Mirror: ``chapters/**/<name>.ipynb`` is paired with ``<name>.myst.md`` (jupytext, MyST Markdown,
configured once for the repository in ``jupytext.toml``). The mirror is generated from the
notebook, never the other way round: the .ipynb with its outputs is what nbval tests and what the
book builds; the mirror holds the cells as text, so that a review sees a readable diff instead of
JSON and base64 images. The book does not build the mirrors (``exclude_patterns`` in _config.yml).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jupytext
import nbformat
import yaml
from jupytext.config import load_jupytext_config

ROOT = Path(__file__).resolve().parents[1]
MARKER = "# Colab: install rnnlab if it is missing"
MIRROR_SUFFIX = ".myst.md"
MIRROR_FORMAT = ".myst.md:myst"


def repository_url() -> str:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    return config["repository"]["url"].rstrip("/")


def colab_cell_source(url: str | None = None) -> str:
    url = url or repository_url()
    return (f"{MARKER} (a no-op locally and on Binder, where it is installed).\n"
            "import importlib.util\n"
            "\n"
            'if importlib.util.find_spec("rnnlab") is None:\n'
            f'    %pip install -q "rnnlab @ git+{url}"')


def notebooks() -> list[Path]:
    return sorted(p for p in (ROOT / "chapters").glob("**/*.ipynb")
                  if ".ipynb_checkpoints" not in p.parts)


def sync(path: Path, check: bool) -> bool:
    """Return True if the notebook was (or would be) changed."""
    nb = nbformat.read(path, as_version=4)
    source = colab_cell_source()
    first = nb.cells[0] if nb.cells else None
    if first is not None and first.cell_type == "code" and first.source.startswith(MARKER):
        if first.source == source and "remove-cell" in first.metadata.get("tags", []):
            return False
        if check:
            return True
        first.source = source
    else:
        if check:
            return True
        cell = nbformat.v4.new_code_cell(source)
        nb.cells.insert(0, cell)
        first = cell
    first.metadata["tags"] = sorted(set(first.metadata.get("tags", [])) | {"remove-cell"})
    first.outputs = []
    first.execution_count = first.execution_count or 1
    nbformat.write(nb, path)
    return True


def mirror_path(notebook: Path) -> Path:
    return notebook.with_name(notebook.stem + MIRROR_SUFFIX)


def mirror_text(notebook: Path) -> str:
    """The MyST text of `notebook`, as jupytext writes it with the repository's jupytext.toml."""
    config = load_jupytext_config(str(notebook))
    if config is None or MIRROR_FORMAT not in str(config.formats):
        raise SystemExit(f"jupytext.toml must pair notebooks with {MIRROR_FORMAT!r}; "
                         f"got {getattr(config, 'formats', None)!r}")
    return jupytext.writes(jupytext.read(notebook), fmt=MIRROR_FORMAT, config=config)


def sync_mirror(notebook: Path, check: bool) -> bool:
    """Return True if the notebook's mirror was (or would be) rewritten."""
    path, text = mirror_path(notebook), mirror_text(notebook)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    if not check:
        path.write_text(text, encoding="utf-8")
    return True


def stray_mirrors() -> list[Path]:
    """Mirrors whose notebook is gone (renamed or deleted)."""
    wanted = {mirror_path(p) for p in notebooks()}
    return sorted(p for p in (ROOT / "chapters").glob(f"**/*{MIRROR_SUFFIX}") if p not in wanted)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    verb = "out of date: " if args.check else "updated: "
    stale = []
    for p in notebooks():
        if sync(p, args.check):
            stale.append(p)
            print(verb + str(p.relative_to(ROOT)))
        if sync_mirror(p, args.check):
            stale.append(mirror_path(p))
            print(verb + str(mirror_path(p).relative_to(ROOT)))
    for p in stray_mirrors():
        stale.append(p)
        if args.check:
            print(f"no notebook for mirror: {p.relative_to(ROOT)}")
        else:
            p.unlink()
            print(f"removed (its notebook is gone): {p.relative_to(ROOT)}")
    if args.check and stale:
        print("run `python -m tools.sync_notebooks` to update them")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
