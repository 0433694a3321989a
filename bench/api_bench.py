"""Benchmark of the records API: bulk import rate, then member look-up and ballot eligibility
latency under 32 concurrent clients, on SQLite and PostgreSQL.

Not a test: run it by hand and commit the results it writes.

    python bench/api_bench.py                       # 100,000 members, both databases
    python bench/api_bench.py --members 20000 --skip-http

Results go to docs/bench-api.json and docs/bench-api.md. Aims: import >= 5,000 rows/s; at 32
clients, over 1,000 look-ups/s with a p95 under 50 ms (issue #15); look-up p95 < 10 ms,
eligibility p95 < 20 ms. An earlier run's JSON (--before) is shown beside this one.
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
import uvloop  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

import api.models  # noqa: E402,F401
from api.config import Settings  # noqa: E402
from api.database import Base, make_engine  # noqa: E402
from api.imports.ballots_csv import BALLOT_COLUMNS, import_ballots  # noqa: E402
from api.imports.member_rows import MEMBER_COLUMNS  # noqa: E402
from api.imports.members_csv import import_members  # noqa: E402
from api.members.models import Member  # noqa: E402
from api.security import issue_member_token  # noqa: E402
from api.timekeeping import today  # noqa: E402
from bench.keepalive import KeepAlive  # noqa: E402
from harness.processes import Server, free_port, start, stop, wait_until_up  # noqa: E402

SERVICE_TOKEN = "bench-service-token-0123456789abcdef0123"  # noqa: S105 - local bench only
SECRET_KEY = "bench-secret-key-0123456789abcdef0123456789"  # noqa: S105 - local bench only
BALLOT_CODE = "IA-BENCH-1"
AIMS = {
    "import_rows_per_second": 5000,
    # Issue #15: at 32 clients, on two cores.
    "lookup_requests_per_second": 1000,
    "lookup_p95_ms_32_clients": 50,
    "lookup_p95_ms": 10,
    "eligibility_p95_ms": 20,
}
# What deploy/ gives the API (MEMBERDESK_API_WORKERS): the bench runs it so first.
PRODUCTION_WORKERS = 2
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


def start_api(url: str, port: int, workers: int, log: Path) -> Server:
    """The records API as production runs it (`python -m api.serve`), with `workers` worker
    processes, on `url`'s database, answering on 127.0.0.1:`port`; its log goes to `log`."""
    env = {
        "MEMBERDESK_DATABASE_URL": url,
        "MEMBERDESK_SECRET_KEY": SECRET_KEY,
        "MEMBERDESK_SERVICE_TOKEN": SERVICE_TOKEN,
        "MEMBERDESK_ENV": "development",
        "MEMBERDESK_API_WORKERS": str(workers),
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-m", "api.serve", "--host", "127.0.0.1", "--port", str(port)]
    server = start(
        "records API", command, env=env, log=log, health=f"http://127.0.0.1:{port}/api/v1/health"
    )
    try:
        wait_until_up([server], 60)
    except RuntimeError:
        stop([server])
        raise
    return server


def members_with_tokens(url: str, numbers: list[str]) -> list[tuple[str, str]]:
    """(membership number, token) for each of `numbers`: the token the identity check gives
    that member, the one the assistant reads their record with (the service token cannot)."""
    settings = Settings(env="development", secret_key=SECRET_KEY, service_token=SERVICE_TOKEN)
    engine = make_engine(url)
    with Session(engine) as session:
        ids = dict(
            session.execute(
                select(Member.membership_number, Member.id).where(
                    Member.membership_number.in_(set(numbers))
                )
            )
            .tuples()
            .all()
        )
    engine.dispose()
    return [
        (
            number,
            issue_member_token(settings=settings, member_id=ids[number], membership_number=number)[
                0
            ],
        )
        for number in numbers
    ]


def cpu_seconds(session: int) -> float:
    """User and system CPU seconds used so far by every live process of `session` (the API
    and, with several workers, each of them: they share the first process's session)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a process that ended meanwhile
        if int(fields[3]) == session:
            total += int(fields[11]) + int(fields[12])
    return total / ticks


async def measure(
    base: str,
    requests: list[tuple[str, str]],
    clients: int,
    max_requests: int,
    max_seconds: float,
    server_session: int | None = None,
) -> dict[str, Any]:
    """Latency of GETs (path, bearer token) spread over `clients` concurrent clients, each on
    one keep-alive connection, bounded in count and time; with `server_session`, the CPU the
    server and the client each used per request."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    issued = 0
    deadline = time.monotonic() + max_seconds
    host, port = base.removeprefix("http://").split(":")

    async def client(seed: int) -> None:
        nonlocal issued
        rng = random.Random(seed)
        connection = KeepAlive(host, int(port))
        try:
            while issued < max_requests and time.monotonic() < deadline:
                issued += 1
                path, token = rng.choice(requests)
                started = time.perf_counter()
                answer = await connection.get(path, {"Authorization": f"Bearer {token}"})
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[answer.status] = statuses.get(answer.status, 0) + 1
        finally:
            await connection.close()

    server_cpu = cpu_seconds(server_session) if server_session else 0.0
    client_cpu = time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    elapsed = time.perf_counter() - started
    client_cpu = time.process_time() - client_cpu
    ordered = sorted(latencies)
    result: dict[str, Any] = {
        "requests": len(ordered),
        "seconds": round(elapsed, 2),
        "requests_per_second": round(len(ordered) / elapsed) if elapsed else 0,
        "p50_ms": round(statistics.median(ordered), 2) if ordered else None,
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1], 2) if ordered else None,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }
    if server_session and ordered:
        server_cpu = cpu_seconds(server_session) - server_cpu
        result["server_cpu_ms_per_request"] = round(server_cpu / len(ordered) * 1000, 2)
        result["client_cpu_ms_per_request"] = round(client_cpu / len(ordered) * 1000, 2)
    return result


