"""Serving benchmark: simulated members talking to the whole assistant, against stock Rasa.

Not a test: run it by hand (or `make bench-serving`) and commit the results it writes.

    .venv/bot/bin/python bench/serving_bench.py            # everything, about 18 minutes
    .venv/bot/bin/python bench/serving_bench.py --smoke    # one member, a few turns, no stock

Each configuration is started for real on 127.0.0.1 free ports, and simulated members hold
multi-turn conversations through Rasa's REST channel (POST /webhooks/rest/webhook), each
conversation under its own sender id, with no pause between turns (closed loop):

- ours-sqlite: records API on a throwaway SQLite database seeded with the demo organisation,
  action server, Rasa with its default (in-memory) tracker and lock stores;
- ours-postgresql: records API on a throwaway PostgreSQL database, Rasa keeping conversations
  in PostgreSQL and locking them in Redis, from bot/endpoints.production.yml;
- stock: the bot `rasa init --no-prompt` makes (greet / mood / goodbye), Rasa alone.

Our members verify their identity, then change their address, ask what they pay, report a
failed Direct Debit and ask for a person; every reply is checked ("You're verified", "Your
reference is CASE-...") so that a broken stack cannot look fast. Measured at 1, 8 and 32
concurrent members: turns per second, p50/p95/p99 per turn; and per configuration the time
from starting the processes to all of them answering (Rasa's /status with a model loaded,
the action server's and API's health routes), their resident memory summed, the model's size
and the time a full training takes with an empty cache. A last pass at one member puts timing
proxies between Rasa and the action server and between the action server and the API, to
show where a turn's time goes.

Results go to docs/benchmarks-serving.json, docs/benchmarks-serving.md and
docs/benchmarks-serving.png.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import httpx  # noqa: E402
from aiohttp import web  # noqa: E402

from tests.bot.servers import (  # noqa: E402
    API_PY,
    BOT_PY,
    SECRET_KEY,
    SERVICE_TOKEN,
    RecordsApi,
    action_server_env,
    free_port,
    rasa_env,
)

DOCS = ROOT / "docs"
MODEL = ROOT / "models/memberdesk.tar.gz"
PRODUCTION_ENDPOINTS = ROOT / "bot/endpoints.production.yml"
POSTGRES = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
REDIS = {"host": "127.0.0.1", "port": 6379}
GOALS = {
    "speedup_vs_stock_at_8": 3.0,
    "p95_ms_at_8": 250.0,
    "ready_seconds": 15.0,
    "rss_mb": 800.0,
    "training_seconds": 180.0,
}
# The same small fixed thread pool scripts/train.sh uses, for our bot and stock alike.
TF_ENV = {
    "TF_INTRA_OP_PARALLELISM_THREADS": os.environ.get("TF_INTRA_OP_PARALLELISM_THREADS", "2"),
    "TF_INTER_OP_PARALLELISM_THREADS": os.environ.get("TF_INTER_OP_PARALLELISM_THREADS", "1"),
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "RASA_TELEMETRY_ENABLED": "false",
}
# Demo members the conversations use: the README's active members and the seeded ones after
# them. 1000003 is lapsed, so its journey is a different one.
MEMBER_NUMBERS = ["1000001", "1000002", "1000004", "1000005"] + [
    str(number) for number in range(1000006, 1000126)
]
NEW_ADDRESSES = [
    ("Leeds", "LS2 9JT", "Park Lane"),
    ("York", "YO1 7HH", "Mill Lane"),
    ("Hull", "HU1 1AA", "Quay Street"),
    ("Sheffield", "S1 2HE", "Division Street"),
    ("Bradford", "BD1 1HY", "Castle Road"),
    ("Manchester", "M1 1AE", "Piccadilly"),
]
# actions/payments.py: the member's last failed collection, or that there is none.
FAILED_PAYMENT_ANSWERS = ("wasn't collected", "can't see any failed payments")


class TurnFailed(Exception):
    """A reply that does not make sense for the turn, or no reply at all."""


class StopLoad(Exception):
    """The level's time or turn budget is spent."""


# --- processes --------------------------------------------------------------------------


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    health: str


def spawn(name: str, command: list[str], *, env: dict[str, str], cwd: Path, log: Path,
          health: str) -> Process:
    """Start one server in its own process group, its output to `log`."""
    with log.open("wb") as out:
        popen = subprocess.Popen(  # noqa: S603 - our own interpreters and modules
            command, cwd=cwd, env={**os.environ, **TF_ENV, **env}, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
    return Process(name=name, popen=popen, log=log, health=health)


def stop(processes: list[Process]) -> None:
    """Stop every process group: TERM, then KILL after 15 s."""
    for process in processes:
        if process.popen.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(process.popen.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for process in processes:
        try:
            process.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.popen.pid, signal.SIGKILL)
            process.popen.wait()


async def _healthy(session: aiohttp.ClientSession, process: Process) -> bool:
    try:
        async with session.get(process.health, timeout=aiohttp.ClientTimeout(total=5)) as reply:
            if reply.status != 200:
                return False
            if process.name.startswith("rasa"):
                # 200 from /status means an agent is loaded; it names the model file.
                body = await reply.json()
                return bool(body.get("model_file"))
            return True
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
        return False


async def wait_ready(processes: list[Process], started: float, seconds: float,
                     loading: dict[str, float] | None = None) -> dict[str, float]:
    """Seconds from `started` until each process answered its health check; in `loading`,
    when each Rasa process had finished its imports and began loading the model."""
    ready: dict[str, float] = {}
    loading = {} if loading is None else loading
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as session:
        while len(ready) < len(processes):
            if time.monotonic() > deadline:
                waiting = [p for p in processes if p.name not in ready]
                raise RuntimeError(
                    f"{', '.join(p.name for p in waiting)} not up in {seconds:.0f} s:\n"
                    + waiting[0].log.read_text(errors="replace")[-3000:]
                )
            for process in processes:
                if process.name in ready:
                    continue
                if process.popen.poll() is not None:
                    raise RuntimeError(
                        f"{process.name} exited with {process.popen.returncode}:\n"
                        + process.log.read_text(errors="replace")[-3000:]
                    )
                if process.name.startswith("rasa") and process.name not in loading and \
                        "Loading model" in process.log.read_text(errors="replace"):
                    loading[process.name] = round(time.monotonic() - started, 2)
                if await _healthy(session, process):
                    ready[process.name] = round(time.monotonic() - started, 2)
            await asyncio.sleep(0.1)
    return ready


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            text = Path(f"/proc/{pid}/task/{task}/children").read_text()
        except OSError:
            continue
        found.extend(int(child) for child in text.split())
    return found


def process_tree(pid: int) -> Iterator[int]:
    """A process and all its descendants, each once (from /proc)."""
    pending, seen = [pid], set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        yield current
        pending.extend(_children(current))


def tree_rss_mb(pid: int) -> tuple[float, float]:
    """Resident memory of a process and all its descendants, in MB (from /proc): all of it,
    and the anonymous (private) part, which is what each further replica would add."""
    total_kb, anon_kb = 0, 0
    for current in process_tree(pid):
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
                elif line.startswith("RssAnon:"):
                    anon_kb += int(line.split()[1])
        except OSError:
            continue
    return round(total_kb / 1024, 1), round(anon_kb / 1024, 1)


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user and system) a process and its descendants have used so far (from
    /proc). Unlike a turn's wall time, it hardly changes when other work shares the cores."""
    ticks = 0
    for current in process_tree(pid):
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def stack_cpu_seconds(stack: Stack) -> dict[str, float]:
    """CPU seconds used so far by each of a stack's processes."""
    return {process.name: tree_cpu_seconds(process.popen.pid) for process in stack.processes}


