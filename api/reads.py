"""One row by a read-only statement, for the assistant's most frequent GET: the member's record.

On PostgreSQL the row comes over asyncpg, on the worker's own event loop. Measured on 100,000
members (docs/bench-api.md), the threaded psycopg2 way cost each look-up a trip to the thread
pool, a ping, BEGIN and ROLLBACK, and a fresh plan of the statement on the server; asyncpg
sends the statement alone, outside a transaction (one SELECT sees one snapshot anyway), and
prepares it once per connection, so the server plans it once. Everything else, writes above
all, stays on the request's threaded session.

On SQLite, and on a PostgreSQL URL carrying options only libpq understands, the row is read on
the request's session in the thread pool, as before. The async engine is built from the
session's own URL, so a test that gives the route another database reads that database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from anyio import to_thread
from sqlalchemy import URL, Executable, RowMapping
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import Session

log = logging.getLogger("memberdesk.api.reads")

# libpq's names for the options asyncpg takes under its own; any other option in the URL keeps
# the look-up on the threaded session, which passes the URL to libpq as it is.
_ASYNCPG_OPTIONS = {"sslmode": "ssl", "connect_timeout": "timeout"}
# Per worker, and no overflow: a look-up holds its connection for a fraction of a millisecond,
# so two serve a worker's whole share of 32 clients. Overflow connections are closed as soon
# as they are handed back, so under load the pool kept opening new ones (a new PostgreSQL
# backend each): with 5 and 5 overflow a worker pair served 880-920 look-ups/s, with 2 and
# none 1,380-1,830/s (bench/api_bench.py, 32 clients, 100,000 members, on two cores).
_POOL_SIZE = 2
_POOL_OVERFLOW = 0
# The action server gives up on the API after 5 s (MEMBERDESK_API_TIMEOUT): a read still
# waiting then, for the database or for one of the two connections, is ended rather than left
# holding the connection while the next members queue behind it.
WAIT_SECONDS = 5.0

# One engine per event loop and database: asyncpg's connections belong to the loop that made
# them. A worker has one loop for its life; a test client may make one per request.
_engines: dict[tuple[int, URL], tuple[asyncio.AbstractEventLoop, AsyncEngine]] = {}


# Asked on every look-up with the one URL a process has: worked out once.
@lru_cache(maxsize=8)
def asyncpg_url(url: URL) -> URL | None:
    """`url` for asyncpg, or None when it is no PostgreSQL URL or names an option asyncpg
    cannot take."""
    if url.get_backend_name() != "postgresql":
        return None
    if any(option not in _ASYNCPG_OPTIONS for option in url.query):
        return None
    query = {_ASYNCPG_OPTIONS[option]: value for option, value in url.query.items()}
    return url.set(drivername="postgresql+asyncpg", query=query)


def _engine_for(url: URL) -> AsyncEngine:
    loop = asyncio.get_running_loop()
    key = (id(loop), url)
    known = _engines.get(key)
    if known is not None and known[0] is loop:
        return known[1]
    _forget_closed_loops()
    engine = create_async_engine(
        url,
        isolation_level="AUTOCOMMIT",
        pool_size=_POOL_SIZE,
        max_overflow=_POOL_OVERFLOW,
        pool_timeout=WAIT_SECONDS,
        connect_args={"command_timeout": WAIT_SECONDS},
    )
    _engines[key] = (loop, engine)
    return engine


def _forget_closed_loops() -> None:
    """Drop the engines of loops that have ended (a test client's): their connections cannot
    be closed from another loop, so they are let go and their sockets close when collected."""
    for key, (loop, engine) in list(_engines.items()):
        if loop.is_closed():
            engine.sync_engine.dispose(close=False)
            del _engines[key]


async def close_readers() -> None:
    """Close this loop's look-up connections (the app's shutdown)."""
    loop = asyncio.get_running_loop()
    for key, (owner, engine) in list(_engines.items()):
        if owner is loop:
            del _engines[key]
            await engine.dispose()


async def read_one(
    db_session: Session, statement: Executable, params: Mapping[str, Any]
) -> RowMapping | None:
    """The first row of a read-only `statement`, as a mapping, or None when there is none.

    The session is only asked for its database: on PostgreSQL it never connects. It is closed
    here either way, so the request's get_db has nothing to hand back.
    """
    url = asyncpg_url(db_session.get_bind().url)
    if url is None:
        return await to_thread.run_sync(_read_on_session, db_session, statement, params)
    db_session.close()
    engine = _engine_for(url)
    try:
        return await _read_async(engine, statement, params)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        # The server restarted since this connection was last used: the pool has let go of
        # every connection made before, and a read is safe to send again once.
        log.warning("record look-up: PostgreSQL connection lost, reading again on a new one")
        return await _read_async(engine, statement, params)


async def _read_async(
    engine: AsyncEngine, statement: Executable, params: Mapping[str, Any]
) -> RowMapping | None:
    async with engine.connect() as connection:
        result = await connection.execute(statement, params)
        return result.mappings().first()


def _read_on_session(
    db_session: Session, statement: Executable, params: Mapping[str, Any]
) -> RowMapping | None:
    try:
        return db_session.execute(statement, params).mappings().first()
    finally:
        db_session.close()
