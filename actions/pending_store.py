"""Where kept requests live: one SQLAlchemy Core table, in SQLite or PostgreSQL.

`make run` and most tests keep them in a SQLite file (`MEMBERDESK_PENDING_STORE`). A deployment
with several action server replicas keeps them in PostgreSQL (`MEMBERDESK_PENDING_STORE_URL`),
so a request outlives the pod that kept it and whichever replica is alive replays it.

Replicas share the rows by claiming them: a claim names its claimer and lasts a lease. A row is
sent only by the claimer holding it, and the lease is renewed before each send, so two replicas
never send the same row at the same time; a replica that dies mid-replay leaves its rows to
another once the lease runs out. One claimer replays at a time, oldest first, so a member who
asked for two changes during an outage has them made in the order asked.

A settled row (the change made, refused, or handed to staff as a case) is kept for a week, for
whoever looks into an outage, and then deleted: the change it carried is personal data, and the
record, its audit log or the case holds what became of it (`forget_settled`, after each replay
pass). A row still waiting is never deleted.

Member tokens are stored with their rows, in clear, as they always were: a member token lasts
minutes (a kept change whose token ran out goes to staff instead), and the store is the action
server's own, reached only with its own credentials; no secret exists yet to encrypt them with.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bot.settings import get_settings, pending_store_url_checked

metadata = sa.MetaData()
pending_requests = sa.Table(
    "pending_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("method", sa.Text, nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("outcome", sa.Text),
    sa.Column("member_token", sa.Text),
    sa.Column("idempotency_key", sa.Text),
    sa.Column("claimed_by", sa.Text),
    sa.Column("claimed_until", sa.Float),
    sa.Column("settled", sa.Float),
)
# Columns an older store may lack. Rows without a token go to staff; rows without a key are
# replayed as they always were; rows without a claim are free to claim.
ADDED_LATER = ("member_token", "idempotency_key", "claimed_by", "claimed_until", "settled")
COLUMNS = ("id", "method", "path", "body", "channel", "attempts", "member_token", "idempotency_key")
# Long enough for one send and its fallback to staff (each bounded by the API timeout).
LEASE_SECONDS = 60.0
CONNECT_TIMEOUT_SECONDS = 5
# Rows one replay pass takes, oldest first; the next pass (here or elsewhere) takes the rest.
BATCH = 100
# How long a settled row is kept after it was settled (see the module's docstring).
SETTLED_KEPT_SECONDS = 7 * 24 * 3600
# Numbers every replica agrees on: serialise creating and upgrading the table, and claiming.
_SCHEMA_LOCK = 0x6D656D62
_CLAIM_LOCK = 0x6D656D63
_making = threading.Lock()


def store_url() -> str:
    """The shared store's URL if one is set, else the SQLite file's."""
    return pending_store_url_checked(get_settings())


def engine() -> Engine:
    # The replayer's thread and an action keeping a request may ask at the same moment: one
    # creates the engine (and the table), the other waits for it.
    with _making:
        return _engine(store_url())


@lru_cache
def _engine(url: str) -> Engine:
    made = sa.engine.make_url(url)
    if made.get_backend_name() == "sqlite":
        if made.database:
            Path(made.database).parent.mkdir(parents=True, exist_ok=True)
        built = sa.create_engine(made, connect_args={"timeout": 10}, future=True)
    else:
        # pool_pre_ping: a replica outlives PostgreSQL restarts and failovers. connect_timeout:
        # keeping a request runs while a member waits, so an unreachable database fails fast.
        built = sa.create_engine(
            made,
            pool_pre_ping=True,
            pool_size=2,
            connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
            future=True,
        )
    try:
        with built.begin() as conn:
            _create_or_upgrade(conn)
    except sa.exc.OperationalError:
        # Another process created the table between our look and our CREATE (SQLite has no
        # advisory lock); the second look sees it. PostgreSQL's failure is the database's own.
        if built.dialect.name != "sqlite":
            raise
        with built.begin() as conn:
            _create_or_upgrade(conn)
    return built


def _create_or_upgrade(conn: Connection) -> None:
    """The table as this version needs it, keeping every row an older version stored."""
    if conn.dialect.name == "postgresql":
        # Replicas starting together would otherwise race to create the same table.
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
    metadata.create_all(conn, checkfirst=True)
    present = {column["name"] for column in sa.inspect(conn).get_columns("pending_requests")}
    for name in ADDED_LATER:
        if name not in present:
            kind = pending_requests.c[name].type.compile(dialect=conn.dialect)
            conn.execute(sa.text(f"ALTER TABLE pending_requests ADD COLUMN {name} {kind}"))


def add(
    *,
    method: str,
    path: str,
    body: dict[str, Any],
    channel: str,
    member_token: str | None,
    idempotency_key: str | None,
) -> int:
    """Store one request; its id."""
    with engine().begin() as conn:
        result = conn.execute(
            pending_requests.insert().values(
                created=time.time(),
                method=method,
                path=path,
                body=json.dumps(body),
                channel=channel,
                member_token=member_token,
                idempotency_key=idempotency_key,
            )
        )
        return int(result.inserted_primary_key[0])


def unsettled() -> list[dict[str, Any]]:
    """Requests not yet replayed, oldest first, claimed or not."""
    table = pending_requests
    query = (
        sa.select(*(table.c[name] for name in COLUMNS))
        .where(table.c.outcome.is_(None))
        .order_by(table.c.id)
    )
    with engine().connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def new_claimer() -> str:
    """A name for one replay pass, unique across replicas."""
    return uuid.uuid4().hex


def claim(claimer: str, *, limit: int = BATCH, lease: float = LEASE_SECONDS) -> list[dict]:
    """The oldest `limit` unsettled rows, unless another claimer's lease is still running.

    Claims are made one at a time (PostgreSQL: an advisory lock held until the claim commits;
    SQLite: one writer at a time), so the next claimer sees the last one's rows. Within a claim,
    the conditions are re-checked on each row updated, and rows another transaction has locked
    are skipped, so a row is never taken twice.
    """
    table, now = pending_requests, time.time()
    held = table.alias("held")
    free = sa.and_(
        table.c.outcome.is_(None),
        sa.or_(table.c.claimed_until.is_(None), table.c.claimed_until < now),
        ~sa.exists().where(held.c.outcome.is_(None), held.c.claimed_until >= now),
    )
    candidates = (
        sa.select(table.c.id)
        .where(free)
        .order_by(table.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    with engine().begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CLAIM_LOCK})
        conn.execute(
            table.update()
            .where(table.c.id.in_(candidates), free)
            .values(claimed_by=claimer, claimed_until=now + lease)
        )
        rows = conn.execute(
            sa.select(*(table.c[name] for name in COLUMNS))
            .where(table.c.claimed_by == claimer, table.c.outcome.is_(None))
            .order_by(table.c.id)
        )
        return [dict(row._mapping) for row in rows]


def still_held(claimer: str, row_id: int, *, lease: float = LEASE_SECONDS) -> bool:
    """Renew the claim on one row just before sending it; False if another claimer took it."""
    table, now = pending_requests, time.time()
    with engine().begin() as conn:
        result = conn.execute(
            table.update()
            .where(
                table.c.id == row_id,
                table.c.claimed_by == claimer,
                table.c.outcome.is_(None),
                table.c.claimed_until >= now,
            )
            .values(claimed_until=now + lease)
        )
        return result.rowcount == 1


def settle(row_id: int, outcome: str) -> None:
    """What became of a row; it is never sent again, so its member's token is not kept."""
    table = pending_requests
    with engine().begin() as conn:
        conn.execute(
            table.update()
            .where(table.c.id == row_id)
            .values(outcome=outcome, settled=time.time(), member_token=None, claimed_by=None,
                    claimed_until=None)
        )


def not_yet(row_id: int) -> None:
    """The API is still down: count the attempt."""
    table = pending_requests
    with engine().begin() as conn:
        conn.execute(
            table.update().where(table.c.id == row_id).values(attempts=table.c.attempts + 1)
        )


def release(claimer: str) -> None:
    """Give back what this claimer still holds, for the next pass (here or on another replica)."""
    table = pending_requests
    with engine().begin() as conn:
        conn.execute(
            table.update()
            .where(table.c.claimed_by == claimer, table.c.outcome.is_(None))
            .values(claimed_by=None, claimed_until=None)
        )


def forget_settled(*, kept_seconds: float = SETTLED_KEPT_SECONDS) -> int:
    """Delete the rows settled more than `kept_seconds` ago; how many went."""
    table, cutoff = pending_requests, time.time() - kept_seconds
    # Rows an older version settled have no settling time: their storing time stands in.
    settled_when = sa.func.coalesce(table.c.settled, table.c.created)
    with engine().begin() as conn:
        result = conn.execute(
            table.delete().where(table.c.outcome.is_not(None), settled_when < cutoff)
        )
        return int(result.rowcount or 0)
