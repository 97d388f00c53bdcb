"""Debian chromium for Playwright: where it is and how to start it headless in CI.

with sync_playwright() as playwright:
    browser = playwright.chromium.launch(
        executable_path=str(chromium_path()), args=CHROMIUM_ARGS
    )
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "chromium_path"]

#: Debian's chromium package (``apt-get install chromium``).
CHROMIUM = Path("/usr/bin/chromium")
#: Headless, as root in a container, and without any call home that could stall a test.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> Path:
    """``NOOTS_CHROMIUM`` if set, else Debian's chromium."""
    return Path(os.environ.get("NOOTS_CHROMIUM", CHROMIUM))
