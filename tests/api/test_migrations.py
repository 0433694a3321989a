"""The Alembic history builds exactly the schema the models describe, on both databases.

A model change without a migration would pass every other test (they build the schema from the
models) and then fail on a real deployment; this test is what catches it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import Engine, create_engine, inspect, text

import api.models  # noqa: F401  (fills Base.metadata)
from api.cli import cli
from api.config import get_settings
from api.database import Base, make_engine
from api.migrate import upgrade
from tests.api.conftest import POSTGRES_URL, _postgres_engine

MIGRATION_DB = f"memberdesk_migrations_test_{os.getpid()}"  # one per run, as in conftest


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database with no tables at all."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    _postgres_engine().dispose()  # skips, or fails under CI, when PostgreSQL is unreachable
    server, _, _ = POSTGRES_URL.rpartition("/")
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{MIGRATION_DB}"'))
        conn.execute(text(f'CREATE DATABASE "{MIGRATION_DB}"'))
    yield f"{server}/{MIGRATION_DB}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{MIGRATION_DB}" WITH (FORCE)'))
    admin.dispose()


def _schema_differences(engine: Engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def test_upgrade_head_matches_the_models(empty_database: str) -> None:
    upgrade(empty_database)
    engine = make_engine(empty_database)
    try:
        assert _schema_differences(engine) == []
        assert "alembic_version" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_upgrade_is_safe_to_run_twice(empty_database: str) -> None:
    upgrade(empty_database)
    upgrade(empty_database)
    engine = make_engine(empty_database)
    try:
        with engine.connect() as conn:
            heads = conn.execute(text("SELECT version_num FROM alembic_version")).all()
        assert len(heads) == 1
    finally:
        engine.dispose()


def test_db_upgrade_command_builds_the_schema(empty_database: str) -> None:
    get_settings.cache_clear()
    result = CliRunner().invoke(
        cli, ["db", "upgrade"],
        env={"MEMBERDESK_DATABASE_URL": empty_database, "MEMBERDESK_ENV": "test"},
    )
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    engine = make_engine(empty_database)
    try:
        assert "members" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
