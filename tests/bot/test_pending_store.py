"""Requests kept during an outage, in SQLite (one machine) and PostgreSQL (every replica).

Against real databases: a throwaway PostgreSQL database for the run (skipped when PostgreSQL
is not on 127.0.0.1, unless MEMBERDESK_REQUIRE_POSTGRES=1), and the real records API for the
replays, so a row sent twice would show as two cases.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from actions import pending, pending_store
from bot.settings import get_settings
from tests.bot.servers import RecordsApi

POSTGRES = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A database of its own for this run, dropped afterwards."""
    try:
        admin = psycopg2.connect(dbname="postgres", **POSTGRES)
    except psycopg2.OperationalError as exc:
        if os.environ.get("MEMBERDESK_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    admin.autocommit = True
    name = f"memberdesk_pending_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    try:
        yield url
    finally:
        pending_store._engine(url).dispose()
        pending_store._engine.cache_clear()
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(
    request: pytest.FixtureRequest, actions_env: RecordsApi, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RecordsApi]:
    """The actions pointed at the test API, keeping requests in the store named by the param."""
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
        monkeypatch.setenv("MEMBERDESK_PENDING_STORE_URL", url)
        get_settings.cache_clear()
        with pending_store.engine().begin() as conn:
            conn.execute(pending_store.pending_requests.delete())
    yield actions_env
    get_settings.cache_clear()


def _case(summary: str) -> dict:
    return {
        "membership_number": None,
        "channel": "rest",
        "conversation_id": "rest:kept",
        "intent": "talk_to_human",
        "summary": summary,
        "transcript": [],
        "collected_values": {},
        "identity_level": "none",
        "priority": None,
    }


def _cases_opened(api: RecordsApi, summaries: list[str]) -> Counter[str]:
    with sqlite3.connect(api.database) as db:
        rows = db.execute("SELECT summary FROM cases").fetchall()
    return Counter(summary for (summary,) in rows if summary in summaries)


def test_a_kept_request_is_listed_with_its_token_and_key(store: RecordsApi) -> None:
    first = pending.keep(
        method="PUT",
        path="/members/1000070/address",
        body={"town": "Leeds"},
        channel="rest",
        member_token="member-token",
        idempotency_key="key-1",
    )
    second = pending.keep(method="POST", path="/cases", body=_case("kept"), channel="rest")

    kept = pending.waiting()

    assert [item["id"] for item in kept] == [first, second]
    assert kept[0] == {
        "id": first,
        "method": "PUT",
        "path": "/members/1000070/address",
        "body": '{"town": "Leeds"}',
        "channel": "rest",
        "attempts": 0,
        "member_token": "member-token",
        "idempotency_key": "key-1",
    }
    assert kept[1]["member_token"] is None and kept[1]["idempotency_key"] is None


def test_two_replicas_replaying_at_once_send_each_request_exactly_once(
    store: RecordsApi,
) -> None:
    run = uuid.uuid4().hex[:8]
    summaries = [f"kept during an outage {run} #{n}" for n in range(24)]
    for summary in summaries:
        pending.keep(method="POST", path="/cases", body=_case(summary), channel="rest")
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def replica() -> None:
        try:
            start.wait()
            # Small batches, so the two keep taking rows from under each other.
            while pending.waiting():
                asyncio.run(pending.replay_once(batch=3))
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)

    threads = [threading.Thread(target=replica) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not failures, failures
    assert pending.waiting() == []
    # Cases are posted without an idempotency key: a row sent twice would be two cases.
    assert _cases_opened(store, summaries) == dict.fromkeys(summaries, 1)


def test_rows_a_crashed_replica_claimed_go_to_another_once_its_lease_runs_out(
    store: RecordsApi,
) -> None:
    summary = f"kept before a replica died {uuid.uuid4().hex[:8]}"
    pending.keep(method="POST", path="/cases", body=_case(summary), channel="rest")
    # A replica claims the row, then dies before sending it or giving it back.
    assert len(pending_store.claim(pending_store.new_claimer(), lease=2.0)) == 1

    assert asyncio.run(pending.replay_once()) == 0, "still held by the dead replica's lease"
    assert _cases_opened(store, [summary]) == {}
    time.sleep(2.1)
    assert asyncio.run(pending.replay_once()) == 1

    assert _cases_opened(store, [summary]) == {summary: 1}
    assert pending.waiting() == []


def test_a_replica_whose_lease_ran_out_does_not_send_what_another_took_over(
    store: RecordsApi,
) -> None:
    pending.keep(method="POST", path="/cases", body=_case("slow replica"), channel="rest")
    slow = pending_store.new_claimer()
    (row,) = pending_store.claim(slow, lease=1.0)
    time.sleep(1.1)
    taken = pending_store.claim(pending_store.new_claimer())

    assert [item["id"] for item in taken] == [row["id"]]
    assert not pending_store.still_held(slow, row["id"])


def test_a_store_kept_by_an_older_version_is_upgraded_and_replayed(
    actions_env: RecordsApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The table as the first version wrote it: no token, no key, no claim.
    path = tmp_path / "old-pending.sqlite3"
    summary = f"kept by an older version {uuid.uuid4().hex[:8]}"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE pending_requests (id INTEGER PRIMARY KEY, created REAL NOT NULL,"
            " method TEXT NOT NULL, path TEXT NOT NULL, body TEXT NOT NULL,"
            " channel TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, outcome TEXT)"
        )
        old.execute(
            "INSERT INTO pending_requests (created, method, path, body, channel, attempts)"
            " VALUES (?, 'POST', '/cases', ?, 'rest', 3)",
            (time.time(), json.dumps(_case(summary))),
        )
        old.execute(
            "INSERT INTO pending_requests (created, method, path, body, channel, outcome)"
            " VALUES (?, 'POST', '/cases', '{}', 'rest', 'done')",
            (time.time(),),
        )
    old.close()
    monkeypatch.setenv("MEMBERDESK_PENDING_STORE", str(path))
    get_settings.cache_clear()

    (kept,) = pending.waiting()
    assert (kept["attempts"], kept["member_token"], kept["idempotency_key"]) == (3, None, None)
    assert asyncio.run(pending.replay_once()) == 1

    assert _cases_opened(actions_env, [summary]) == {summary: 1}
    assert pending.waiting() == []
    with sqlite3.connect(path) as upgraded:
        columns = {row[1] for row in upgraded.execute("PRAGMA table_info(pending_requests)")}
    upgraded.close()
    assert set(pending_store.ADDED_LATER) <= columns
