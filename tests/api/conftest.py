"""Fixtures for the records API: every test runs on SQLite and on PostgreSQL.

PostgreSQL comes from MEMBERDESK_TEST_POSTGRES_URL (default: the local server). When it cannot
be reached the PostgreSQL half skips with a loud reason, unless MEMBERDESK_REQUIRE_POSTGRES=1
(CI sets it), which turns that skip into a failure.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.orm import Session, sessionmaker

import api.models  # noqa: F401
from api.config import Settings, get_settings
from api.database import Base, get_db, make_engine
from api.deps import app_settings
from api.main import create_app
from api.security import issue_member_token, issue_staff_token

# Unless a database is named, each test run makes its own and drops it afterwards, so two runs
# on one machine (two checkouts, or a developer beside CI) never empty each other's tables.
NAMED_POSTGRES_URL = os.environ.get("MEMBERDESK_TEST_POSTGRES_URL")
POSTGRES_URL = NAMED_POSTGRES_URL or (
    f"postgresql+psycopg2://postgres@127.0.0.1:5432/memberdesk_test_{os.getpid()}"
)
SERVICE_TOKEN = "test-service-token-0123456789abcdef"


def _postgres_engine() -> Engine:
    admin_url, _, name = POSTGRES_URL.rpartition("/")
    try:
        admin = create_engine(f"{admin_url}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server means "no PostgreSQL"
        message = f"PostgreSQL not reachable at {POSTGRES_URL}: {exc.__class__.__name__}: {exc}"
        if os.environ.get("MEMBERDESK_REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip("SKIPPING POSTGRESQL TESTS - " + message)
    return make_engine(POSTGRES_URL)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A fresh schema on each database kind, built once per test session."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "memberdesk.db"
        eng = make_engine(f"sqlite:///{path}")
    else:
        eng = _postgres_engine()
        # The whole schema, not just our tables: a run of another version of the code may have
        # left tables (and foreign keys into ours) that this version's metadata knows nothing of.
        with eng.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    Base.metadata.create_all(eng)
    yield eng
    eng.dispose()
    if request.param == "postgresql" and not NAMED_POSTGRES_URL:
        _drop_database(POSTGRES_URL)


def _drop_database(url: str) -> None:
    server, _, name = url.rpartition("/")
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session on an empty database; every row is removed after the test."""
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory() as session:
        yield session
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def settings() -> Settings:
    return Settings(
        env="test", service_token=SERVICE_TOKEN, secret_key="test-secret-key-" + "x" * 32
    )


def real_app(engine: Engine, settings: Settings) -> FastAPI:
    """The real app, on the test database and with the test settings."""
    factory = sessionmaker(bind=engine, expire_on_commit=False)

    def _db() -> Iterator[Session]:
        with factory() as session:
            yield session

    get_settings.cache_clear()
    app = create_app()
    app.dependency_overrides[get_db] = _db
    app.dependency_overrides[app_settings] = lambda: settings
    return app


@contextmanager
def real_app_client(engine: Engine, settings: Settings, **options: Any) -> Iterator[TestClient]:
    """A TestClient on the real app, on the test database; `options` go to TestClient."""
    with TestClient(real_app(engine, settings), **options) as client:
        yield client


@pytest.fixture
def app_client(engine: Engine, db: Session, settings: Settings) -> Iterator[TestClient]:
    """A TestClient on the real app, on the test database, with no token set."""
    with real_app_client(engine, settings) as client:
        yield client


_MEMBER_PATH = re.compile(r"^/api/v1/members/([^/]+)(?:/|$)")


class AsTheAssistant(httpx.Auth):
    """The tokens the action server uses: a member's own for their record, else the service's.

    The action server never reaches a record with the service token; it uses the token the
    identity check issued to that member. This issues the same token for the number in the
    path (for a number nobody holds, one that names nobody, so the API answers its 404).
    A request that carries another token of its own is left alone.
    """

    def __init__(self, *, settings: Settings, db: Session) -> None:
        self._settings = settings
        self._db = db
        self._lock = threading.Lock()  # a test may call from several threads; the session is one

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        path = _MEMBER_PATH.match(request.url.path)
        if path and request.headers.get("Authorization") == f"Bearer {SERVICE_TOKEN}":
            number = path[1]
            with self._lock:
                member_id = self._db.scalar(
                    select(api.models.Member.id)
                    .where(api.models.Member.membership_number == number)
                )
            token, _ = issue_member_token(
                settings=self._settings, member_id=member_id or 0, membership_number=number
            )
            request.headers["Authorization"] = f"Bearer {token}"
        yield request


@pytest.fixture
def service_client(app_client: TestClient, settings: Settings, db: Session) -> TestClient:
    """The API as the action server sees it (AsTheAssistant)."""
    app_client.headers["Authorization"] = f"Bearer {SERVICE_TOKEN}"
    app_client.auth = AsTheAssistant(settings=settings, db=db)
    return app_client


@pytest.fixture
def service_only_client(app_client: TestClient) -> TestClient:
    """The API called with the service token alone, as a forged or careless caller would."""
    app_client.headers["Authorization"] = f"Bearer {SERVICE_TOKEN}"
    return app_client


def member_headers(
    settings: Settings, member: api.models.Member, *, identity_level: str = "identity_checked"
) -> dict[str, str]:
    """Headers carrying a member-scoped token for `member`, as the identity check issues it (or
    as signing in on the website does, identity_level="signed_in")."""
    token, _ = issue_member_token(
        settings=settings, member_id=member.id, membership_number=member.membership_number,
        identity_level=identity_level,
    )
    return {"Authorization": f"Bearer {token}"}


def staff_headers(settings: Settings, staff: api.models.StaffUser) -> dict[str, str]:
    """Headers carrying a staff token for `staff`."""
    token = issue_staff_token(
        settings=settings, staff_id=staff.id, username=staff.username, role=staff.role.value
    )
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def artifacts_dir() -> Path:
    path = Path(__file__).resolve().parents[2] / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path