class MemoryWatch:
    """Keeps the peak resident memory of each process, sampled while it is asked to."""

    def __init__(self, processes: list[Process]) -> None:
        self.processes = processes
        self.peak: dict[str, float] = {p.name: 0.0 for p in processes}
        self.peak_anon: dict[str, float] = {p.name: 0.0 for p in processes}
        self.peak_total = 0.0
        self.after_ready: dict[str, float] = {}

    def sample(self) -> None:
        sampled = {p.name: tree_rss_mb(p.popen.pid) for p in self.processes}
        now = {name: rss for name, (rss, _anon) in sampled.items()}
        for name, (rss, anon) in sampled.items():
            self.peak[name] = max(self.peak[name], rss)
            self.peak_anon[name] = max(self.peak_anon[name], anon)
        self.peak_total = max(self.peak_total, round(sum(now.values()), 1))
        if not self.after_ready:
            self.after_ready = now

    @asynccontextmanager
    async def watching(self, every: float = 0.5) -> AsyncIterator[None]:
        async def loop() -> None:
            while True:
                self.sample()
                await asyncio.sleep(every)

        task = asyncio.create_task(loop())
        try:
            yield
        finally:
            task.cancel()
            self.sample()


# --- throwaway databases ----------------------------------------------------------------


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


def seed_records(env: dict[str, str], members: int | None) -> float:
    """Schema and demo organisation for the API; seconds taken."""
    start = time.monotonic()
    seed = ["seed"] if members is None else ["seed", "--members", str(members)]
    for step in (["db", "upgrade"], seed):
        subprocess.run(  # noqa: S603
            [str(API_PY), "-m", "api.cli", *step], cwd=ROOT, env={**os.environ, **env},
            check=True, capture_output=True, timeout=600,
        )
    return round(time.monotonic() - start, 1)


# --- the stacks -------------------------------------------------------------------------


@dataclass
class Stack:
    name: str
    rasa_urls: list[str]
    processes: list[Process]
    ready: dict[str, float]
    memory: MemoryWatch
    api_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def production_endpoints(folder: Path, *, actions_url: str, tracker_db: str,
                         lock_prefix: str) -> Path:
    """bot/endpoints.production.yml with its variables filled for this machine."""
    values = {
        "MEMBERDESK_ACTIONS_URL": actions_url,
        "MEMBERDESK_TRACKER_DB_HOST": POSTGRES["host"],
        "MEMBERDESK_TRACKER_DB_PORT": str(POSTGRES["port"]),
        "MEMBERDESK_TRACKER_DB_NAME": tracker_db,
        "MEMBERDESK_TRACKER_DB_USER": POSTGRES["user"],
        "MEMBERDESK_TRACKER_DB_PASSWORD": "",
        "MEMBERDESK_REDIS_HOST": REDIS["host"],
        "MEMBERDESK_REDIS_PORT": str(REDIS["port"]),
    }
    text = PRODUCTION_ENDPOINTS.read_text()
    for variable, value in values.items():
        text = text.replace("${" + variable + "}", value)
    text = text.replace("key_prefix: memberdesk", f"key_prefix: {lock_prefix}")
    path = folder / "endpoints.yml"
    path.write_text(text)
    return path


@asynccontextmanager
async def our_stack(name: str, folder: Path, *, model: Path, database_url: str,
                    endpoints: Callable[[str], Path], seed_members: int | None,
                    api_port: int | None = None, actions_port: int | None = None,
                    api_url_for_actions: str | None = None,
                    actions_url_for_rasa: str | None = None,
                    replicas: int = 1) -> AsyncIterator[Stack]:
    """Records API, action server and Rasa (`replicas` of it, sharing the tracker and lock
    stores), started together as `make run` starts them."""
    folder.mkdir(parents=True, exist_ok=True)
    api_env = {
        "MEMBERDESK_ENV": "test",
        "MEMBERDESK_DATABASE_URL": database_url,
        "MEMBERDESK_SERVICE_TOKEN": SERVICE_TOKEN,
        "MEMBERDESK_SECRET_KEY": SECRET_KEY,
    }
    seed_seconds = seed_records(api_env, seed_members)
    api_port = api_port or free_port()
    actions_port = actions_port or free_port()
    rasa_ports = [free_port() for _ in range(replicas)]
    api_url = f"http://127.0.0.1:{api_port}"
    records = RecordsApi(url=api_url_for_actions or api_url, database=folder / "none",
                         env=api_env)
    actions_env = {**action_server_env(records, folder), "SANIC_HOST": "127.0.0.1"}
    endpoints_file = endpoints(actions_url_for_rasa or f"http://127.0.0.1:{actions_port}/webhook")
    commands = {
        "api": ([str(API_PY), "-m", "uvicorn", "api.main:create_app", "--factory",
                 "--host", "127.0.0.1", "--port", str(api_port), "--log-level", "warning"],
                api_env, f"{api_url}/api/v1/health"),
        "actions": ([str(BOT_PY), "-m", "rasa_sdk", "--actions", "actions",
                     "--port", str(actions_port)],
                    actions_env, f"http://127.0.0.1:{actions_port}/health"),
    }
    for replica, rasa_port in enumerate(rasa_ports):
        commands["rasa" if replica == 0 else f"rasa-{replica + 1}"] = (
            [str(BOT_PY), "-m", "rasa", "run", "--model", str(model), "--enable-api",
             "--interface", "127.0.0.1", "--port", str(rasa_port),
             "--endpoints", str(endpoints_file),
             "--credentials", str(ROOT / "bot/credentials.yml")],
            # The channels ask the records API whether a person has the conversation.
            {**rasa_env(), "MEMBERDESK_API_URL": api_url,
             "MEMBERDESK_SERVICE_TOKEN": SERVICE_TOKEN},
            f"http://127.0.0.1:{rasa_port}/status",
        )
    processes: list[Process] = []
    try:
        started = time.monotonic()
        for process_name, (command, env, health) in commands.items():
            processes.append(spawn(process_name, command, env=env, cwd=ROOT,
                                   log=folder / f"{process_name}.log", health=health))
        loading: dict[str, float] = {}
        ready = await wait_ready(processes, started, seconds=300, loading=loading)
        memory = MemoryWatch(processes)
        memory.sample()
        yield Stack(name=name, rasa_urls=[f"http://127.0.0.1:{port}" for port in rasa_ports],
                    processes=processes,
                    ready=ready, memory=memory, api_url=api_url,
                    extra={"seed_seconds": seed_seconds,
                           "rasa_model_loading_began_seconds": loading})
    finally:
        stop(processes)


@asynccontextmanager
async def stock_stack(project: Path, folder: Path) -> AsyncIterator[Stack]:
    """The `rasa init` bot served by Rasa alone (it has no custom actions)."""
    rasa_port = free_port()
    command = [str(BOT_PY), "-m", "rasa", "run", "--model", str(project / "models"),
               "--enable-api", "--interface", "127.0.0.1", "--port", str(rasa_port),
               "--endpoints", str(project / "endpoints.yml"),
               "--credentials", str(project / "credentials.yml")]
    processes: list[Process] = []
    try:
        started = time.monotonic()
        processes.append(spawn("rasa", command, env={}, cwd=project, log=folder / "stock.log",
                               health=f"http://127.0.0.1:{rasa_port}/status"))
        loading: dict[str, float] = {}
        ready = await wait_ready(processes, started, seconds=300, loading=loading)
        memory = MemoryWatch(processes)
        memory.sample()
        yield Stack(name="stock", rasa_urls=[f"http://127.0.0.1:{rasa_port}"],
                    processes=processes, ready=ready, memory=memory,
                    extra={"rasa_model_loading_began_seconds": loading})
    finally:
        stop(processes)


