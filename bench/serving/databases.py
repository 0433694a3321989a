"""Throwaway databases for the serving benchmark, and Rasa's endpoints pointing at them.

Each configuration gets its own PostgreSQL databases and Redis key prefix, dropped or cleared
afterwards, so that two runs never share one.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.commands import action_endpoint
from harness.processes import ROOT

PRODUCTION_ENDPOINTS = ROOT / "bot/endpoints.production.yml"
POSTGRES = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
REDIS = {"host": "127.0.0.1", "port": 6379}


@contextmanager
def postgres_database(name: str) -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards."""
    import psycopg2

    def admin(sql: str) -> None:
        connection = psycopg2.connect(dbname="postgres", **POSTGRES)
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql)
        finally:
            connection.close()

    admin(f'DROP DATABASE IF EXISTS "{name}"')
    admin(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def clear_redis_prefix(prefix: str) -> None:
    import redis

    client = redis.Redis(db=1, **REDIS)
    try:
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def production_endpoints(folder: Path, *, actions_url: str, tracker_db: str,
                         lock_prefix: str, postgres_port: int | None = None,
                         redis_port: int | None = None) -> Path:
    """bot/endpoints.production.yml with its variables filled for this machine (the ports
    may be a fault relay's, harness/faults.py)."""
    values = {
        "MEMBERDESK_ACTIONS_URL": actions_url,
        "MEMBERDESK_TRACKER_DB_HOST": POSTGRES["host"],
        "MEMBERDESK_TRACKER_DB_PORT": str(postgres_port or POSTGRES["port"]),
        "MEMBERDESK_TRACKER_DB_NAME": tracker_db,
        "MEMBERDESK_TRACKER_DB_USER": POSTGRES["user"],
        "MEMBERDESK_TRACKER_DB_PASSWORD": "",
        "MEMBERDESK_REDIS_HOST": REDIS["host"],
        "MEMBERDESK_REDIS_PORT": str(redis_port or REDIS["port"]),
    }
    text = PRODUCTION_ENDPOINTS.read_text()
    for variable, value in values.items():
        text = text.replace("${" + variable + "}", value)
    text = text.replace("key_prefix: memberdesk", f"key_prefix: {lock_prefix}")
    path = folder / "endpoints.yml"
    path.write_text(text)
    return path


def plain_endpoints(folder: Path, actions_url: str) -> Path:
    """Like bot/endpoints.yml: the action server only, in-memory tracker and lock stores."""
    path = folder / "endpoints.yml"
    path.write_text(action_endpoint(actions_url))
    return path


@contextmanager
def contextlib_for(database: str, folder: Path) -> Iterator[tuple[str, Callable[[str], Path]]]:
    """The API's database URL and Rasa's endpoints for one of our configurations."""
    folder.mkdir(parents=True, exist_ok=True)
    if database == "sqlite":
        yield (f"sqlite:///{folder / 'memberdesk.db'}",
               lambda url: plain_endpoints(folder, url))
        return
    if database != "postgresql":
        raise SystemExit(f"unknown database {database!r}")
    suffix = f"{os.getpid()}_{int(time.time())}"
    # Rasa takes only an alphanumeric prefix, and adds ":lock:" after it.
    prefix = f"memberdeskbench{os.getpid()}{int(time.time())}"
    with postgres_database(f"memberdesk_bench_api_{suffix}") as api_db, \
            postgres_database(f"memberdesk_bench_tracker_{suffix}") as tracker_db:
        try:
            yield (f"postgresql+psycopg2://{POSTGRES['user']}@{POSTGRES['host']}:"
                   f"{POSTGRES['port']}/{api_db}",
                   lambda url: production_endpoints(folder, actions_url=url,
                                                     tracker_db=tracker_db,
                                                     lock_prefix=prefix))
        finally:
            clear_redis_prefix(prefix)

