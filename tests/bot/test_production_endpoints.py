"""bot/endpoints.production.yml works against a real PostgreSQL and Redis: a conversation is
stored and read back, and the lock store hands out locks."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import psycopg2
import pytest
from rasa.core.lock_store import LockStore
from rasa.core.tracker_store import TrackerStore
from rasa.core.utils import read_endpoints_from_path
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "memberdesk_tracker_test"


@pytest.fixture
def production_env(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    except psycopg2.OperationalError as exc:
        if os.environ.get("MEMBERDESK_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL not reachable: {exc}")
        pytest.skip(f"SKIPPING: PostgreSQL not reachable: {exc}")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{DATABASE}"')
    admin.close()
    for name, value in {
        "MEMBERDESK_ACTIONS_URL": "http://127.0.0.1:5055/webhook",
        "MEMBERDESK_ACTIONS_SECRET": "production-actions-secret-0123456789abcdef",
        "MEMBERDESK_TRACKER_DB_HOST": "127.0.0.1",
        "MEMBERDESK_TRACKER_DB_PORT": "5432",
        "MEMBERDESK_TRACKER_DB_NAME": DATABASE,
        "MEMBERDESK_TRACKER_DB_USER": "postgres",
        "MEMBERDESK_TRACKER_DB_PASSWORD": "",
        "MEMBERDESK_REDIS_HOST": "127.0.0.1",
        "MEMBERDESK_REDIS_PORT": "6379",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.mark.usefixtures("production_env")
def test_conversations_are_kept_in_postgresql_and_locked_in_redis() -> None:
    endpoints = read_endpoints_from_path(ROOT / "bot/endpoints.production.yml")
    # Rasa presents the action server's secret (actions/server.py) from the environment.
    assert endpoints.action.headers == {
        "X-Memberdesk-Action-Secret": "production-actions-secret-0123456789abcdef"
    }
    domain = Domain.load(str(ROOT / "bot/domain"))
    store = TrackerStore.create(endpoints.tracker_store, domain=domain)
    locks = LockStore.create(endpoints.lock_store)
    sender = f"production-endpoints-{os.getpid()}"
    tracker = DialogueStateTracker(sender, domain.slots)
    tracker.update(UserUttered("I've moved house", {"name": "change_address"}))
    tracker.update(SlotSet("goal", "change_address"))

    async def round_trip() -> DialogueStateTracker | None:
        async with locks.lock(sender):
            await store.save(tracker)
        return await store.retrieve(sender)

    stored = asyncio.run(round_trip())

    assert type(store).__name__ == "SQLTrackerStore"
    assert type(locks).__name__ == "RedisLockStore"
    assert stored is not None
    assert stored.latest_message.text == "I've moved house"
    assert stored.get_slot("goal") == "change_address"
