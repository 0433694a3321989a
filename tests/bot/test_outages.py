"""Parts of the assistant down in the middle of conversations: honest replies, nothing lost.

The whole production shape runs here on 127.0.0.1: the records API, the action server, Rasa
with its tracker store in PostgreSQL and its lock store in Redis (bot/endpoints.production.yml),
and the action server keeping requests in PostgreSQL (actions/pending_store.py).
Each test takes one part away for FAULT_SECONDS while a member is half-way through changing
their address (the action server and the API are killed and started again; PostgreSQL and Redis,
which the whole machine shares, are cut off from Rasa by a relay, harness/faults.py). The member
keeps typing as a member would: every message in the window must get a reply that says what is
happening (never silence, never an error page), and after recovery the conversation carries on
where it was and the record ends up right.

Needs PostgreSQL and Redis on 127.0.0.1 (skipped with the reason without them, unless
MEMBERDESK_REQUIRE_POSTGRES=1 and MEMBERDESK_REQUIRE_REDIS=1).
"""

from __future__ import annotations

import itertools
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bench.serving.databases import (
    POSTGRES,
    REDIS,
    clear_redis_prefix,
    postgres_database,
    production_endpoints,
)
from harness.commands import actions_command, rasa_api_options, rasa_command
from harness.faults import Relay, relay
from harness.processes import Server, free_port, start, stop, wait_until_up
from tests.bot.servers import (
    API_PY,
    BOT_PY,
    MODEL,
    RASA_API_TOKEN,
    REST_HEADERS,
    ROOT,
    SECRET_KEY,
    SERVICE_TOKEN,
    RecordsApi,
    action_server_env,
    channel_api_env,
    rasa_env,
    seed_records,
)

FAULT_SECONDS = float(os.environ.get("MEMBERDESK_FAULT_SECONDS", "30"))
# How long a member who was told "send it again in a minute" waits before trying again.
MEMBER_RETRY_SECONDS = 8
HONEST = "isn't answering right now"
_senders = itertools.count(1)


def _missing() -> str | None:
    try:
        import psycopg2
        import redis

        psycopg2.connect(dbname="postgres", **POSTGRES).close()
        redis.Redis(**REDIS).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means the service is not there
        return f"PostgreSQL or Redis is not answering on 127.0.0.1: {exc}"
    return None


if (reason := _missing()) is not None:
    if "1" in (os.environ.get("MEMBERDESK_REQUIRE_POSTGRES"),
               os.environ.get("MEMBERDESK_REQUIRE_REDIS")):
        raise RuntimeError(reason)
    pytest.skip(reason, allow_module_level=True)


@dataclass
class Restartable:
    """A process of ours that a test may kill and start again, as an orchestrator would."""

    name: str
    command: list[str]
    env: dict[str, str]
    health: str
    log: Path
    server: Server | None = None

    def start(self) -> None:
        self.server = start(self.name, self.command, env=self.env, log=self.log,
                            health=self.health)

    def kill(self) -> None:
        assert self.server is not None
        os.killpg(self.server.popen.pid, signal.SIGKILL)
        self.server.popen.wait(timeout=30)


