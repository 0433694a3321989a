"""Benchmark of the records API: bulk import rate, then member look-up and ballot eligibility
latency under 32 concurrent clients, on SQLite and PostgreSQL.

Not a test: run it by hand and commit the results it writes.

    python bench/api_bench.py                       # 100,000 members, both databases
    python bench/api_bench.py --members 20000 --skip-http

Results go to docs/bench-api.json and docs/bench-api.md. Aims: import >= 5,000 rows/s,
look-up p95 < 10 ms, eligibility p95 < 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import platform
import random
import shlex
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

import api.models  # noqa: E402,F401
from api.database import Base, make_engine  # noqa: E402
from api.imports.ballots_csv import BALLOT_COLUMNS, import_ballots  # noqa: E402
from api.imports.member_rows import MEMBER_COLUMNS  # noqa: E402
from api.imports.members_csv import import_members  # noqa: E402
from api.timekeeping import today  # noqa: E402
from harness.processes import Server, free_port, start, stop, wait_until_up  # noqa: E402

SERVICE_TOKEN = "bench-service-token-0123456789abcdef0123"  # noqa: S105 - local bench only
BALLOT_CODE = "IA-BENCH-1"
AIMS = {"import_rows_per_second": 5000, "lookup_p95_ms": 10, "eligibility_p95_ms": 20}
TOWNS = (
    ("Leeds", "LS"),
    ("Manchester", "M"),
    ("Bristol", "BS"),
    ("Sheffield", "S"),
    ("Nottingham", "NG"),
    ("Cardiff", "CF"),
    ("Glasgow", "G"),
    ("Norwich", "NR"),
)
EMPLOYERS = [
    f"{town} {kind}"
    for town, _ in TOWNS
    for kind in ("Teaching Hospitals NHS Trust", "City Council", "University")
]


def write_members_csv(path: Path, count: int) -> None:
    """A deterministic members.csv of `count` rows."""
    rng = random.Random(2026)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(MEMBER_COLUMNS)
        for i in range(count):
            town, area = rng.choice(TOWNS)
            employer = rng.choice(EMPLOYERS)
            joined = date(2000, 1, 1) + timedelta(days=rng.randint(0, 8000))
            writer.writerow(
                [
                    1000001 + i,
                    rng.choice(("Ms", "Mr", "Mx", "Dr", "")),
                    f"First{i % 997}",
                    f"Last{i % 1999}",
                    (date(1960, 1, 1) + timedelta(days=rng.randint(0, 14000))).isoformat(),
                    f"member{i}@example.org",
                    f"07700900{i % 1000:03d}",
                    f"{rng.randint(1, 200)} High Street",
                    "",
                    town,
                    f"{area}{rng.randint(1, 19)} {rng.randint(1, 9)}AB",
                    employer,
                    f"Site {rng.randint(1, 6)}",
                    "Staff Nurse",
                    "Band 5",
                    "full",
                    rng.choice(("active",) * 9 + ("lapsed",)),
                    "direct_debit",
                    "monthly",
                    "24.50",
                    "0.00",
                    joined.isoformat(),
                    "",
                    rng.choice(("yes", "no")),
                ]
            )


def write_ballots_csv(path: Path) -> None:
    """One open ballot over half the employers, registered before the import date."""
    now = today()
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(BALLOT_COLUMNS)
        writer.writerow(
            [
                BALLOT_CODE,
                "Benchmark ballot",
                "Are you prepared to take strike action?",
                "; ".join(EMPLOYERS[::2]),
                (now - timedelta(days=7)).isoformat(),
                now.isoformat(),
                (now + timedelta(days=21)).isoformat(),
                "postal",
            ]
        )


def fresh_postgres(url: str) -> None:
    """Create the benchmark database if it is missing."""
    admin_url, _, name = url.rpartition("/")
    admin = create_engine(f"{admin_url}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def bench_import(url: str, members_csv: Path, ballots_csv: Path) -> dict[str, Any]:
    """Fresh schema, then time the members import (and load the ballot)."""
    engine = make_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with Session(engine) as session, members_csv.open("rb") as stream:
        started = time.perf_counter()
        summary = import_members(db_session=session, stream=stream, source_name=members_csv.name)
        session.commit()
        seconds = time.perf_counter() - started
    with Session(engine) as session, members_csv.open("rb") as stream:
        started = time.perf_counter()
        again = import_members(db_session=session, stream=stream, source_name=members_csv.name)
        session.commit()
        unchanged_seconds = time.perf_counter() - started
    with Session(engine) as session, ballots_csv.open("rb") as stream:
        import_ballots(db_session=session, stream=stream, source_name=ballots_csv.name)
        session.commit()
    engine.dispose()
    return {
        "rows": summary.created,
        "seconds": round(seconds, 2),
        "rows_per_second": round(summary.created / seconds),
        "reimport_unchanged_rows": again.unchanged,
        "reimport_seconds": round(unchanged_seconds, 2),
        "reimport_rows_per_second": round(again.unchanged / unchanged_seconds),
    }


def start_api(url: str, port: int, workers: int) -> Server:
    """uvicorn with `workers` workers on `url`'s database, answering on 127.0.0.1:`port`."""
    env = {
        "MEMBERDESK_DATABASE_URL": url,
        "MEMBERDESK_SERVICE_TOKEN": SERVICE_TOKEN,
        "MEMBERDESK_ENV": "development",
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory",
               "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
               "--log-level", "warning", "--no-access-log"]
    server = start("records API", command, env=env,
                   health=f"http://127.0.0.1:{port}/api/v1/health")
    try:
        wait_until_up([server], 30)
    except RuntimeError:
        stop([server])
        raise
    return server


