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
import sqlalchemy as sa

from actions import pending, pending_store
from actions.base import SOMETHING_WRONG
from actions.records import SubmitAddress
from bench.serving.databases import POSTGRES, postgres_database
from bot.settings import UnsafeSettings, get_settings, pending_store_url_checked, read_settings
from tests.bot.servers import RecordsApi
from tests.bot.trackers import run, texts, tracker, verified_slots


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A database of its own for this run, dropped afterwards."""
    try:
        psycopg2.connect(dbname="postgres", **POSTGRES).close()
    except psycopg2.OperationalError as exc:
        if os.environ.get("MEMBERDESK_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    with postgres_database(f"memberdesk_pending_{uuid.uuid4().hex[:12]}") as name:
        url = f"postgresql+psycopg2://{POSTGRES['user']}@127.0.0.1:{POSTGRES['port']}/{name}"
        yield url
        pending_store._engine(url).dispose()
        pending_store._engine.cache_clear()


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


def test_settled_rows_are_deleted_a_week_after_settling_and_waiting_rows_never(
    store: RecordsApi,
) -> None:
    week_ago = time.time() - pending_store.SETTLED_KEPT_SECONDS - 60
    old_done, old_waiting, recent_done = (
        pending.keep(method="POST", path="/cases", body=_case(f"kept {n}"), channel="rest")
        for n in range(3))
    pending_store.settle(old_done, "done")
    pending_store.settle(recent_done, "done")
    table = pending_store.pending_requests
    with pending_store.engine().begin() as conn:
        conn.execute(table.update().where(table.c.id.in_([old_done, old_waiting, recent_done]))
                     .values(created=week_ago))
        conn.execute(table.update().where(table.c.id == old_done).values(settled=week_ago))

    assert pending_store.forget_settled() == 1

    def left() -> set[int]:
        with pending_store.engine().connect() as conn:
            return {row.id for row in conn.execute(sa.select(table.c.id))}

    assert left() == {old_waiting, recent_done}
    # A replay pass that settles something clears what was settled a week ago, and keeps
    # what it settled itself, however long that waited.
    with pending_store.engine().begin() as conn:
        conn.execute(table.update().where(table.c.id == recent_done).values(settled=week_ago))
    assert asyncio.run(pending.replay_once()) == 1  # the old waiting one, sent now
    assert left() == {old_waiting}


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


def test_while_one_replica_replays_the_others_wait_so_changes_keep_their_order(
    store: RecordsApi,
) -> None:
    kept = [
        pending.keep(
            method="PUT",
            path="/members/1000072/address",
            body={"town": town},
            channel="rest",
            member_token="token",
            idempotency_key=f"key-{town}",
        )
        for town in ("Leeds", "York", "Hull")
    ]
    first = pending_store.new_claimer()

    assert [row["id"] for row in pending_store.claim(first, limit=1)] == kept[:1]
    # The newer changes are free, but taking them now could make York before Leeds.
    assert pending_store.claim(pending_store.new_claimer()) == []
    pending_store.settle(kept[0], "done")
    pending_store.release(first)
    table = pending_store.pending_requests
    with pending_store.engine().connect() as conn:
        settled = conn.execute(sa.select(table).where(table.c.id == kept[0])).one()
    assert (settled.outcome, settled.member_token) == ("done", None), "no token kept once sent"
    assert [row["id"] for row in pending_store.claim(pending_store.new_claimer())] == kept[1:]


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


def test_with_the_store_down_too_the_member_is_not_told_the_request_was_saved(
    actions_env: RecordsApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    slots = {
        **verified_slots(actions_env, "1000071"),
        "new_address_line1": "2 Gone Road",
        "new_town": "Hull",
        "new_postcode": "HU1 1AA",
    }
    before = actions_env.member("1000071")["address_line1"]
    # Neither the records API nor the store's PostgreSQL answers (nothing listens on port 9).
    monkeypatch.setenv("MEMBERDESK_API_URL", "http://127.0.0.1:9")
    monkeypatch.setenv(
        "MEMBERDESK_PENDING_STORE_URL", "postgresql+psycopg2://postgres@127.0.0.1:9/x"
    )
    get_settings.cache_clear()

    _, messages = run(SubmitAddress(), tracker(slots=slots, intent="affirm", text="yes"))

    said = texts(messages)
    assert SOMETHING_WRONG in said and "saved your request" not in said
    monkeypatch.setenv("MEMBERDESK_API_URL", actions_env.url)
    get_settings.cache_clear()
    assert actions_env.member("1000071")["address_line1"] == before


@pytest.mark.parametrize(
    "url", ["memberdesk_pending", "mysql://u:p@db/pending", "postgresql://", "postgres:/db"]
)
def test_a_store_url_that_is_not_a_database_url_is_refused_before_starting(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMBERDESK_PENDING_STORE_URL", url)
    with pytest.raises(UnsafeSettings, match="must be a database URL"):
        pending_store_url_checked(read_settings())


def test_outside_development_a_file_on_one_machine_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MEMBERDESK_PENDING_STORE_URL", raising=False)
    monkeypatch.setenv("MEMBERDESK_ENV", "staging")
    monkeypatch.setenv("MEMBERDESK_SERVICE_TOKEN", "s" * 40)
    monkeypatch.setenv("MEMBERDESK_CHANNEL_SECRET", "c" * 40)
    with pytest.raises(UnsafeSettings, match="MEMBERDESK_PENDING_STORE_URL"):
        pending_store_url_checked(read_settings())
    monkeypatch.setenv("MEMBERDESK_ENV", "development")
    monkeypatch.setenv("MEMBERDESK_PENDING_STORE", "var/kept.sqlite3")
    assert pending_store_url_checked(read_settings()) == "sqlite:///var/kept.sqlite3"
