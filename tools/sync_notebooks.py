"""Keep the first cell of every chapter notebook the same: a guarded Colab install of rnnlab.

    python -m tools.sync_notebooks          # rewrite notebooks whose first cell differs
    python -m tools.sync_notebooks --check  # exit 1 if any notebook is out of date

The repository URL comes from `repository.url` in _config.yml (the one setting that also drives
the book's launch buttons). Locally and on Binder rnnlab is installed, so the cell does nothing
and prints nothing; in Colab it pip-installs rnnlab from the repository. The cell is tagged
`remove-cell`, so the HTML book does not show it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
MARKER = "# Colab: install rnnlab if it is missing"


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    changed = [p for p in notebooks() if sync(p, args.check)]
    for p in changed:
        print(("out of date: " if args.check else "updated: ") + str(p.relative_to(ROOT)))
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
