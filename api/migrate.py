"""Running Alembic migrations from code (the CLI and the tests use this), one at a time, and
asking whether a database's schema is the one this code was written for."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from api.database import make_engine

MIGRATIONS = Path(__file__).parent / "migrations"

# The PostgreSQL advisory lock every Alembic run on a memberdesk database holds (a bigint; it
# spells nothing, it only has to be ours). Advisory locks are per database, so two memberdesk
# databases on one server never wait for each other.
SCHEMA_LOCK_KEY = 7_302_015_441_690_815_821

log = logging.getLogger(__name__)


def alembic_config(database_url: str) -> Config:
    """An Alembic config for `database_url` without needing an alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url)
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database's schema up to `revision` (waiting for any upgrade already running)."""
    command.upgrade(alembic_config(database_url), revision)


@contextmanager
def schema_lock(connection: Connection) -> Iterator[None]:
    """Hold the schema lock on `connection` while the block runs (PostgreSQL; SQLite: nothing).

    Two upgrades at once (a migration Job's retry while its first pod still runs, compose's
    `migrate` beside the cluster's Job) would both read the old revision and both create the
    same tables; with the lock the second waits, then reads the new revision and does nothing.
    SQLite needs none: one writer at a time is all it allows.
    """
    if connection.dialect.name != "postgresql":
        yield
        return
    key = {"key": SCHEMA_LOCK_KEY}
    if not connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), key):
        log.warning("another schema upgrade is running on this database; waiting for it")
        connection.execute(text("SELECT pg_advisory_lock(:key)"), key)
    # A session lock: it outlives this transaction, which is ended so that Alembic begins its
    # own, whose first read of the revision comes after the other upgrade committed.
    connection.commit()
    try:
        yield
    finally:
        # A lost connection released the lock with it; closing one releases it too.
        if not connection.invalidated and not connection.closed:
            connection.rollback()
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), key)
            connection.commit()


@dataclass(frozen=True)
class SchemaState:
    """Where a database's schema stands against this code's migrations."""

    url: str  # as shown to people: no password
    current: tuple[str, ...]  # the revisions the database records (none before the first upgrade)
    heads: tuple[str, ...]  # this code's latest revisions
    unknown: tuple[str, ...]  # recorded revisions this code's history does not hold

    @property
    def at_head(self) -> bool:
        return set(self.current) == set(self.heads)

    def explain(self) -> str:
        """One sentence an operator can act on."""
        head = ", ".join(self.heads)
        if self.at_head:
            return f"the schema at {self.url} is at this release's head, {head}"
        if self.unknown:
            return (
                f"the schema at {self.url} is at {', '.join(self.unknown)}, a revision this "
                f"release does not know (a later release migrated it); this release needs {head}"
            )
        if not self.current:
            return (
                f"the database at {self.url} has no memberdesk schema yet; this release needs "
                f"{head}: run `memberdesk db upgrade` (on Kubernetes, the migrate Job)"
            )
        return (
            f"the schema at {self.url} is at {', '.join(self.current)}; this release needs "
            f"{head}: run `memberdesk db upgrade` (on Kubernetes, the migrate Job)"
        )


def schema_state(database_url: str) -> SchemaState:
    """Read the database's revision and compare it with this code's head. Changes no table."""
    scripts = ScriptDirectory(str(MIGRATIONS))
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_heads()
    finally:
        engine.dispose()
    known = {script.revision for script in scripts.walk_revisions()}
    return SchemaState(
        url=engine.url.render_as_string(hide_password=True),
        current=tuple(sorted(current)),
        heads=tuple(sorted(scripts.get_heads())),
        unknown=tuple(sorted(set(current) - known)),
    )
