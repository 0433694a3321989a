"""Writes a new Alembic migration for whatever the models have gained since the last one.

Usage: .venv/api/bin/python scripts/new_migration.py "what changed"

Autogenerate compares the models with a database, so this builds a throwaway SQLite database at
the current head first; the result lands in api/migrations/versions/ for review.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

from api.migrate import alembic_config, upgrade


def main(message: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'head.db'}"
        upgrade(url)
        command.revision(alembic_config(url), message=message, autogenerate=True)


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].strip():
        sys.exit('usage: new_migration.py "what changed"')
    main(sys.argv[1])
