"""Finding a Chromium for Playwright: TRIAGEBOT_CHROMIUM_PATH, the system one, or Playwright's own."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

SYSTEM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

# Flags for a sandboxed, offline-friendly headless run: no first-run UI, no background calls home
# (which a closed network refuses by the dozen), and no sandbox when running as root in a container.
LAUNCH_ARGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def playwright_bundled_chromium() -> str | None:
    """Return the path of Playwright's own downloaded Chromium, if it is installed."""
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            path = pw.chromium.executable_path
    except Exception:  # playwright missing or its driver unable to start: no bundled browser
        return None
    return path if path and Path(path).exists() else None


def find_chromium(configured: str | None = None) -> str | None:
    """Return an executable Chromium path, or None when neither is configured nor found."""
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    for name in SYSTEM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return playwright_bundled_chromium()
