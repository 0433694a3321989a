"""Importing members.csv (see /work/shared/contract/import-files.md).

The file is streamed and written in batches inside the caller's one transaction: a bad row
anywhere raises ImportFailed and the caller rolls everything back. Rows already matching
the database are left alone (no version bump, no history, no audit), so importing the same
file twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from itertools import islice
from typing import BinaryIO

from sqlalchemy.orm import Session

from api.audit.service import record
from api.imports.bulk import IMPORT_ACTOR, EmployerDirectory, ImportSummary
from api.imports.member_copy import analyse_after_bulk_load
from api.imports.member_rows import MemberRow, validated_rows
from api.imports.member_writes import apply_batch
from api.imports.parallel import spare_cores
from api.timekeeping import today as today_utc

BATCH_SIZE = 1000


def _batches(rows: Iterator[MemberRow], size: int) -> Iterator[list[MemberRow]]:
    while batch := list(islice(rows, size)):
        yield batch


def import_members(
    *,
    db_session: Session,
    stream: BinaryIO,
    source_name: str,
    today: date | None = None,
    batch_size: int = BATCH_SIZE,
    validation_workers: int | None = None,
) -> ImportSummary:
    """Upsert every member in a members.csv stream; the caller commits or rolls back.

    Rows are validated in `validation_workers` other processes (by default one per spare
    core) once the file is longer than one batch; 0 validates them all in this process."""
    as_of = today or today_utc()
    summary = ImportSummary()
    directory = EmployerDirectory(db_session, summary).load()
    workers = spare_cores() if validation_workers is None else validation_workers
    rows = validated_rows(stream, today=as_of, workers=workers, chunk_size=batch_size)
    for batch in _batches(rows, batch_size):
        apply_batch(
            db_session=db_session, batch=batch, directory=directory, summary=summary, today=as_of
        )
    if summary.changed_anything:
        record(
            db_session=db_session,
            actor=IMPORT_ACTOR,
            action="members.imported",
            channel="cli",
            detail=summary.audit_detail(source_name),
        )
        db_session.flush()
    analyse_after_bulk_load(db_session, summary.created + summary.updated)
    return summary