# --- training ---------------------------------------------------------------------------


def train_ours(folder: Path) -> dict[str, Any]:
    """A full training of config.yml into `folder`, with an empty cache."""
    out = folder / "models"
    env = {**os.environ, **TF_ENV, "RASA_CACHE_DIRECTORY": str(folder / "cache")}
    command = [str(BOT_PY), "-m", "rasa", "train", "--domain", "bot/domain",
               "--config", "config.yml", "--data", "data", "--out", str(out),
               "--fixed-model-name", "memberdesk", "--quiet"]
    start = time.monotonic()
    done = subprocess.run(  # noqa: S603
        command, cwd=ROOT, env=env, capture_output=True, timeout=900
    )
    seconds = round(time.monotonic() - start, 1)
    if done.returncode != 0:
        raise RuntimeError(f"rasa train failed:\n{done.stdout.decode()[-3000:]}"
                           f"{done.stderr.decode()[-3000:]}")
    model = out / "memberdesk.tar.gz"
    return {"training_seconds": seconds, "model": str(model),
            "model_mb": round(model.stat().st_size / 2**20, 1),
            "command": shlex.join(["rasa", *command[3:-5], "--out", "TMP",
                                   "--fixed-model-name", "memberdesk"])}


def init_stock(folder: Path) -> dict[str, Any]:
    """`rasa init --no-prompt` into `folder` (it trains the stock bot), timed."""
    project = folder / "stock"
    project.mkdir(parents=True)
    env = {**os.environ, **TF_ENV, "RASA_CACHE_DIRECTORY": str(project / ".rasa" / "cache")}
    command = [str(BOT_PY), "-m", "rasa", "init", "--no-prompt", "--init-dir", str(project)]
    start = time.monotonic()
    done = subprocess.run(  # noqa: S603
        command, cwd=project, env=env, capture_output=True, timeout=1200
    )
    seconds = round(time.monotonic() - start, 1)
    models = sorted((project / "models").glob("*.tar.gz"))
    if done.returncode != 0 or not models:
        raise RuntimeError(f"rasa init failed:\n{done.stdout.decode()[-3000:]}"
                           f"{done.stderr.decode()[-3000:]}")
    return {"training_seconds": seconds, "project": str(project),
            "model_mb": round(models[-1].stat().st_size / 2**20, 1),
            "command": "rasa init --no-prompt --init-dir TMP"}


# --- simulated members ------------------------------------------------------------------


def member_details(api_url: str, numbers: list[str]) -> list[dict[str, str]]:
    """Membership number, date of birth and postcode of each member, from the API."""
    found = []
    with httpx.Client(base_url=f"{api_url}/api/v1", timeout=30,
                      headers={"Authorization": f"Bearer {SERVICE_TOKEN}"}) as client:
        for number in numbers:
            reply = client.get(f"/members/{number}")
            if reply.status_code != 200:
                continue
            record = reply.json()
            if record.get("status") not in (None, "active", "grace"):
                continue
            found.append({
                "number": number,
                "born": date.fromisoformat(record["date_of_birth"]).strftime("%d/%m/%Y"),
                "postcode": record["postcode"],
            })
    if not found:
        raise RuntimeError("the API returned none of the demo members")
    return found


@dataclass
class Level:
    """What one concurrency level measured."""

    latencies: list[float] = field(default_factory=list)
    turns_started: int = 0
    conversations_done: int = 0
    errors: list[str] = field(default_factory=list)
    windows: list[tuple[float, float]] = field(default_factory=list)


Say = Callable[[str, tuple[str, ...]], Awaitable[str]]


class Load:
    """Simulated members, each a loop of conversations, for one concurrency level."""

    def __init__(self, session: aiohttp.ClientSession, rasa_urls: list[str], *, warmup: float,
                 seconds: float, max_turns: int) -> None:
        self.session = session
        # With several replicas, consecutive turns of one conversation go to different ones:
        # they share the conversation through the tracker store and the lock store.
        self.urls = [f"{url}/webhooks/rest/webhook" for url in rasa_urls]
        now = time.monotonic()
        self.window_start = now + warmup
        self.deadline = self.window_start + seconds
        self.max_turns = max_turns
        self.level = Level()

    def speaker(self, sender: str) -> Say:
        turns_said = [0]

        async def say(text: str, expect: tuple[str, ...]) -> str:
            if time.monotonic() >= self.deadline or self.level.turns_started >= self.max_turns:
                raise StopLoad
            self.level.turns_started += 1
            url = self.urls[turns_said[0] % len(self.urls)]
            turns_said[0] += 1
            start = time.monotonic()
            try:
                async with self.session.post(
                    url, json={"sender": sender, "message": text},
                    timeout=aiohttp.ClientTimeout(total=60),
                ) as reply:
                    status = reply.status
                    body = await reply.json(content_type=None) if status == 200 else None
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                raise TurnFailed(f"{sender}: {text!r}: {exc.__class__.__name__}") from exc
            end = time.monotonic()
            if self.window_start <= end <= self.deadline:
                self.level.latencies.append(end - start)
                self.level.windows.append((start, end))
            if status != 200 or not isinstance(body, list):
                raise TurnFailed(f"{sender}: {text!r}: HTTP {status}")
            answer = "\n".join(str(message.get("text") or "") for message in body)
            if not any(wanted in answer for wanted in expect):
                raise TurnFailed(f"{sender}: {text!r}: expected one of {list(expect)}, "
                                 f"got {answer[:300]!r}")
            return answer

        return say

    async def run(self, concurrency: int,
                  conversation: Callable[[Say, int], Awaitable[None]]) -> Level:
        counter = iter(range(10**9))

        async def member(slot: int) -> None:
            while time.monotonic() < self.deadline and self.level.turns_started < self.max_turns:
                number = next(counter)
                try:
                    await conversation(self.speaker, number)
                    self.level.conversations_done += 1
                except StopLoad:
                    return
                except TurnFailed as exc:
                    self.level.errors.append(str(exc))
                    if len(self.level.errors) > 20:
                        return

        budget = self.deadline - time.monotonic() + 90
        await asyncio.wait_for(asyncio.gather(*(member(s) for s in range(concurrency))),
                               timeout=budget)
        return self.level


class OurMembers:
    """Our conversation scripts, each with a demo member no other conversation is using."""

    def __init__(self, members: list[dict[str, str]], prefix: str) -> None:
        self.free: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        for member in members:
            self.free.put_nowait(member)
        self.prefix = prefix
        self.journeys: Counter[str] = Counter()

    async def __call__(self, speaker: Callable[[str], Say], number: int) -> None:
        member = await self.free.get()
        say = speaker(f"{self.prefix}-{number}")
        try:
            if number % 2 == 0:
                self.journeys["moves house, then payments, then a person"] += 1
                await self.moves_house(say, member, number)
            else:
                self.journeys["asks what they pay, then payments, then a person"] += 1
                await self.asks_what_they_pay(say, member)
        finally:
            self.free.put_nowait(member)

    @staticmethod
    async def verify(say: Say, member: dict[str, str], then: tuple[str, ...]) -> str:
        await say(member["number"], ("date of birth",))
        await say(member["born"], ("postcode",))
        answer = await say(member["postcode"], ("You're verified",))
        if not any(wanted in answer for wanted in then):
            raise TurnFailed(f"after verification expected {list(then)}, got {answer[:300]!r}")
        return answer

    @staticmethod
    async def payments_and_a_person(say: Say) -> None:
        await say("my direct debit failed", FAILED_PAYMENT_ANSWERS)
        await say("I want to speak to a person", ("Your reference is CASE-",))

    async def moves_house(self, say: Say, member: dict[str, str], number: int) -> None:
        town, postcode, street = NEW_ADDRESSES[number % len(NEW_ADDRESSES)]
        await say("hi", ("Hello!",))
        await say("I've moved house", ("check who you are",))
        await self.verify(say, member, then=("new address",))
        await say(f"{number % 180 + 2} {street}", ("Which town",))
        await say(town, ("new postcode",))
        await say(postcode, ("Shall I update your record?",))
        await say("yes", ("Done: your address is now",))
        # Their next identity check uses the postcode they have now.
        member["postcode"] = postcode
        await say("how much do I pay?", ("You pay",))
        await self.payments_and_a_person(say)

    async def asks_what_they_pay(self, say: Say, member: dict[str, str]) -> None:
        await say("hello", ("Hello!",))
        await say("how much do I pay", ("check who you are",))
        await self.verify(say, member, then=("You pay",))
        await self.payments_and_a_person(say)


