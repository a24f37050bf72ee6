"""Debian's headless chromium as the tests of the HTML pages use it: the DOM after rendering, and a
screenshot that must be a real PNG. Each call gets its own profile folder under the test's tmp."""

from __future__ import annotations

import subprocess
from pathlib import Path


def _flags(profile: Path) -> list[str]:
    # no network of its own: no sync, no component updates, no QUIC; a throwaway profile
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ]


def rendered_dom(page: Path, profile: Path) -> str:
    """The page's DOM as chromium renders it (fails the test with chromium's stderr)."""
    dom = subprocess.run(
        ["chromium", *_flags(profile), "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=90
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    return dom.stdout


def assert_screenshot(page: Path, profile: Path, shot: Path, size: str = "1280,2400") -> None:
    """A screenshot of the page (``size`` = width,height): a PNG with something drawn in it."""
    subprocess.run(
        ["chromium", *_flags(profile), f"--screenshot={shot}", f"--window-size={size}", page.as_uri()],
        capture_output=True,
        timeout=90,
        check=True,
    )
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
