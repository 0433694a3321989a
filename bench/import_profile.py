"""Where a members.csv import's CPU goes: validating the rows, and writing them.

Not a test: run it by hand. It writes the benchmark's members.csv (bench/api_bench.py), reads
it once through validation alone, then imports it into a fresh schema, and prints the CPU this
process used per row for each (the database server's own CPU is not in it).

    python bench/import_profile.py --database-url sqlite:///var/import-profile.db
    python bench/import_profile.py --database-url postgresql+psycopg2://postgres@127.0.0.1:5432/memberdesk_bench

"This process" is the writer only: with --validation-workers (by default one per spare core)
the validating processes' CPU is not in it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy.orm import Session  # noqa: E402

import api.models  # noqa: E402,F401
from api.database import Base, make_engine  # noqa: E402
from api.errors import InvalidValue  # noqa: E402
from api.imports.member_rows import validated_rows  # noqa: E402
from api.imports.members_csv import import_members  # noqa: E402
from api.timekeeping import today  # noqa: E402
from api.validation import normalise_phone  # noqa: E402
from bench.api_bench import fresh_postgres, write_members_csv  # noqa: E402


def per_row(seconds: float, rows: int) -> str:
    return f"{seconds / rows * 1e6:.0f} microseconds a row ({rows / seconds:,.0f} rows/s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument(
        "--validation-workers",
        type=int,
        default=None,
        help="processes validating beside the writer (default: one per spare core; 0: none)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        members_csv = Path(tmp) / "members.csv"
        write_members_csv(members_csv, args.members)

        with members_csv.open("rb") as stream:
            cpu = time.process_time()
            rows = sum(1 for _ in validated_rows(stream, today=today()))
            print("validation alone:", per_row(time.process_time() - cpu, rows))

        # Distinct numbers: the benchmark's file repeats a thousand, a real export does not.
        phones = [f"07{700000000 + i * 37:09d}" for i in range(20_000)]
        cpu, valid = time.process_time(), 0
        for phone in phones:
            try:
                normalise_phone(phone)
                valid += 1
            except InvalidValue:
                pass
        print(
            f"  of which a phone number ({valid:,} of {len(phones):,} valid):",
            per_row(time.process_time() - cpu, len(phones)),
        )

        if args.database_url.startswith("postgresql"):
            fresh_postgres(args.database_url)
        engine = make_engine(args.database_url)
        Base.metadata.drop_all(engine)
        Base.metadata.create_all(engine)
        with Session(engine) as session, members_csv.open("rb") as stream:
            cpu, wall = time.process_time(), time.perf_counter()
            summary = import_members(
                db_session=session,
                stream=stream,
                source_name="members.csv",
                validation_workers=args.validation_workers,
            )
            session.commit()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        engine.dispose()
        print("import, this process:", per_row(cpu, summary.created))
        print(f"import, wall clock: {summary.created / wall:,.0f} rows/s")


if __name__ == "__main__":
    main()