class StockMembers:
    """The `rasa init` bot's own conversations: greet, a mood, goodbye."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.journeys: Counter[str] = Counter()

    async def __call__(self, speaker: Callable[[str], Say], number: int) -> None:
        say = speaker(f"{self.prefix}-{number}")
        await say("hi" if number % 2 else "hello", ("Hey! How are you?",))
        if number % 2 == 0:
            self.journeys["greet, mood_great, goodbye"] += 1
            await say("I am feeling great", ("Great, carry on!",))
        else:
            self.journeys["greet, mood_unhappy, affirm, goodbye"] += 1
            await say("I am sad", ("Did that help you?",))
            await say("yes", ("Great, carry on!",))
        await say("bye", ("Bye",))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(0, math.ceil(share * len(ordered)) - 1)
    return ordered[rank]


def summarise(level: Level, seconds: float, concurrency: int) -> dict[str, Any]:
    ms = [value * 1000 for value in level.latencies]
    return {
        "concurrency": concurrency,
        "seconds": round(seconds, 1),
        "turns": len(ms),
        "turns_per_second": round(len(ms) / seconds, 2) if seconds else 0.0,
        "p50_ms": round(percentile(ms, 0.50), 1),
        "p95_ms": round(percentile(ms, 0.95), 1),
        "p99_ms": round(percentile(ms, 0.99), 1),
        "mean_ms": round(statistics.fmean(ms), 1) if ms else math.nan,
        "max_ms": round(max(ms), 1) if ms else math.nan,
        "conversations_completed": level.conversations_done,
        "errors": len(level.errors),
        "error_examples": level.errors[:5],
    }


async def load_levels(runs: list[tuple[Stack, OurMembers | StockMembers]], levels: list[int],
                      *, warmup: float, seconds: float, max_turns: int,
                      rounds: int = 1) -> dict[str, dict[str, Any]]:
    """Each concurrency level in turn, on each stack, with their memory sampled throughout.

    With several stacks up at once (ours and stock), each level is measured in `rounds`
    blocks per stack, alternating which goes first, so that other work on a shared machine
    weighs on both alike.
    """
    merged: dict[tuple[str, int], Level] = {}
    measured: dict[tuple[str, int], float] = {}
    cpu_used: dict[tuple[str, int], Counter[str]] = {}
    load_average: dict[tuple[str, int], list[float]] = {}
    connector = aiohttp.TCPConnector(limit=0)
    async with AsyncExitStack() as watching:
        session = await watching.enter_async_context(aiohttp.ClientSession(connector=connector))
        for stack, _conversation in runs:
            await watching.enter_async_context(stack.memory.watching())
        for concurrency in levels:
            for block in range(rounds):
                order = runs if block % 2 == 0 else runs[::-1]
                for stack, conversation in order:
                    key = (stack.name, concurrency)
                    conversation.prefix = (f"bench-{stack.name}-{concurrency}-{block}-"
                                           f"{os.getpid()}")
                    load_average.setdefault(key, []).append(round(os.getloadavg()[0], 2))
                    load = Load(session, stack.rasa_urls, warmup=warmup, seconds=seconds,
                                max_turns=max_turns)
                    cpu_before = stack_cpu_seconds(stack)
                    level = await load.run(concurrency, conversation)
                    cpu_after = stack_cpu_seconds(stack)
                    used = cpu_used.setdefault(key, Counter())
                    for process_name, seconds_used in cpu_after.items():
                        used[process_name] += seconds_used - cpu_before.get(process_name, 0.0)
                    spent = min(seconds, max(0.001, time.monotonic() - load.window_start))
                    measured[key] = measured.get(key, 0.0) + spent
                    total = merged.setdefault(key, Level())
                    total.latencies += level.latencies
                    total.windows += level.windows
                    total.errors += level.errors
                    total.turns_started += level.turns_started
                    total.conversations_done += level.conversations_done
            for stack, _conversation in runs:
                key = (stack.name, concurrency)
                shown = summarise(merged[key], measured[key], concurrency)
                print(f"  {stack.name} x{concurrency}: {shown['turns_per_second']} turns/s, "
                      f"p50 {shown['p50_ms']} / p95 {shown['p95_ms']} / p99 {shown['p99_ms']} "
                      f"ms, {shown['errors']} errors", flush=True)
    results: dict[str, dict[str, Any]] = {}
    for (name, concurrency), level in merged.items():
        summary = summarise(level, measured[(name, concurrency)], concurrency)
        summary["load_average_1min"] = load_average[(name, concurrency)]
        # Every turn of the blocks, warm-up included, against the CPU the blocks used.
        started = max(1, level.turns_started)
        summary["cpu_ms_per_turn_by_process"] = {
            process_name: round(used * 1000 / started, 1)
            for process_name, used in sorted(cpu_used[(name, concurrency)].items())
        }
        results.setdefault(name, {})[str(concurrency)] = summary
    return results


def describe_stack(stack: Stack, model_mb: float) -> dict[str, Any]:
    return {
        "ready_seconds": max(stack.ready.values()),
        "ready_seconds_by_process": stack.ready,
        "rss_mb_after_ready": stack.memory.after_ready,
        "rss_mb_after_ready_total": round(sum(stack.memory.after_ready.values()), 1),
        "rss_mb_peak_by_process": stack.memory.peak,
        "rss_mb_peak_total": stack.memory.peak_total,
        "rss_anon_mb_peak_by_process": stack.memory.peak_anon,
        "model_mb": model_mb,
        **stack.extra,
    }


# --- where a turn's time goes -----------------------------------------------------------


class TimingProxy:
    """A pass-through HTTP proxy that records how long each call took."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.calls: list[dict[str, Any]] = []
        self.session: aiohttp.ClientSession | None = None
        self.runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        assert self.session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() not in ("host", "content-length", "transfer-encoding",
                                        "connection")}
        start = time.monotonic()
        async with self.session.request(request.method, self.target + request.path_qs,
                                        data=body, headers=headers) as reply:
            data = await reply.read()
            status = reply.status
            content_type = reply.headers.get("content-type", "application/json")
        end = time.monotonic()
        label = f"{request.method} {request.path}"
        if request.path.endswith("/webhook") and body:
            with suppress(ValueError):
                label = str(json.loads(body).get("next_action"))
        self.calls.append({"start": start, "end": end, "label": label,
                           "request_bytes": len(body)})
        return web.Response(body=data, status=status, headers={"content-type": content_type})

    async def start(self, port: int) -> None:
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
        if self.session is not None:
            await self.session.close()


