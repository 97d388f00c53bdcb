"""Fixtures of the consumer tests: a real browser (the served landscape is in tests/conftest)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from noots.testing.browser import CHROMIUM_ARGS, chromium_path


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian chromium driven by Playwright; a missing browser fails the test, loudly.

    Module scope: the sync API runs an event loop in this thread while it is open, which
    asyncio tests after the browser tests must not find still running.
    """
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if not executable.is_file():
        pytest.fail(f"{executable} is missing: install Debian's chromium (CI installs it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
