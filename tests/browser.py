"""Debian's Chromium under Playwright, for the browser tests of either environment.

Playwright's own browser download does not work here, so the tests drive /usr/bin/chromium
(`apt-get install chromium`; `.ci/run` installs it). Without it a browser test skips with a
loud reason, unless MEMBERDESK_REQUIRE_BROWSER=1 (CI), which makes the skip a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps trying hosts this machine cannot reach.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def require_chromium() -> None:
    """Skip (or, in CI, fail) the calling test when Debian's Chromium is not installed."""
    if not CHROMIUM.exists():
        reason = "no browser at /usr/bin/chromium: apt-get install chromium"
        if os.environ.get("MEMBERDESK_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip("SKIPPING BROWSER TEST - " + reason)


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium for the duration of the block."""
    require_chromium()
    # The machine may be busy: a page load, a poll or a reconnection can take a while.
    expect.set_options(timeout=30_000)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()
