"""Engine and session handling, and the column and write helpers every domain's tables share.

Nothing is connected at import time. Imports no domain, so every domain can use it.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from anyio import CancelScope, to_thread
from sqlalchemy import Engine, Enum, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from api.config import get_settings
from api.errors import StaleWrite

# Named constraints so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# The largest integer SQLite and PostgreSQL (BIGINT) store: a number past it in a request is no
# row of ours, and the driver refuses to send it at all.
MAX_ROW_ID = 2**63 - 1
STALE_MESSAGE = "The record changed since you read it. Read it again and retry."


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def enum_column(cls: type[enum.Enum]) -> Enum:
    """The column type for an enum: stored as plain strings."""
    # Plain strings so PostgreSQL and SQLite agree and migrations stay simple.
    return Enum(cls, native_enum=False, length=20, validate_strings=True)


class Versioned(Protocol):
    """A record whose writes are checked against the version the caller read."""

    version: int


def check_version(*, member: Versioned, version: int | None) -> None:
    """StaleWrite when the caller read an older version of the record than the current one."""
    if version is not None and version != member.version:
        raise StaleWrite(STALE_MESSAGE, field="version")


def commit_or_stale(db_session: Session) -> None:
    """Commit; StaleWrite when another write to the same record landed first."""
    try:
        db_session.commit()
    except StaleDataError:
        # Another write to this member landed between our read and our update.
        db_session.rollback()
        raise StaleWrite(STALE_MESSAGE, field="version") from None


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets foreign keys, WAL and a busy timeout."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


@lru_cache
def get_engine() -> Engine:
    """The process's engine, from settings."""
    return make_engine(get_settings().database_url)


@lru_cache
def _session_factory() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


def new_session() -> Session:
    """A session on the process's engine (for the CLI and background work)."""
    return _session_factory()()


async def get_db() -> AsyncIterator[Session]:
    """FastAPI dependency: one session per request, closed afterwards.

    Opened on the event loop: a session connects at its first query, which runs in the thread
    pool with the rest of the route's database work. Closed in the pool when it still holds a
    connection, because closing hands it back and the pool rolls it back (over the network, on
    PostgreSQL). As a plain generator, FastAPI ran both ends in the pool: two trips to it where
    one will do.
    """
    session = new_session()
    try:
        yield session
    finally:
        if session.in_transaction():
            # Shielded: a request cancelled meanwhile (the caller went away) still gives its
            # connection back.
            with CancelScope(shield=True):
                await to_thread.run_sync(session.close)
        else:
            # Never connected, committed, or closed by the route in its own trip to the pool
            # (the record look-up): no connection to hand back, so closing does no I/O.
            session.close()
