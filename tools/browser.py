"""Find a headless chromium for the browser tests and `make pdf`.

In this order: the path in RNNLAB_CHROMIUM (if set), a system chromium on PATH (Debian's
`chromium`, `chromium-browser`, Google Chrome), then the chromium that Playwright manages
(`python -m playwright install chromium` puts it under ~/.cache/ms-playwright, or under
PLAYWRIGHT_BROWSERS_PATH). `python -m tools.browser` prints which one would run.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

SYSTEM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"]


@dataclass(frozen=True)
class Browser:
    path: str
    origin: str  # "RNNLAB_CHROMIUM", "system" or "playwright"

    def describe(self) -> str:
        return f"{self.path} ({self.origin})"


def find_chromium() -> Browser | None:
    """The chromium to drive, or None when there is none on this machine."""
    explicit = os.environ.get("RNNLAB_CHROMIUM")
    if explicit:
        return Browser(explicit, "RNNLAB_CHROMIUM") if Path(explicit).exists() else None
    for name in SYSTEM_NAMES:
        found = shutil.which(name)
        if found:
            return Browser(found, "system")
    managed = playwright_chromium()
    if managed:
        return Browser(managed, "playwright")
    return None


def playwright_chromium() -> str | None:
    """The path of the chromium Playwright manages, if it has been installed."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    try:
        with sync_playwright() as p:
            path = p.chromium.executable_path
    except Exception:  # no driver, unsupported platform: no managed browser
        return None
    return path if path and Path(path).exists() else None


def why_missing() -> str:
    """One sentence: where no browser was found."""
    if os.environ.get("RNNLAB_CHROMIUM"):
        return f"RNNLAB_CHROMIUM={os.environ['RNNLAB_CHROMIUM']} does not exist"
    return (f"no chromium found (none of {', '.join(SYSTEM_NAMES)} on PATH, and no "
            "Playwright-managed chromium)")


def main() -> int:
    browser = find_chromium()
    if browser is None:
        print(why_missing())
        return 1
    print(browser.describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())
