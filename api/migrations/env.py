"""Alembic environment: migrations run against the URL from settings (or the caller's config)."""

from __future__ import annotations

from alembic import context

import api.models  # noqa: F401  (fills Base.metadata)
from api.database import Base, make_engine
from api.migrate import schema_lock

config = context.config
url = config.get_main_option("sqlalchemy.url")


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(url)
    # Every run, whoever starts it (the migrate Job, compose's migrate, `make run`), holds the
    # schema lock: two upgrades of one database take turns.
    with engine.connect() as connection, schema_lock(connection):
        # Batch mode lets later migrations alter tables on SQLite too.
        context.configure(connection=connection, target_metadata=Base.metadata,
                          render_as_batch=True, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
