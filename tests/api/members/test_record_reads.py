"""The record look-up's own way to the database (api.reads): asyncpg on PostgreSQL."""

from __future__ import annotations

import logging
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, make_url, text
from sqlalchemy.orm import Session

from api import reads
from api.config import Settings
from tests.api import factories
from tests.api.conftest import member_headers, real_app


def test_a_postgresql_url_is_given_to_asyncpg_with_its_options_in_asyncpg_words() -> None:
    url = make_url("postgresql+psycopg2://u:p%40ss@db.internal:6432/members?sslmode=require")

    translated = reads.asyncpg_url(url)

    assert translated is not None
    assert translated.drivername == "postgresql+asyncpg"
    assert (translated.username, translated.password) == ("u", "p@ss")
    assert translated.host == "db.internal"
    assert (translated.port, translated.database) == (6432, "members")
    assert dict(translated.query) == {"ssl": "require"}


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///var/memberdesk.db",
        # An option only libpq knows: the look-up stays on the threaded session, which hands
        # the URL to libpq as it is, rather than fail or drop the option.
        "postgresql+psycopg2://u:p@db.internal/members?target_session_attrs=read-write",
    ],
)
def test_other_urls_keep_the_threaded_session(url: str) -> None:
    assert reads.asyncpg_url(make_url(url)) is None


def _readers_on_asyncpg() -> int:
    return sum(1 for _, url in reads._engines if url.drivername == "postgresql+asyncpg")


def test_the_record_is_read_over_asyncpg_on_postgresql_and_closed_at_shutdown(
    engine: Engine, db: Session, settings: Settings
) -> None:
    member = factories.member(db)
    on_postgresql = engine.dialect.name == "postgresql"

    with TestClient(real_app(engine, settings)) as client:
        response = client.get(
            f"/api/v1/members/{member.membership_number}", headers=member_headers(settings, member)
        )
        assert response.status_code == 200
        assert response.json()["membership_number"] == member.membership_number
        assert _readers_on_asyncpg() == (1 if on_postgresql else 0)

    # The app's shutdown closed the loop's connections and forgot them.
    assert _readers_on_asyncpg() == 0


def test_a_client_that_makes_a_loop_per_request_reads_every_time(
    engine: Engine, db: Session, settings: Settings
) -> None:
    member = factories.member(db)
    # Not entered: Starlette's test client then runs each request on a loop of its own, which
    # ends with it. asyncpg connections cannot cross loops, so each loop gets its own engine.
    client = TestClient(real_app(engine, settings))
    headers = member_headers(settings, member)

    for _ in range(3):
        response = client.get(f"/api/v1/members/{member.membership_number}", headers=headers)
        assert response.status_code == 200

    # The ended loops' engines are let go when a new one is made: one at most is left.
    assert _readers_on_asyncpg() <= 1


def test_a_lost_connection_is_replaced_and_the_member_still_gets_their_record(
    engine: Engine, db: Session, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("asyncpg's connections are PostgreSQL's")
    member = factories.member(db)
    path = f"/api/v1/members/{member.membership_number}"
    headers = member_headers(settings, member)

    with TestClient(real_app(engine, settings)) as client:
        assert client.get(path, headers=headers).status_code == 200
        # As a restart of the server would: every connection that read a record is ended.
        with engine.connect() as admin:
            ended = admin.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    " AND query LIKE '%unpaid_failed%'"
                )
            )
        assert ended >= 1

        with caplog.at_level(logging.WARNING, logger="memberdesk.api.reads"):
            response = client.get(path, headers=headers)

    assert response.status_code == 200
    assert response.json()["membership_number"] == member.membership_number
    assert "connection lost" in caplog.text


def test_a_read_the_database_does_not_answer_ends_in_time_and_frees_its_connection(
    engine: Engine, db: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("asyncpg's connections are PostgreSQL's")
    monkeypatch.setattr(reads, "WAIT_SECONDS", 0.5)
    member = factories.member(db)
    path = f"/api/v1/members/{member.membership_number}"
    headers = member_headers(settings, member)

    with TestClient(real_app(engine, settings), raise_server_exceptions=False) as client:
        # Staff renaming the table's columns, say: every read of members waits for the lock.
        with engine.connect() as blocker:
            blocker.execute(text("LOCK TABLE members IN ACCESS EXCLUSIVE MODE"))
            started = time.monotonic()
            stuck = client.get(path, headers=headers)
            waited = time.monotonic() - started
            blocker.rollback()

        assert stuck.status_code == 500
        assert stuck.json() == {"detail": "Something went wrong on our side."}
        assert waited < 5
        # Both of the worker's connections are free for the next member.
        for _ in range(3):
            assert client.get(path, headers=headers).status_code == 200