# Rasa checks every action-server reply against its response schema with jsonschema.validate().
VALIDATION_PROBE = """
import json, time, importlib.metadata
import jsonschema
from rasa.core.actions.action import RemoteAction
schema = RemoteAction.action_response_format_spec()
reply = {"events": [{"event": "slot", "name": f"slot_{i}", "value": "x", "timestamp": None}
                    for i in range(8)], "responses": [{"text": "Thanks. You're verified."}]}
def per_call(check, rounds=20):
    check()
    start = time.perf_counter()
    for _ in range(rounds):
        check()
    return round((time.perf_counter() - start) / rounds * 1000, 2)
validator = jsonschema.validators.validator_for(schema)(schema)
print(json.dumps({
    "jsonschema_version": importlib.metadata.version("jsonschema"),
    "validator": jsonschema.validators.validator_for(schema).__name__,
    "validate_ms_per_reply": per_call(lambda: jsonschema.validate(reply, schema)),
    "schema_check_ms_per_reply": per_call(
        lambda: jsonschema.validators.validator_for(schema).check_schema(schema)),
    "built_once_ms_per_reply": per_call(
        lambda: jsonschema.exceptions.best_match(validator.iter_errors(reply))),
}))
"""


def run_probe(code: str) -> dict[str, Any]:
    """Run a probe script in a fresh bot-side Python; the JSON its last line prints."""
    done = subprocess.run(  # noqa: S603
        [str(BOT_PY), "-c", code], cwd=ROOT, env={**os.environ, **TF_ENV},
        capture_output=True, text=True, timeout=300,
    )
    if done.returncode != 0:
        return {"error": done.stderr[-500:]}
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def action_reply_validation() -> dict[str, Any]:
    """What Rasa's check of one action-server reply costs with the installed jsonschema."""
    return run_probe(VALIDATION_PROBE)


TENSORFLOW_PROBE = """
import json, time
from pathlib import Path
start = time.perf_counter()
import tensorflow
seconds = time.perf_counter() - start
status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
print(json.dumps({"import_seconds": round(seconds, 2),
                  "rss_mb": round(int(status["VmRSS"].split()[0]) / 1024, 1),
                  "private_mb": round(int(status["RssAnon"].split()[0]) / 1024, 1)}))
"""


def tensorflow_import() -> dict[str, Any]:
    """What importing TensorFlow alone (every Rasa process does) costs in time and memory."""
    return run_probe(TENSORFLOW_PROBE)


def _within(calls: list[dict[str, Any]], start: float, end: float) -> list[dict[str, Any]]:
    return [call for call in calls if start <= call["start"] and call["end"] <= end]


async def nlu_parse_ms(rasa_url: str, texts: list[str], rounds: int) -> float:
    """Median time of Rasa's /model/parse (the NLU pipeline alone) over our members' texts."""
    timings = []
    async with aiohttp.ClientSession() as session:
        for _ in range(rounds):
            for text in texts:
                start = time.monotonic()
                async with session.post(f"{rasa_url}/model/parse", json={"text": text}) as reply:
                    await reply.read()
                timings.append(time.monotonic() - start)
    return round(statistics.median(timings) * 1000, 1)


async def breakdown(folder: Path, *, model: Path, members: int | None,
                    seconds: float) -> dict[str, Any]:
    """One member at a time, with timing proxies in front of the action server and the API."""
    api_port, actions_port = free_port(), free_port()
    actions_proxy = TimingProxy(f"http://127.0.0.1:{actions_port}")
    api_proxy = TimingProxy(f"http://127.0.0.1:{api_port}")
    actions_proxy_port, api_proxy_port = free_port(), free_port()
    await actions_proxy.start(actions_proxy_port)
    await api_proxy.start(api_proxy_port)
    try:
        async with our_stack(
            "breakdown", folder, model=model,
            database_url=f"sqlite:///{folder / 'memberdesk.db'}",
            endpoints=lambda url: _plain_endpoints(folder, url), seed_members=members,
            api_port=api_port, actions_port=actions_port,
            api_url_for_actions=f"http://127.0.0.1:{api_proxy_port}",
            actions_url_for_rasa=f"http://127.0.0.1:{actions_proxy_port}/webhook",
        ) as stack:
            assert stack.api_url is not None
            conversation = OurMembers(member_details(stack.api_url, MEMBER_NUMBERS[:20]),
                                      prefix="")
            async with aiohttp.ClientSession() as session:
                conversation.prefix = f"bench-breakdown-{os.getpid()}"
                load = Load(session, stack.rasa_urls, warmup=3, seconds=seconds, max_turns=400)
                level = await load.run(1, conversation)
            texts = ["hi", "I've moved house", "1000020", "30/12/1993", "LS11 1RG",
                     "22 Park Lane", "Leeds", "yes", "how much do I pay?",
                     "my direct debit failed", "I want to speak to a person"]
            parse_ms = await nlu_parse_ms(stack.rasa_urls[0], texts, rounds=3)
    finally:
        await actions_proxy.close()
        await api_proxy.close()

    turns, action_ms, api_ms, action_calls, api_calls, payload = [], [], [], [], [], []
    by_action: dict[str, list[float]] = {}
    for start, end in level.windows:
        actions = _within(actions_proxy.calls, start, end)
        apis = _within(api_proxy.calls, start, end)
        turns.append((end - start) * 1000)
        action_ms.append(sum(c["end"] - c["start"] for c in actions) * 1000)
        api_ms.append(sum(c["end"] - c["start"] for c in apis) * 1000)
        action_calls.append(len(actions))
        api_calls.append(len(apis))
        payload.extend(c["request_bytes"] for c in actions)
        for call in actions:
            by_action.setdefault(call["label"], []).append((call["end"] - call["start"]) * 1000)
    if not turns:
        raise RuntimeError(f"the breakdown pass measured no turns: {level.errors[:3]}")
    mean = statistics.fmean
    turn, action, api = mean(turns), mean(action_ms), mean(api_ms)
    slowest = sorted(by_action.items(), key=lambda item: -sum(item[1]))[:8]
    return {
        "turns": len(turns),
        "errors": len(level.errors),
        "error_examples": level.errors[:5],
        "turn_mean_ms": round(turn, 1),
        "rasa_own_mean_ms": round(turn - action, 1),
        "action_server_own_mean_ms": round(action - api, 1),
        "api_mean_ms": round(api, 1),
        "action_calls_per_turn": round(mean(action_calls), 2),
        "api_calls_per_turn": round(mean(api_calls), 2),
        "action_request_kb_mean": round(mean(payload) / 1024, 1) if payload else 0.0,
        "action_request_kb_max": round(max(payload) / 1024, 1) if payload else 0.0,
        "nlu_parse_median_ms": parse_ms,
        "action_reply_validation": action_reply_validation(),
        "slowest_actions": [
            {"action": name, "calls": len(times), "mean_ms": round(mean(times), 1)}
            for name, times in slowest
        ],
    }


def _plain_endpoints(folder: Path, actions_url: str) -> Path:
    """Like bot/endpoints.yml: the action server only, in-memory tracker and lock stores."""
    path = folder / "endpoints.yml"
    path.write_text(f'action_endpoint:\n  url: "{actions_url}"\n')
    return path


