"""Start the learner's JupyterLab: `make lab` runs `python -m tools.lab`.

* Serves the repository with the file browser open at chapters/.
* Learners see the book, not a grading UI: the venv that `make` builds also holds the teachers'
  and tests' tools (nbgrader), so this lab reads tools/lab_config/ (through JUPYTER_CONFIG_PATH),
  which switches nbgrader's server extensions and its JupyterLab extension off. Teachers start
  `jupyter lab` themselves to get nbgrader's Formgrader (see chapters/08_teaching/teachers.md).
* As root (containers, cloud VMs) JupyterLab refuses to start unless given --allow-root; this
  adds it and says so in one line.

Extra arguments go to `jupyter lab` (e.g. `python -m tools.lab --port 8899 --no-browser`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAB_CONFIG = ROOT / "tools" / "lab_config"


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def command(extra: list[str]) -> list[str]:
    """The `jupyter lab` command line for the learner's lab."""
    jupyter = Path(sys.executable).with_name("jupyter")
    cmd = [str(jupyter) if jupyter.exists() else "jupyter", "lab",
           f"--ServerApp.root_dir={ROOT}", "--LabApp.default_url=/lab/tree/chapters"]
    if is_root():
        cmd.append("--allow-root")
    return cmd + extra


def environment() -> dict[str, str]:
    """os.environ with tools/lab_config first on JUPYTER_CONFIG_PATH."""
    env = dict(os.environ)
    paths = [str(LAB_CONFIG)] + [p for p in env.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep)
                                 if p]
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(paths)
    return env


def main(argv: list[str] | None = None) -> int:
    cmd = command(list(sys.argv[1:] if argv is None else argv))
    if is_root():
        print("make lab: running as root, so JupyterLab is started with --allow-root.",
              flush=True)
    os.execvpe(cmd[0], cmd, environment())
    return 0  # not reached: the lab replaces this process


if __name__ == "__main__":
    sys.exit(main())