@dataclass
class Deployment:
    rasa_url: str
    api: RecordsApi
    api_process: Restartable
    actions: Restartable
    postgres: Relay
    redis: Relay

    def say(self, sender: str, text: str) -> str:
        """One member message; whatever happens inside, the member gets an answer."""
        response = httpx.post(f"{self.rasa_url}/webhooks/rest/webhook",
                              json={"sender": sender, "message": text},
                              headers=REST_HEADERS, timeout=90)
        assert response.status_code == 200, f"{response.status_code}: {response.text[:300]}"
        return "\n".join(reply.get("text") or "" for reply in response.json())


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    folder = tmp_path_factory.mktemp("outages")
    api_env = {
        "MEMBERDESK_ENV": "test",
        "MEMBERDESK_DATABASE_URL": f"sqlite:///{folder / 'memberdesk.db'}",
        "MEMBERDESK_SERVICE_TOKEN": SERVICE_TOKEN,
        "MEMBERDESK_SECRET_KEY": SECRET_KEY,
    }
    seed_records(api_env, 60)
    api_port, actions_port, rasa_port = free_port(), free_port(), free_port()
    api = RecordsApi(url=f"http://127.0.0.1:{api_port}", database=folder / "memberdesk.db",
                     env=api_env)
    api_process = Restartable(
        "records API",
        [str(API_PY), "-m", "uvicorn", "api.main:create_app", "--factory", "--host",
         "127.0.0.1", "--port", str(api_port), "--log-level", "warning"],
        api_env, f"{api.url}/api/v1/health", folder / "api.log",
    )
    actions = Restartable(
        "action server", actions_command(BOT_PY, actions_port), action_server_env(api, folder),
        f"http://127.0.0.1:{actions_port}/health", folder / "actions.log",
    )
    prefix = f"memberdeskoutages{os.getpid()}"
    with postgres_database(f"memberdesk_outages_{os.getpid()}") as tracker_db, \
            postgres_database(f"memberdesk_outages_pending_{os.getpid()}") as pending_db, \
            relay(POSTGRES["host"], POSTGRES["port"]) as postgres, \
            relay(REDIS["host"], REDIS["port"]) as redis:
        # Kept requests in PostgreSQL as deployed (docs/deployment.md), behind the same relay:
        # cutting PostgreSQL off cuts the action server's store off too.
        actions.env["MEMBERDESK_PENDING_STORE_URL"] = (
            f"postgresql+psycopg2://{POSTGRES['user']}@{POSTGRES['host']}:{postgres.port}/"
            f"{pending_db}"
        )
        endpoints = production_endpoints(
            folder, actions_url=f"http://127.0.0.1:{actions_port}/webhook",
            tracker_db=tracker_db, lock_prefix=prefix,
            postgres_port=postgres.port, redis_port=redis.port,
        )
        rasa = start(
            "rasa",
            rasa_command(BOT_PY, model=MODEL, host="127.0.0.1", port=rasa_port,
                         endpoints=endpoints, credentials=ROOT / "bot/credentials.yml",
                         api_options=rasa_api_options("test", RASA_API_TOKEN)),
            env={**rasa_env(), **channel_api_env(api)}, log=folder / "rasa.log",
            health=f"http://127.0.0.1:{rasa_port}/status?token={RASA_API_TOKEN}",
        )
        api_process.start()
        actions.start()
        try:
            wait_until_up([rasa, api_process.server, actions.server], 300)  # type: ignore[list-item]
            yield Deployment(rasa_url=f"http://127.0.0.1:{rasa_port}", api=api,
                             api_process=api_process, actions=actions,
                             postgres=postgres, redis=redis)
        finally:
            stop([s for s in (rasa, api_process.server, actions.server) if s is not None])
            clear_redis_prefix(prefix)


def _down_and_up(deployment: Deployment, part: str) -> tuple[Callable[[], None],
                                                             Callable[[], None]]:
    """How to take `part` away, and how to bring it back (waiting until it answers)."""
    if part in ("action server", "records API"):
        process = deployment.actions if part == "action server" else deployment.api_process

        def back() -> None:
            process.start()
            wait_until_up([process.server], 120)  # type: ignore[list-item]

        return process.kill, back
    cable = deployment.postgres if part == "PostgreSQL" else deployment.redis
    return cable.cut, cable.restore


@pytest.mark.parametrize(
    ("part", "number"),
    [("action server", "1000048"), ("records API", "1000049"), ("PostgreSQL", "1000050"),
     ("Redis", "1000055")],
)
def test_a_member_mid_change_gets_honest_replies_and_loses_nothing(
    deployment: Deployment, part: str, number: str
) -> None:
    sender = f"outage-{next(_senders)}"
    record = deployment.api.member(number)
    born = "/".join(reversed(record["date_of_birth"].split("-")))
    for text in ("i need to change my address", number, born, record["postcode"]):
        deployment.say(sender, text)
    assert "town" in deployment.say(sender, "14 canal wharf").lower()
    still_to_say = ["leeds", "ls11 5py", "yes"]
    take_down, bring_back = _down_and_up(deployment, part)

    take_down()
    window_ends = time.monotonic() + FAULT_SECONDS
    in_window: list[tuple[str, str]] = []
    try:
        while still_to_say and time.monotonic() < window_ends:
            reply = deployment.say(sender, still_to_say[0])
            in_window.append((still_to_say[0], reply))
            assert reply.strip(), f"silence while the {part} was down: {in_window}"
            if HONEST in reply:
                # Told to send it again in a minute: the member waits, then tries again.
                time.sleep(min(MEMBER_RETRY_SECONDS, max(0, window_ends - time.monotonic())))
            else:
                still_to_say.pop(0)
        time.sleep(max(0, window_ends - time.monotonic()))
    finally:
        bring_back()

    after: list[tuple[str, str]] = []
    for text in still_to_say:
        after.append((text, deployment.say(sender, text)))
    assert all(HONEST not in reply for _, reply in after), (in_window, after)
    # Every message in the window was answered, honestly when the part was needed.
    assert in_window and any(HONEST in reply or "saved your request" in reply
                             for _, reply in in_window), in_window
    deadline = time.monotonic() + 70  # a change saved while the API was down is replayed
    while time.monotonic() < deadline:
        record = deployment.api.member(number)
        if record["postcode"] == "LS11 5PY":
            break
        time.sleep(2)
    assert (record["address_line1"], record["town"], record["postcode"]) == (
        "14 Canal Wharf", "Leeds", "LS11 5PY"
    ), (in_window, after)
