"""The console's browser-like client, and a real Rasa tracker store (data-protection tests)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import (
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    Sequence,
    String,
    Table,
    Text,
    create_engine,
    text,
)

from tests.api.conftest import POSTGRES_URL, _postgres_engine
from tests.api.console.conftest import console  # noqa: F401 - a fixture, shared

RASA = MetaData()
# As rasa.core.tracker_store.SQLTrackerStore.SQLEvent declares it (Rasa 3.6).
RASA_EVENTS = Table(
    "events", RASA,
    Column("id", Integer, Sequence("events_seq"), primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


@pytest.fixture
def rasa_tracker_store(engine: Engine, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty tracker store of the records database's kind, with Rasa's `events`."""
    if engine.dialect.name == "sqlite":
        url = f"sqlite:///{tmp_path / 'tracker.db'}"
    else:
        _postgres_engine().dispose()
        server, _, name = POSTGRES_URL.rpartition("/")
        url = f"{server}/{name}_tracker"
        admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}_tracker"'))
            conn.execute(text(f'CREATE DATABASE "{name}_tracker"'))
    store = create_engine(url)
    RASA.create_all(store)
    store.dispose()
    yield url
    if engine.dialect.name != "sqlite":
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}_tracker" WITH (FORCE)'))
        admin.dispose()