def bench_http(
    url: str, members: int, workers: int, args: argparse.Namespace, log: Path
) -> dict[str, Any]:
    """Start the API on `url` with `workers` workers; measure the two routes the assistant
    calls most, each request with the member's own token."""
    port = free_port()
    rng = random.Random(7)
    tokens = members_with_tokens(url, [str(1000001 + rng.randrange(members)) for _ in range(2000)])
    server = start_api(url, port, workers, log)
    base = f"http://127.0.0.1:{port}"
    try:
        routes = set(httpx.get(f"{base}/api/v1/openapi.json", timeout=5).json().get("paths", {}))
        result: dict[str, Any] = {"workers": workers, "clients": args.clients}
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
            requests = [(path_of(number), token) for number, token in tokens]
            uvloop.run(measure(base, requests[:200], args.clients, 500, 10))  # warm-up
            result[name] = uvloop.run(
                measure(
                    base, requests, args.clients, args.requests, args.duration, server.popen.pid
                )
            )
            # One client alone: the latency of the route itself, without queueing behind 31
            # others on a small machine.
            result[name]["single_client"] = uvloop.run(
                measure(base, requests, 1, 300, 10, server.popen.pid)
            )
        return result
    finally:
        stop([server])


def _latency(part: dict[str, Any] | None) -> str:
    if not part:
        return "not run"
    if "skipped" in part:
        return "route not built yet"
    return f"{part['p50_ms']} / {part['p95_ms']} ({part['requests_per_second']:,} req/s)"


def _alone(part: dict[str, Any] | None) -> str:
    alone = (part or {}).get("single_client")
    return f"{alone['p50_ms']} / {alone['p95_ms']}" if alone else "not run"


def _cpu(part: dict[str, Any] | None) -> str:
    server = (part or {}).get("server_cpu_ms_per_request")
    return "not measured" if server is None else f"{server}"


def _runs(db: dict[str, Any]) -> list[dict[str, Any]]:
    """The HTTP runs of one database, whether recorded as one run (before several workers were
    measured) or one per worker count."""
    http = db.get("http") or {}
    return [http] if "workers" in http else list(http.values())


def _rows(label: str, name: str, db: dict[str, Any]) -> tuple[list[str], list[str]]:
    imp = db.get("import")
    imports = (
        [
            f"| {name} | {label} | {imp['rows_per_second']:,} ({imp['seconds']} s) | "
            f"{imp['reimport_rows_per_second']:,} ({imp['reimport_seconds']} s) |"
        ]
        if imp
        else []
    )
    latencies = [
        f"| {name} | {label} | {run['workers']} | {_latency(run.get('lookup'))} | "
        f"{_alone(run.get('lookup'))} | {_cpu(run.get('lookup'))} | "
        f"{_latency(run.get('eligibility'))} | {_alone(run.get('eligibility'))} | "
        f"{_cpu(run.get('eligibility'))} |"
        for run in _runs(db)
    ]
    return imports, latencies


def _verdict(met: bool) -> str:
    return "met" if met else "**not met**"