async def measure(
    base: str, paths: list[str], clients: int, max_requests: int, max_seconds: float
) -> dict[str, Any]:
    """Latency of GETs spread over `clients` concurrent clients, bounded in count and time."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    issued = 0
    deadline = time.monotonic() + max_seconds
    headers = {"Authorization": f"Bearer {SERVICE_TOKEN}"}

    async def client(seed: int) -> None:
        nonlocal issued
        rng = random.Random(seed)
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=10) as http:
            while issued < max_requests and time.monotonic() < deadline:
                issued += 1
                started = time.perf_counter()
                response = await http.get(rng.choice(paths))
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "seconds": round(elapsed, 2),
        "requests_per_second": round(len(ordered) / elapsed) if elapsed else 0,
        "p50_ms": round(statistics.median(ordered), 2) if ordered else None,
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1], 2) if ordered else None,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


def bench_http(url: str, members: int, args: argparse.Namespace) -> dict[str, Any]:
    """Start uvicorn on `url` and measure the two routes the assistant calls most."""
    port = free_port()
    server = start_api(url, port, args.workers)
    base = f"http://127.0.0.1:{port}"
    try:
        routes = set(httpx.get(f"{base}/api/v1/openapi.json", timeout=5).json().get("paths", {}))
        rng = random.Random(7)
        numbers = [str(1000001 + rng.randrange(members)) for _ in range(2000)]
        result: dict[str, Any] = {"workers": args.workers, "clients": args.clients}
        for name, template, path_of in (
            ("lookup", "/api/v1/members/{membership_number}", lambda n: f"/api/v1/members/{n}"),
            (
                "eligibility",
                "/api/v1/members/{membership_number}/ballots/{ballot_code}/eligibility",
                lambda n: f"/api/v1/members/{n}/ballots/{BALLOT_CODE}/eligibility",
            ),
        ):
            if template not in routes:
                result[name] = {"skipped": f"route {template} is not in the API yet"}
                continue
            paths = [path_of(n) for n in numbers]
            asyncio.run(measure(base, paths[:200], args.clients, 500, 10))  # warm-up
            result[name] = asyncio.run(
                measure(base, paths, args.clients, args.requests, args.duration)
            )
            # One client alone: the latency of the route itself, without queueing behind 31
            # others on a small machine.
            result[name]["single_client"] = asyncio.run(measure(base, paths, 1, 300, 10))
        return result
    finally:
        stop([server])


def write_reports(result: dict[str, Any], json_path: Path, md_path: Path) -> None:
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Records API benchmark",
        "",
        f"Run on {result['date']} ({result['machine']}), {result['members']:,} members; "
        f"load average at start {result.get('load_average_at_start')}.",
        "",
        "Command:",
        "",
        f"    {result['command']}",
        "",
        "Aims: import >= 5,000 rows/s; member look-up p95 < 10 ms; eligibility p95 < 20 ms.",
        "",
        "| database | import rows/s | re-import (unchanged) rows/s | "
        "look-up p50 / p95 ms, 32 clients | eligibility p50 / p95 ms, 32 clients |",
        "|---|---|---|---|---|",
    ]
    for name, db in result["databases"].items():
        imp = db["import"]

        def latency(key: str, db: dict[str, Any] = db) -> str:
            part = db.get("http", {}).get(key)
            if not part:
                return "not run"
            if "skipped" in part:
                return "route not built yet"
            alone = part.get("single_client", {})
            return (
                f"{part['p50_ms']} / {part['p95_ms']} ({part['requests_per_second']} req/s); "
                f"one client: {alone.get('p50_ms')} / {alone.get('p95_ms')}"
            )

        lines.append(
            f"| {name} | {imp['rows_per_second']:,} ({imp['seconds']} s) | "
            f"{imp['reimport_rows_per_second']:,} | {latency('lookup')} | "
            f"{latency('eligibility')} |"
        )
    lines += ["", "Full numbers, including status-code counts: `docs/bench-api.json`.", ""]
    md_path.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument(
        "--postgres-url", default="postgresql+psycopg2://postgres@127.0.0.1:5432/memberdesk_bench"
    )
    parser.add_argument("--sqlite-path", type=Path, default=ROOT / "var" / "bench.db")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=5000, help="per route, at most")
    parser.add_argument("--duration", type=float, default=20, help="seconds per route, at most")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--json", type=Path, default=ROOT / "docs" / "bench-api.json")
    parser.add_argument("--markdown", type=Path, default=ROOT / "docs" / "bench-api.md")
    args = parser.parse_args()

    urls = {"sqlite": f"sqlite:///{args.sqlite_path}", "postgresql": args.postgres_url}
    result: dict[str, Any] = {
        "date": today().isoformat(),
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        ),
        "command": "python bench/api_bench.py " + shlex.join(sys.argv[1:]),
        "members": args.members,
        # Other work on the machine inflates every number here; say how busy it was.
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "aims": AIMS,
        "databases": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        members_csv, ballots_csv = Path(tmp) / "members.csv", Path(tmp) / "ballots.csv"
        write_members_csv(members_csv, args.members)
        write_ballots_csv(ballots_csv)
        for name in args.databases.split(","):
            url = urls[name]
            if name == "postgresql":
                fresh_postgres(url)
            else:
                args.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
                args.sqlite_path.unlink(missing_ok=True)
            print(f"{name}: importing {args.members:,} members ...", flush=True)
            entry: dict[str, Any] = {"import": bench_import(url, members_csv, ballots_csv)}
            print(f"{name}: {entry['import']}", flush=True)
            if not args.skip_http:
                entry["http"] = bench_http(url, args.members, args)
                print(f"{name}: {entry['http']}", flush=True)
            result["databases"][name] = entry
    write_reports(result, args.json, args.markdown)
    print(f"wrote {args.json} and {args.markdown}")


if __name__ == "__main__":
    main()
