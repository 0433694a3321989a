"""The Alembic history builds exactly the schema the models describe, on both databases; two
upgrades at once take turns; `memberdesk db check` tells a schema at head from one that is not.

A model change without a migration would pass every other test (they build the schema from the
models) and then fail on a real deployment; this test is what catches it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
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
from api.migrate import SCHEMA_LOCK_KEY, schema_state, upgrade
from tests.api.conftest import POSTGRES_URL, _postgres_engine

ROOT = Path(__file__).resolve().parents[2]

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


# --- one upgrade at a time, and the check the api pods wait on ------------------------------


def memberdesk(url: str, *args: str, cwd: Path) -> subprocess.Popen[str]:
    """Start `python -m api.cli ARGS...` as the migrate Job runs it: its own process, with the
    database URL and no secret, even where production refuses to run without one."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("MEMBERDESK_")}
    env.update(
        {"MEMBERDESK_DATABASE_URL": url, "MEMBERDESK_ENV": "production", "PYTHONPATH": str(ROOT)}
    )
    # cwd: a folder with no .env, so a developer's settings are not read.
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(process: subprocess.Popen[str]) -> tuple[int, str]:
    out, err = process.communicate(timeout=120)
    return process.returncode, (out or "") + err


def _revisions(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if "alembic_version" not in inspect(conn).get_table_names():
                return []
            return list(conn.scalars(text("SELECT version_num FROM alembic_version")))
    finally:
        engine.dispose()


@pytest.mark.parametrize("empty_database", ["postgresql"], indirect=True)
def test_two_upgrades_at_once_take_turns_and_both_succeed(
    empty_database: str, tmp_path: Path
) -> None:
    holder = create_engine(empty_database)
    with holder.connect() as lock:
        # Held here, so both upgrades are surely running at the same moment when it is let go.
        lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
        lock.commit()
        upgrades = [memberdesk(empty_database, "db", "upgrade", cwd=tmp_path) for _ in range(2)]
        waiting = 0
        deadline = time.monotonic() + 60
        while waiting < 2:
            assert time.monotonic() < deadline, "the upgrades never waited for the schema lock"
            assert all(p.poll() is None for p in upgrades), [finished(p) for p in upgrades]
            time.sleep(0.2)
            waiting = lock.scalar(
                text(
                    "SELECT count(*) FROM pg_locks JOIN pg_database d ON d.oid = database "
                    "WHERE locktype = 'advisory' AND NOT granted AND d.datname = current_database()"
                )
            )
            lock.commit()
        assert _revisions(empty_database) == [], "an upgrade changed the schema before its turn"
        lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEMA_LOCK_KEY})
        lock.commit()
        results = [finished(process) for process in upgrades]
    holder.dispose()
    for code, output in results:
        assert code == 0, output
        assert "waiting for it" in output and "is up to date" in output
    assert _revisions(empty_database) == list(schema_state(empty_database).heads)
    engine = make_engine(empty_database)
    try:
        assert _schema_differences(engine) == []
    finally:
        engine.dispose()


def test_db_check_fails_until_the_schema_is_at_head(empty_database: str, tmp_path: Path) -> None:
    head = ", ".join(schema_state(empty_database).heads)

    code, output = finished(memberdesk(empty_database, "db", "check", cwd=tmp_path))
    assert code == 1 and "no memberdesk schema yet" in output and head in output, output

    upgrade(empty_database, "0001")
    code, output = finished(memberdesk(empty_database, "db", "check", cwd=tmp_path))
    assert code == 1, output
    assert f"is at 0001; this release needs {head}" in output

    upgrade(empty_database)
    code, output = finished(memberdesk(empty_database, "db", "check", cwd=tmp_path))
    assert code == 0, output
    assert f"at this release's head, {head}" in output
    assert _revisions(empty_database) == [head], "the check changed nothing"


def test_db_check_waits_for_the_migration(empty_database: str, tmp_path: Path) -> None:
    check = memberdesk(empty_database, "db", "check", "--wait", "60", cwd=tmp_path)
    assert check.stderr is not None
    first = check.stderr.readline()  # the process ends within its 60 s if it never says it
    assert first.startswith("waiting: ") and "no memberdesk schema yet" in first, first
    started = time.monotonic()
    upgrade(empty_database)
    code, output = finished(check)
    assert code == 0, first + output
    assert "at this release's head" in output
    assert time.monotonic() - started < 30


def test_db_check_gives_up_at_its_deadline(empty_database: str, tmp_path: Path) -> None:
    started = time.monotonic()
    code, output = finished(memberdesk(empty_database, "db", "check", "--wait", "3", cwd=tmp_path))
    assert code == 1 and "no memberdesk schema yet" in output, output
    assert time.monotonic() - started < 30


def test_db_check_does_not_wait_for_a_schema_from_a_later_release(
    empty_database: str, tmp_path: Path
) -> None:
    upgrade(empty_database)
    engine = make_engine(empty_database)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = 'f00dcafe1234'"))
    finally:
        engine.dispose()
    started = time.monotonic()
    code, output = finished(memberdesk(empty_database, "db", "check", "--wait", "60", cwd=tmp_path))
    assert code == 1, output
    assert "at f00dcafe1234, a revision this release does not know" in output
    assert time.monotonic() - started < 30, "waiting cannot bring this release's code forward"


def test_db_check_reports_an_unreachable_database_in_a_sentence(tmp_path: Path) -> None:
    url = "postgresql+psycopg2://memberdesk:secret-password@127.0.0.1:1/memberdesk"
    code, output = finished(memberdesk(url, "db", "check", cwd=tmp_path))
    assert code == 1
    assert "could not connect to the database at" in output, output
    assert "secret-password" not in output and "Traceback" not in output