# --- report -----------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model_name = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model_name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = 0.0
    try:
        first = Path("/proc/meminfo").read_text().splitlines()[0]
        memory_gb = round(int(first.split()[1]) / 2**20, 1)
    except (OSError, IndexError, ValueError):
        pass
    return {
        "cpu": model_name,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "system": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def verdict(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each goal of the issue against what was measured, ours on SQLite and on PostgreSQL."""
    rows: list[dict[str, Any]] = []
    stock = results["configurations"].get("stock")
    for name in ("ours-sqlite", "ours-postgresql"):
        ours = results["configurations"].get(name)
        if not ours:
            continue
        at8 = ours["levels"].get("8")
        if at8 and stock and stock["levels"].get("8"):
            ratio = at8["turns_per_second"] / max(stock["levels"]["8"]["turns_per_second"], 1e-9)
            rows.append({"configuration": name, "goal": "turns/s at 8 members vs stock",
                         "target": ">= 3.0x", "measured": f"{ratio:.2f}x",
                         "met": ratio >= GOALS["speedup_vs_stock_at_8"]})
        if at8:
            rows.append({"configuration": name, "goal": "p95 per turn at 8 members",
                         "target": "<= 250 ms", "measured": f"{at8['p95_ms']:.0f} ms",
                         "met": at8["p95_ms"] <= GOALS["p95_ms_at_8"]})
        rows.append({"configuration": name, "goal": "ready after start",
                     "target": "<= 15 s", "measured": f"{ours['ready_seconds']:.1f} s",
                     "met": ours["ready_seconds"] <= GOALS["ready_seconds"]})
        rows.append({"configuration": name, "goal": "resident memory (peak, 3 processes)",
                     "target": "<= 800 MB", "measured": f"{ours['rss_mb_peak_total']:.0f} MB",
                     "met": ours["rss_mb_peak_total"] <= GOALS["rss_mb"]})
    training = results.get("training", {}).get("ours")
    if training:
        rows.append({"configuration": "ours", "goal": "full training (empty cache)",
                     "target": "<= 180 s", "measured": f"{training['training_seconds']:.0f} s",
                     "met": training["training_seconds"] <= GOALS["training_seconds"]})
    return rows


def plot(results: dict[str, Any], path: Path) -> bool:
    """Turns/s and p95 against concurrent members, one line per configuration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (throughput, p95) = plt.subplots(1, 2, figsize=(10, 4))
    for name, config in results["configurations"].items():
        levels = sorted(config["levels"].values(), key=lambda level: level["concurrency"])
        xs = [level["concurrency"] for level in levels]
        throughput.plot(xs, [level["turns_per_second"] for level in levels], marker="o",
                        label=name)
        p95.plot(xs, [level["p95_ms"] for level in levels], marker="o", label=name)
    throughput.set(title="Turns per second", xlabel="concurrent members", ylabel="turns/s")
    p95.set(title="p95 per turn", xlabel="concurrent members", ylabel="ms", yscale="log")
    p95.axhline(GOALS["p95_ms_at_8"], color="grey", linestyle="--", linewidth=0.8)
    for axes in (throughput, p95):
        axes.set_xscale("log", base=2)
        axes.grid(True, alpha=0.3)
        axes.legend()
    figure.suptitle(f"memberdesk serving vs stock Rasa ({results['meta']['date']})")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return True


def _validation_lines(probe: dict[str, Any]) -> list[str]:
    if "validate_ms_per_reply" not in probe:
        return []
    text = (f"Stock Rasa checks every action-server reply with `jsonschema.validate()`: with "
            f"jsonschema {probe['jsonschema_version']} ({probe['validator']}) that costs "
            f"{probe['validate_ms_per_reply']} ms a reply, of which "
            f"{probe['schema_check_ms_per_reply']} ms re-checks Rasa's own constant schema "
            "against the meta-schema.")
    if "built_once_ms_per_reply" in probe:
        text += (" Ours checks each reply with a validator built once "
                 f"(channels/rasa_speedups.py): {probe['built_once_ms_per_reply']} ms a reply.")
    return [text, ""]


def explanations(results: dict[str, Any]) -> list[str]:
    """Why each goal came out as it did, in the run's own figures."""
    configs = results["configurations"]
    ours = configs.get("ours-sqlite") or next(
        (c for n, c in configs.items() if n.startswith("ours")), None)
    if ours is None:
        return []
    stock, parts = configs.get("stock"), results.get("breakdown")
    tf = results.get("tensorflow_import", {})
    lines = ["### Why, goal by goal", ""]

    at8, at1 = ours["levels"].get("8"), ours["levels"].get("1")
    if at8 and at8["turns_per_second"] > 0:
        text = (f"- **Turns per second and p95 at 8 members.** A Rasa process handles one turn "
                f"at a time on its event loop and is CPU-bound, so members who send without "
                f"pausing queue behind each other: at 8 members ours completed "
                f"{at8['turns_per_second']:.1f} turns/s, so by Little's law a turn took "
                f"8 / {at8['turns_per_second']:.1f} = {8000 / at8['turns_per_second']:.0f} ms "
                f"on average (p95 {at8['p95_ms']:.0f} ms)")
        if at1:
            text += f", against a p50 of {at1['p50_ms']:.0f} ms for a member on their own"
        text += (". A p95 of 250 ms at 8 members without pauses needs well over 8 / 0.25 = "
                 "32 turns/s.")
        cpu = at8.get("cpu_ms_per_turn_by_process") or {}
        if cpu.get("rasa"):
            others = ", ".join(f"{k} {v:.1f}" for k, v in cpu.items() if k != "rasa")
            text += (f" Each turn cost {cpu['rasa']:.1f} ms of CPU in Rasa ({others}): one "
                     f"Rasa process, on one core, can serve at most "
                     f"{1000 / cpu['rasa']:.0f} turns/s, and all the processes together at "
                     f"most {1000 * results['meta']['machine']['cores'] / sum(cpu.values()):.0f}"
                     " on this machine's cores, before the load generator takes its share.")
        if parts:
            text += (f" A lone member's turn ({parts['turn_mean_ms']:.0f} ms mean) is "
                     f"{parts['rasa_own_mean_ms']:.0f} ms in Rasa itself, "
                     f"{parts['action_server_own_mean_ms']:.0f} ms in the action server and "
                     f"{parts['api_mean_ms']:.0f} ms in the API; of Rasa's share the NLU "
                     f"pipeline is {parts['nlu_parse_median_ms']:.0f} ms. The rest is the "
                     f"dialogue side: a policy prediction for every action a turn runs "
                     f"({parts['action_calls_per_turn']:.1f} action-server calls a turn, each "
                     f"sending the whole tracker, {parts['action_request_kb_mean']:.0f} KB on "
                     f"average, and each reply checked against a JSON schema).")
        if stock and stock["levels"].get("8"):
            s8 = stock["levels"]["8"]
            text += (f" Stock's turns run no custom action at all (greet, mood, goodbye "
                     f"are plain responses): {s8['turns_per_second']:.1f} turns/s at 8 "
                     f"members, p95 {s8['p95_ms']:.0f} ms.")
        replicas = next((c for n, c in configs.items() if "replicas" in n), None)
        single = configs.get("ours-postgresql")
        if replicas and single and replicas["levels"].get("8") and single["levels"].get("8"):
            text += (f" Two Rasa replicas sharing PostgreSQL and Redis did "
                     f"{replicas['levels']['8']['turns_per_second']:.1f} turns/s at 8 members "
                     f"against {single['levels']['8']['turns_per_second']:.1f} for one, on "
                     f"{results['meta']['machine']['cores']} cores shared with the action "
                     "server, the API, the load generator and other work.")
        lines.append(text)

    loading = ours.get("rasa_model_loading_began_seconds", {}).get("rasa")
    by_process = ours["ready_seconds_by_process"]
    text = (f"- **Ready after start.** Rasa is the slowest process ({by_process.get('rasa', 0):.1f}"
            f" s; the action server answered at {by_process.get('actions', 0):.1f} s and the "
            f"API at {by_process.get('api', 0):.1f} s).")
    if loading:
        text += (f" It spent {loading:.1f} s importing (Rasa, TensorFlow, Sanic) before it "
                 f"began loading the model, and {by_process['rasa'] - loading:.1f} s loading "
                 "it.")
    if tf.get("import_seconds"):
        text += f" Importing TensorFlow alone takes {tf['import_seconds']:.1f} s."
    if stock:
        stock_loading = stock.get("rasa_model_loading_began_seconds", {}).get("rasa")
        text += f" Stock was ready in {stock['ready_seconds']:.1f} s"
        text += f" ({stock_loading:.1f} s of imports)." if stock_loading else "."
    lines.append(text)

    rasa_rss = ours["rss_mb_peak_by_process"].get("rasa", 0.0)
    rasa_private = ours["rss_anon_mb_peak_by_process"].get("rasa", 0.0)
    text = (f"- **Resident memory.** Rasa is {rasa_rss:.0f} MB of the "
            f"{ours['rss_mb_peak_total']:.0f} MB, {rasa_private:.0f} MB of it private.")
    if tf.get("rss_mb"):
        text += (f" A Python process that has only imported TensorFlow is already "
                 f"{tf['rss_mb']:.0f} MB ({tf['private_mb']:.0f} MB private): every Rasa "
                 "process pays that before it loads a model, whatever the pipeline.")
    if stock:
        text += f" Stock Rasa peaked at {stock['rss_mb_peak_total']:.0f} MB."
    lines.append(text)

    training = results.get("training", {})
    if training.get("ours"):
        text = (f"- **Training.** A full training of config.yml with an empty cache took "
                f"{training['ours']['training_seconds']:.0f} s")
        if training.get("stock"):
            text += f"; stock's `rasa init` took {training['stock']['training_seconds']:.0f} s"
        lines.append(text + ".")
    return [*lines, ""]


def _mb(value: float) -> str:
    return f"{value:,.0f}"


def markdown(results: dict[str, Any], image: str | None) -> str:
    meta = results["meta"]
    lines = [
        "## Serving",
        "",
        f"Run on {meta['date']} ({meta['machine']['cores']} cores, {meta['machine']['cpu']}, "
        f"{meta['machine']['memory_gb']} GB, {meta['machine']['system']}, Python "
        f"{meta['machine']['python']}, Rasa {meta['rasa_version']}); load average at the start "
        f"{meta['machine']['load_average_at_start']}. The machine is shared: other work ran "
        "during the benchmark.",
        "",
        "Command:",
        "",
        f"    {meta['command']}",
        "",
        f"Simulated members hold whole conversations through the REST channel with no pause "
        f"between turns. Each level is measured in {meta['blocks_per_level']} block(s) per "
        f"configuration; a block warms up for {meta['warmup_seconds']:g} s, then counts every "
        f"turn that finishes in the next "
        f"{meta['seconds_per_level'] / meta['blocks_per_level']:g} s. Stock runs beside ours "
        "on SQLite, both up at once, their blocks alternating (which goes first swaps every "
        "block) so that other work on the machine weighs on both alike; the load average "
        "at the start of each block is in the JSON. Every reply is checked against what the "
        "member should hear. Our journeys: "
        + "; ".join(meta["journeys"]["ours"]) + ". Stock journeys: "
        + "; ".join(meta["journeys"]["stock"]) + ".",
        "",
    ]
    if meta["smoke"]:
        lines += ["**Smoke run**: tiny and not meaningful as a measurement.", ""]
    lines += ["### Goals", "", "| configuration | goal | target | measured | met |",
              "|---|---|---|---|---|"]
    for row in results["verdict"]:
        lines.append(f"| {row['configuration']} | {row['goal']} | {row['target']} | "
                     f"{row['measured']} | {'yes' if row['met'] else '**no**'} |")
    lines += ["", "### Turns", "",
              "| configuration | members | turns | turns/s | p50 ms | p95 ms | p99 ms | "
              "errors |", "|---|---|---|---|---|---|---|---|"]
    for name, config in results["configurations"].items():
        for level in config["levels"].values():
            lines.append(
                f"| {name} | {level['concurrency']} | {level['turns']} | "
                f"{level['turns_per_second']:.2f} | {level['p50_ms']:.0f} | "
                f"{level['p95_ms']:.0f} | {level['p99_ms']:.0f} | {level['errors']} |"
            )
    lines += ["", "### CPU per turn", "",
              "CPU time (user and system, from /proc) each process used during a level's "
              "blocks, divided by the turns sent in them. Unlike the latencies it barely moves "
              "when other work shares the machine, so it is the fairer comparison between "
              "runs; on 2 cores, turns/s can never exceed 2,000 / (the sum of a row, plus "
              "the load generator's share).", "",
              "| configuration | members | CPU ms per turn by process | sum |", "|---|---|---|---|"]
    for name, config in results["configurations"].items():
        for level in config["levels"].values():
            used = level.get("cpu_ms_per_turn_by_process") or {}
            if used:
                lines.append(f"| {name} | {level['concurrency']} | "
                             + ", ".join(f"{k} {v:.1f}" for k, v in used.items())
                             + f" | {sum(used.values()):.1f} |")
    lines += ["", "### Start-up, memory, model, training", "",
              "| configuration | ready s (slowest process) | RSS after ready MB | "
              "RSS peak MB | peak by process MB (private) | model MB | training s |",
              "|---|---|---|---|---|---|---|"]
    training = results.get("training", {})
    for name, config in results["configurations"].items():
        trained = training.get("stock" if name == "stock" else "ours", {})
        anon = config["rss_anon_mb_peak_by_process"]
        by_process = ", ".join(f"{k} {_mb(v)} ({_mb(anon[k])})"
                               for k, v in config["rss_mb_peak_by_process"].items())
        lines.append(
            f"| {name} | {config['ready_seconds']:.1f} | "
            f"{_mb(config['rss_mb_after_ready_total'])} | {_mb(config['rss_mb_peak_total'])} | "
            f"{by_process} | {config['model_mb']:.1f} | "
            f"{trained.get('training_seconds', 'not run')} |"
        )
    lines += ["", "Ready is measured from starting the processes (together, as `make run` "
              "does) until Rasa's `/status` names a loaded model and the action server's and "
              "API's health routes answer. Memory is the resident set of each process and its "
              "children, from /proc, sampled every 0.5 s; in brackets its private (anonymous) "
              "part: the rest is mostly shared-library pages (TensorFlow's among them) that "
              "further replicas on the same host share. PostgreSQL and Redis are shared "
              "services and not counted. Training is a full `rasa train` with an empty cache "
              "(ours) and `rasa init --no-prompt` (stock, which trains its bot), both with "
              "TensorFlow limited to 2 intra-op threads as scripts/train.sh does.", ""]
    parts = results.get("breakdown")
    if parts:
        lines += [
            "### Where a turn's time goes (one member, ours on SQLite)", "",
            f"Timing proxies between Rasa and the action server and between the action server "
            f"and the API, over {parts['turns']} turns (the proxies add a little to the "
            "action and API shares).", "",
            "| part | mean ms per turn |", "|---|---|",
            f"| whole turn | {parts['turn_mean_ms']:.0f} |",
            f"| Rasa itself (NLU, policies, tracker, HTTP) | {parts['rasa_own_mean_ms']:.0f} |",
            f"| action server itself | {parts['action_server_own_mean_ms']:.0f} |",
            f"| records API | {parts['api_mean_ms']:.0f} |",
            "",
            f"Per turn: {parts['action_calls_per_turn']} action-server calls (each carries the "
            f"whole tracker: {parts['action_request_kb_mean']} KB on average, "
            f"{parts['action_request_kb_max']} KB at most) and {parts['api_calls_per_turn']} API "
            f"calls. The NLU pipeline alone (`/model/parse`) takes "
            f"{parts['nlu_parse_median_ms']:.0f} ms (median).", "",
            *_validation_lines(parts.get("action_reply_validation", {})),
            "| action | calls | mean ms |", "|---|---|---|",
        ]
        lines += [f"| {a['action']} | {a['calls']} | {a['mean_ms']:.0f} |"
                  for a in parts["slowest_actions"]]
        lines.append("")
    lines += explanations(results)
    if image:
        lines += [f"![Turns per second and p95 against concurrent members]({image})", ""]
    lines += ["Full numbers: `docs/benchmarks-serving.json`.", ""]
    return "\n".join(lines)


# --- main -------------------------------------------------------------------------------


async def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    import rasa

    levels = [int(level) for level in args.levels.split(",")]
    configurations: dict[str, Any] = {}
    training: dict[str, Any] = {}
    journeys: dict[str, list[str]] = {"ours": [], "stock": []}
    model, model_mb = MODEL, round(MODEL.stat().st_size / 2**20, 1)

    if not args.skip_training:
        print("training our assistant with an empty cache...", flush=True)
        training["ours"] = train_ours(work / "train")
        model, model_mb = Path(training["ours"]["model"]), training["ours"]["model_mb"]
        print(f"  {training['ours']['training_seconds']} s, {model_mb} MB", flush=True)

    if not args.skip_stock:
        print("stock: rasa init --no-prompt (trains the stock bot)...", flush=True)
        training["stock"] = init_stock(work)
        print(f"  {training['stock']['training_seconds']} s", flush=True)

    databases = [d for d in args.databases.split(",") if d and d != "none"]
    plans = [(f"ours-{database}", database, 1, levels) for database in databases]
    if args.replicas > 1 and "postgresql" in databases:
        replica_levels = [int(level) for level in args.replica_levels.split(",")]
        plans.append((f"ours-postgresql-{args.replicas}-replicas", "postgresql", args.replicas,
                      replica_levels))
    if not plans and not args.skip_stock:
        plans.append(("stock only", "", 0, levels))
    stock_to_run = not args.skip_stock
    for name, database, replicas, its_levels in plans:
        async with AsyncExitStack() as stacks:
            runs: list[tuple[Stack, OurMembers | StockMembers]] = []
            described: dict[str, Any] = {}
            # Stock runs beside our first configuration, level by level, in alternating
            # blocks; it is started first and alone so that each start-up is timed on its own.
            if stock_to_run:
                stock_to_run = False
                print("stock: starting...", flush=True)
                stock = await stacks.enter_async_context(
                    stock_stack(Path(training["stock"]["project"]), work))
                print(f"  ready in {max(stock.ready.values())} s", flush=True)
                stock_members = StockMembers(prefix="")
                runs.append((stock, stock_members))
                described[stock.name] = describe_stack(stock, training["stock"]["model_mb"])
            if replicas:
                folder = work / name
                print(f"{name}: starting...", flush=True)
                database_url, endpoints = stacks.enter_context(contextlib_for(database, folder))
                stack = await stacks.enter_async_context(our_stack(
                    name, folder, model=model, database_url=database_url, endpoints=endpoints,
                    seed_members=args.seed_members, replicas=replicas))
                print(f"  ready in {max(stack.ready.values())} s {stack.ready}", flush=True)
                assert stack.api_url is not None
                ours = OurMembers(member_details(stack.api_url, MEMBER_NUMBERS), prefix="")
                runs.append((stack, ours))
                described[name] = {**describe_stack(stack, model_mb), "replicas": replicas}
            measured = await load_levels(runs, its_levels, warmup=args.warmup,
                                         seconds=args.seconds, max_turns=args.max_turns,
                                         rounds=args.rounds)
            for stack, conversation in runs:
                # Peak memory is known only now that the load has run.
                model_size = described[stack.name]["model_mb"]
                configurations[stack.name] = {**described[stack.name],
                                              **describe_stack(stack, model_size),
                                              "levels": measured[stack.name]}
                journeys["stock" if stack.name == "stock" else "ours"] = sorted(
                    conversation.journeys)

    results: dict[str, Any] = {
        "meta": {
            "smoke": args.smoke,
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "command": args.command,
            "machine": args.machine,
            "rasa_version": rasa.__version__,
            "levels": levels,
            "warmup_seconds": args.warmup,
            "seconds_per_level": args.seconds * args.rounds,
            "blocks_per_level": args.rounds,
            "max_turns_per_level": args.max_turns,
            "seed_members": args.seed_members or "the full demo organisation (2,000)",
            "journeys": journeys,
            "goals": GOALS,
        },
        "configurations": configurations,
        "training": training,
    }
    results["tensorflow_import"] = tensorflow_import()
    if not args.skip_breakdown:
        print("breakdown: one member with timing proxies...", flush=True)
        results["breakdown"] = await breakdown(work / "breakdown", model=model,
                                               members=args.seed_members,
                                               seconds=args.breakdown_seconds)
    results["verdict"] = verdict(results)
    return results


@contextmanager
def contextlib_for(database: str, folder: Path) -> Iterator[tuple[str, Callable[[str], Path]]]:
    """The API's database URL and Rasa's endpoints for one of our configurations."""
    folder.mkdir(parents=True, exist_ok=True)
    if database == "sqlite":
        yield (f"sqlite:///{folder / 'memberdesk.db'}",
               lambda url: _plain_endpoints(folder, url))
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true",
                        help="SQLite only, one member, a few turns, no training, no stock")
    parser.add_argument("--levels", default="1,8,32", help="concurrent members, comma-separated")
    parser.add_argument("--databases", default="sqlite,postgresql",
                        help='our configurations: sqlite, postgresql, or "none"')
    parser.add_argument("--replicas", type=int, default=2,
                        help="also run this many Rasa replicas on PostgreSQL and Redis (1: skip)")
    parser.add_argument("--replica-levels", default="8,32")
    parser.add_argument("--seconds", type=float, default=15,
                        help="measured seconds per block (a level is --rounds blocks)")
    parser.add_argument("--rounds", type=int, default=2, help="blocks per level")
    parser.add_argument("--warmup", type=float, default=5, help="unmeasured seconds per level")
    parser.add_argument("--max-turns", type=int, default=4000, help="turns per level, at most")
    parser.add_argument("--seed-members", type=int, default=None,
                        help="members to seed (default: the full demo organisation)")
    parser.add_argument("--skip-training", action="store_true",
                        help="serve models/memberdesk.tar.gz instead of a fresh training")
    parser.add_argument("--skip-stock", action="store_true")
    parser.add_argument("--skip-breakdown", action="store_true")
    parser.add_argument("--breakdown-seconds", type=float, default=25)
    parser.add_argument("--out", type=Path, default=DOCS)
    args = parser.parse_args(argv)
    args.command = shlex.join([".venv/bot/bin/python", "bench/serving_bench.py",
                               *(sys.argv[1:] if argv is None else argv)])
    if args.smoke:
        args.levels, args.databases, args.replicas = "1", "sqlite", 1
        args.seconds, args.warmup, args.max_turns, args.rounds = 8, 0, 12, 1
        args.seed_members = args.seed_members or 130
        args.skip_training = args.skip_stock = args.skip_breakdown = True
    args.machine = machine()
    if not MODEL.exists() and args.skip_training:
        raise SystemExit(f"no model at {MODEL}: run `bash scripts/train.sh` first")

    with tempfile.TemporaryDirectory(prefix="memberdesk-serving-") as tmp:
        results = asyncio.run(run(args, Path(tmp)))

    args.out.mkdir(parents=True, exist_ok=True)
    image = None
    if plot(results, args.out / "benchmarks-serving.png"):
        image = "benchmarks-serving.png"
    (args.out / "benchmarks-serving.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "benchmarks-serving.md").write_text(markdown(results, image))
    print(f"wrote {args.out / 'benchmarks-serving.md'}", flush=True)
    errors = sum(level["errors"] for config in results["configurations"].values()
                 for level in config["levels"].values())
    errors += results.get("breakdown", {}).get("errors", 0)
    if errors:
        print(f"{errors} turns got a reply that makes no sense: see error_examples in the JSON",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
