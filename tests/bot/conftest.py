"""Fixtures for the bot side: a real records API, and the actions pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.settings import get_settings
from tests.bot.servers import Assistant, RecordsApi, action_server_env, assistant, records_api


@pytest.fixture(scope="session")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordsApi]:
    """The records API with the demo organisation (shared by a test session: tests that change
    a record use their own demo member, or assert on what they changed)."""
    # 300 demo members: the first sixty are the ones the tests name, the rest are the
    # conversation corpus's, one each (tests/bot/test_corpus.py).
    with records_api(tmp_path_factory.mktemp("records-api"), members=300) as running_api:
        yield running_api


@pytest.fixture
def actions_env(
    api: RecordsApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RecordsApi]:
    """Actions run in this process talk to the test API."""
    for name, value in action_server_env(api, tmp_path).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield api
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def stack(api: RecordsApi, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    """The whole assistant, loaded once for the session (loading a model takes a while)."""
    with assistant(api, tmp_path_factory.mktemp("assistant")) as running_assistant:
        yield running_assistant
