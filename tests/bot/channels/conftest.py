"""Fixtures for the channel tests: a fake Telegram Bot API and the webhook on a real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bot.channels.telegram.fake_bot_api import BackgroundLoop, FakeBotApi, Testbed

# Nothing listens here: tests that must not reach the records API fail loudly if they try.
UNREACHABLE_API = "http://127.0.0.1:9"


@pytest.fixture(scope="session")
def background_loop() -> Iterator[BackgroundLoop]:
    loop = BackgroundLoop()
    yield loop
    loop.close()


@pytest.fixture
def bot_api(background_loop: BackgroundLoop) -> Iterator[FakeBotApi]:
    fake = FakeBotApi()
    background_loop.run(fake.start())
    yield fake
    background_loop.run(fake.stop())


@pytest.fixture
def channel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Channel settings for tests that never need the records API."""
    monkeypatch.setenv("MEMBERDESK_ENV", "test")
    monkeypatch.setenv("MEMBERDESK_API_URL", UNREACHABLE_API)
    monkeypatch.setenv("MEMBERDESK_API_TIMEOUT", "5")
    monkeypatch.setenv("MEMBERDESK_CHANNEL_SECRET", "channel-tests-secret-0123456789abcdefghij")


@pytest.fixture
def testbed(
    background_loop: BackgroundLoop, bot_api: FakeBotApi, tmp_path: Path, channel_env: None
) -> Iterator[Testbed]:
    """The Telegram webhook served on 127.0.0.1, replying through the fake Bot API."""
    bed = Testbed(background_loop, bot_api, tmp_path / "telegram.sqlite3").start()
    yield bed
    bed.stop()