def goals(result: dict[str, Any]) -> list[str]:
    """Each aim, per database, said plainly: met or not, with the figure that decides it."""
    lines = []
    for name, db in result["databases"].items():
        imp = db.get("import")
        if imp:
            rate = imp["rows_per_second"]
            lines.append(
                f"- {name}, import >= {AIMS['import_rows_per_second']:,} rows/s: "
                f"{_verdict(rate >= AIMS['import_rows_per_second'])} ({rate:,} rows/s)"
            )
        production = (db.get("http") or {}).get(f"{PRODUCTION_WORKERS} workers") or {}
        lookup, eligibility = production.get("lookup"), production.get("eligibility")
        if lookup and "skipped" not in lookup:
            rate, p95 = lookup["requests_per_second"], lookup["p95_ms"]
            lines.append(
                f"- {name}, {PRODUCTION_WORKERS} workers, 32 clients: over "
                f"{AIMS['lookup_requests_per_second']:,} look-ups/s "
                f"{_verdict(rate > AIMS['lookup_requests_per_second'])} ({rate:,}/s); p95 under "
                f"{AIMS['lookup_p95_ms_32_clients']} ms "
                f"{_verdict(p95 < AIMS['lookup_p95_ms_32_clients'])} ({p95} ms); p95 under "
                f"{AIMS['lookup_p95_ms']} ms {_verdict(p95 < AIMS['lookup_p95_ms'])}"
            )
        if eligibility and "skipped" not in eligibility:
            p95 = eligibility["p95_ms"]
            lines.append(
                f"- {name}, {PRODUCTION_WORKERS} workers, 32 clients: eligibility p95 under "
                f"{AIMS['eligibility_p95_ms']} ms {_verdict(p95 < AIMS['eligibility_p95_ms'])} "
                f"({p95} ms)"
            )
    return lines


def write_reports(
    result: dict[str, Any], json_path: Path, md_path: Path, before: dict[str, Any] | None
) -> None:
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=2) + "\n")
    imports = [
        "| database | run | import rows/s | re-import (unchanged) rows/s |",
        "|---|---|---|---|",
    ]
    latencies = [
        "| database | run | workers | look-up p50 / p95 ms, 32 clients | look-up, one client | "
        "server CPU ms per look-up | eligibility p50 / p95 ms, 32 clients | "
        "eligibility, one client | server CPU ms per eligibility |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in result["databases"]:
        runs = [(result["date"], result["databases"][name])]
        if before and name in before.get("databases", {}):
            runs.insert(0, (f"before ({before['date']})", before["databases"][name]))
        for label, db in runs:
            more_imports, more_latencies = _rows(label, name, db)
            imports += more_imports
            latencies += more_latencies
    lines = [
        "# Records API benchmark",
        "",
        f"Run on {result['date']} ({result['machine']}), {result['members']:,} members; "
        f"load average at start {result.get('load_average_at_start')}, "
        f"at the end {result.get('load_average_at_end')} (other work on the machine counts "
        "in every figure).",
        "",
        "Command:",
        "",
        f"    {result['command']}",
        "",
        "Each request carries the member's own token, as the assistant sends it after the "
        "identity check. The API runs as production runs it (`python -m api.serve`), with as "
        f"many worker processes as the deployments give it ({PRODUCTION_WORKERS}), and with one "
        "for comparison. The clients hold one keep-alive connection each and use about 0.1 ms "
        "of CPU per request. Server CPU is the user and system time of every API process, "
        "divided by the requests answered.",
        "",
        "## Aims",
        "",
        *goals(result),
        "",
        "## Import",
        "",
        *imports,
        "",
        "## Look-ups",
        "",
        *latencies,
        "",
        *(
            [
                f"The before rows are an earlier run (`{before['command']}`, on "
                f"{before['date']}), with the load average it started at: "
                f"{before.get('load_average_at_start', 'not recorded')}.",
                "",
            ]
            if before
            else []
        ),
        "Full numbers, including status-code counts: `docs/bench-api.json`.",
        "",
    ]
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
    parser.add_argument(
        "--workers",
        default=f"{PRODUCTION_WORKERS},1",
        help="worker counts to run the API with, in turn (production's first)",
    )
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument(
        "--skip-import",
        action="store_true",
        help="measure the HTTP routes on the databases a previous run left",
    )
    parser.add_argument("--json", type=Path, default=ROOT / "docs" / "bench-api.json")
    parser.add_argument("--markdown", type=Path, default=ROOT / "docs" / "bench-api.md")
    parser.add_argument(
        "--before",
        type=Path,
        default=ROOT / "docs" / "bench-api-before.json",
        help="an earlier run's JSON, shown beside this one",
    )
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
            entry: dict[str, Any] = {}
            if not args.skip_import:
                if name == "postgresql":
                    fresh_postgres(url)
                else:
                    args.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
                    args.sqlite_path.unlink(missing_ok=True)
                print(f"{name}: importing {args.members:,} members ...", flush=True)
                entry["import"] = bench_import(url, members_csv, ballots_csv)
                print(f"{name}: {entry['import']}", flush=True)
            if not args.skip_http:
                entry["http"] = {}
                for workers in (int(w) for w in args.workers.split(",")):
                    run = bench_http(
                        url, args.members, workers, args, Path(tmp) / f"api-{name}-{workers}.log"
                    )
                    entry["http"][f"{workers} workers"] = run
                    print(f"{name}: {run}", flush=True)
            result["databases"][name] = entry
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    before = json.loads(args.before.read_text()) if args.before.exists() else None
    write_reports(result, args.json, args.markdown, before)
    print(f"wrote {args.json} and {args.markdown}")


if __name__ == "__main__":
    main()
