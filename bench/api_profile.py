"""Where one member look-up's time goes inside the records API, without HTTP or a client.

Not a test and not a benchmark of throughput: it calls the application as uvicorn would (the
ASGI callable, in one event loop), one request at a time, on a database `bench/api_bench.py`
filled, each look-up with that member's own token as the assistant sends it. It prints the
time per request and, from cProfile, the CPU time per request by the package it was spent in.

    python bench/api_profile.py --database-url sqlite:///var/bench.db
    python bench/api_profile.py --database-url postgresql+psycopg2://...:5432/memberdesk_bench \
        --route eligibility --top 30

Every thread is profiled, the thread pool's included: FastAPI runs a plain `def` route and
dependency there, and a profile of the event loop's thread alone would miss them. Each thread's
profile counts that thread's CPU time, so waiting (for the pool, for the database) is not in it.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import random
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECRET_KEY = "bench-secret-key-0123456789abcdef0123456789"  # noqa: S105 - local bench only
SERVICE_TOKEN = "bench-service-token-0123456789abcdef0123"  # noqa: S105 - local bench only
BALLOT_CODE = "IA-BENCH-1"
# Where a file's time is counted, first match wins; the rest is "other".
PACKAGES = (
    ("our code (api/)", f"{ROOT}/api/"),
    ("sqlalchemy", "/sqlalchemy/"),
    ("fastapi", "/fastapi/"),
    ("starlette", "/starlette/"),
    ("pydantic", "/pydantic"),
    ("jwt", "/jwt/"),
    ("anyio (thread hops)", "/anyio/"),
    ("asyncio", "/asyncio/"),
    ("threading, queue", "/threading.py"),
    ("threading, queue", "/queue.py"),
)


def package_of(filename: str, function: str) -> str:
    for name, marker in PACKAGES:
        if marker in filename:
            return name
    if filename == "~":  # a builtin: name it by what it is
        if "sqlite3" in function or "psycopg2" in function or "cursor" in function:
            return "database driver"
        if "acquire" in function or "wait" in function:
            return "threading, queue"
    return "other"


async def call(app: Any, path: str, token: str) -> tuple[int, bytes]:
    """One GET through the whole ASGI stack, as uvicorn hands it over."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "headers": [(b"host", b"127.0.0.1:8000"), (b"authorization", f"Bearer {token}".encode())],
    }
    answer: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        else:
            answer["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return answer["status"], answer["body"]


def members_with_tokens(url: str, count: int) -> list[tuple[str, str]]:
    """(membership number, that member's token) for `count` members picked at random."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from api.config import get_settings
    from api.database import make_engine
    from api.members.models import Member
    from api.security import issue_member_token

    engine = make_engine(url)
    with Session(engine) as session:
        rows = session.execute(select(Member.id, Member.membership_number)).all()
    engine.dispose()
    picked = random.Random(7).sample(rows, min(count, len(rows)))
    settings = get_settings()
    return [
        (
            number,
            issue_member_token(settings=settings, member_id=member_id, membership_number=number)[0],
        )
        for member_id, number in picked
    ]


class EveryThread:
    """A cProfile profile in each thread that runs Python, the thread pool's included.

    Installed before the warm-up, so the pool's threads (started then, kept afterwards) carry
    the hook; each starts its own profile at its first event after `start`.
    """

    def __init__(self) -> None:
        self.profiles: list[cProfile.Profile] = []
        self.on = False
        self.lock = threading.Lock()
        self.main = cProfile.Profile(time.thread_time)
        threading.setprofile(self._hook)

    def _hook(self, *_: Any) -> None:
        if not self.on:
            return
        # This thread's first event while on: its own profile replaces this hook.
        profile = cProfile.Profile(time.thread_time)
        with self.lock:
            self.profiles.append(profile)
        profile.enable()

    def start(self) -> None:
        self.on = True
        self.main.enable()

    def stop(self) -> list[cProfile.Profile]:
        self.on = False
        self.main.disable()
        threading.setprofile(None)  # type: ignore[arg-type]
        return [self.main, *self.profiles]


def breakdown(profiles: list[cProfile.Profile], requests: int, top: int) -> None:
    stats = pstats.Stats(profiles[0])
    for other in profiles[1:]:
        other.create_stats()
        if other.stats:  # type: ignore[attr-defined]
            stats.add(other)
    by_package: dict[str, float] = defaultdict(float)
    for (filename, _line, function), row in stats.stats.items():  # type: ignore[attr-defined]
        by_package[package_of(filename, function)] += row[2]  # own time, callees excluded
    total = sum(by_package.values())
    print(
        f"\nprofiled CPU per request: {total / requests * 1000:.2f} ms "
        "(profiling slows every call; read the shares)"
    )
    for name, seconds in sorted(by_package.items(), key=lambda kv: -kv[1]):
        print(f"  {name:24} {seconds / requests * 1000:6.2f} ms  {seconds / total:5.1%}")
    print()
    stats.sort_stats("cumulative").print_stats(top)


async def run(app: Any, paths: list[tuple[str, str]], rounds: int) -> list[float]:
    timings = []
    for i in range(rounds):
        path, token = paths[i % len(paths)]
        started = time.perf_counter()
        status, body = await call(app, path, token)
        timings.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise SystemExit(f"{path} answered {status}: {body[:300]!r}")
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--route", choices=("lookup", "eligibility"), default="lookup")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--top", type=int, default=25, help="functions to list, by cumulative")
    args = parser.parse_args()

    os.environ.update(
        {
            "MEMBERDESK_DATABASE_URL": args.database_url,
            "MEMBERDESK_SECRET_KEY": SECRET_KEY,
            "MEMBERDESK_SERVICE_TOKEN": SERVICE_TOKEN,
            "MEMBERDESK_ENV": "development",
        }
    )
    from api.main import create_app

    app = create_app()
    suffix = f"/ballots/{BALLOT_CODE}/eligibility" if args.route == "eligibility" else ""
    paths = [
        (f"/api/v1/members/{number}{suffix}", token)
        for number, token in members_with_tokens(args.database_url, 500)
    ]

    threads = EveryThread()
    loop = asyncio.new_event_loop()
    loop.run_until_complete(run(app, paths, 200))  # warm-up: pools, caches, first imports
    # Five rounds: other work on a shared machine slows some of them; the quickest round is
    # the closest to what the code itself costs.
    timings: list[float] = []
    rounds: list[float] = []
    for _ in range(5):
        cpu = time.process_time()
        timings += loop.run_until_complete(run(app, paths, args.requests // 5))
        rounds.append((time.process_time() - cpu) / (args.requests // 5) * 1000)
    timings.sort()
    print(
        f"{args.route} on {args.database_url.split(':')[0]}, {len(timings)} requests, "
        f"one at a time: p50 {timings[len(timings) // 2]:.2f} ms, "
        f"p95 {timings[int(len(timings) * 0.95) - 1]:.2f} ms; CPU per request (process, "
        f"all threads): {min(rounds):.2f} ms in the quickest of five rounds, "
        f"{sorted(rounds)[2]:.2f} ms in the median one"
    )

    threads.start()
    loop.run_until_complete(run(app, paths, args.requests))
    profiles = threads.stop()
    loop.close()
    breakdown(profiles, args.requests, args.top)


if __name__ == "__main__":
    main()
