"""A real Chromium driving the dashboard, served over real HTTP with the Hepsiburada sandbox.

Debian's ``chromium`` (``/usr/bin/chromium``, or ``PAZAR_CHROMIUM``) is driven by
Playwright for Python.  In CI (``CI`` or ``PAZAR_REQUIRE_BROWSER`` set, as ``.ci/run``
does) a missing browser or Playwright fails the tests; elsewhere they are skipped with the
command that installs it.  Screenshots of
every screen go to ``$PAZAR_SCREENSHOTS`` (default: the pytest temp directory), never
into the repository.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def chromium_path() -> str:
    return os.environ.get("PAZAR_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def _unavailable(reason: str) -> None:
    message = f"{reason}; install it with: apt-get install -y chromium && pip install playwright"
    if os.environ.get("CI") or os.environ.get("PAZAR_REQUIRE_BROWSER"):
        pytest.fail(f"browser tests cannot run in CI: {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the session (contexts are per test)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed")
    executable = chromium_path()
    if not Path(executable).exists():
        _unavailable(f"no Chromium at {executable}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: ``$PAZAR_SCREENSHOTS`` or a pytest temp directory."""
    configured = os.environ.get("PAZAR_SCREENSHOTS")
    folder = Path(configured) if configured else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Shots:
    """Saves full-page screenshots named after the screen."""

    def __init__(self, folder: Path, prefix: str) -> None:
        self.folder, self.prefix = folder, prefix
        self.taken: list[Path] = []

    def __call__(self, page: Any, name: str) -> Path:
        """The whole page, and what fits the window (``-view``, for documentation)."""
        path = self.folder / f"{self.prefix}{name}.png"
        page.screenshot(path=str(path), full_page=True)
        page.screenshot(path=str(self.folder / f"{self.prefix}{name}-view.png"))
        self.taken.append(path)
        return path
