"""Build the HTML book: `make book` runs `python -m tools.build_book`.

* Executes every notebook (cached in _build/.jupyter_cache, so an unchanged tree rebuilds fast),
  treats every Sphinx warning as an error (-W, no --keep-going), and prints where the book is and
  how long the build took.
* Readable offline: MathJax is served from the build itself (`mathjax/` at the site root), from
  the npm package pinned in package-lock.json. When Node.js/npm is missing (or the install fails)
  the build falls back to MathJax's CDN and says so in one line.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
MATHJAX_SRC = ROOT / "node_modules" / "mathjax" / "es5"
VENDOR = ROOT / "_vendor" / "mathjax"


def vendor_mathjax() -> bool:
    """Make _vendor/mathjax hold MathJax 3 (installing it with npm if needed)."""
    if not (MATHJAX_SRC / "tex-chtml.js").exists() and shutil.which("npm"):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=ROOT,
                       check=False)
    if not (MATHJAX_SRC / "tex-chtml.js").exists():
        return False
    stamp = VENDOR / ".source"
    wanted = (ROOT / "package-lock.json").read_text()
    if not stamp.exists() or stamp.read_text() != wanted:
        shutil.rmtree(VENDOR, ignore_errors=True)
        shutil.copytree(MATHJAX_SRC, VENDOR)
        stamp.write_text(wanted)
    return True


def cdn_config() -> Path:
    """A copy of _config.yml without the local MathJax path (Sphinx then uses its CDN default)."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    sphinx_config = config.get("sphinx", {}).get("config", {})
    sphinx_config.pop("mathjax_path", None)
    sphinx_config.pop("html_extra_path", None)
    tmp = Path(tempfile.mkdtemp()) / "_config.yml"
    tmp.write_text(yaml.safe_dump(config, sort_keys=False))
    return tmp


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--all", action="store_true", help="rebuild every page (-a)")
    args = parser.parse_args()
    start = time.perf_counter()
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb) if jb.exists() else "jupyter-book", "build", str(ROOT), "--warningiserror"]
    if args.all:
        cmd.append("--all")
    if not vendor_mathjax():
        print("notice: Node.js/npm (or the MathJax package) is missing: the book will load "
              "MathJax from its CDN and needs the internet to show equations.")
        cmd += ["--config", str(cdn_config())]
    result = subprocess.run(cmd, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        print(f"book build FAILED after {elapsed:.0f} s", file=sys.stderr)
        return result.returncode
    index = ROOT / "_build" / "html" / "index.html"
    # A PDF built earlier by `make pdf` stays linked from the landing page.
    from tools.build_pdf import link_from_landing_page

    link_from_landing_page()
    print(f"\nThe book is at {index} (built in {elapsed:.0f} s).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
