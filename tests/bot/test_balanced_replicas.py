"""Two Rasa replicas behind a real load balancer, sharing conversations in PostgreSQL and Redis.

As production runs them (bot/endpoints.production.yml): the tracker store in PostgreSQL, the
lock store in Redis, HAProxy in front (harness/balancer.py) sending consecutive turns to
different replicas. A member's conversation must carry on whichever replica answers, and when
one replica is killed in the middle of it. Each conversation is checked in the member's record.

Needs PostgreSQL and Redis on 127.0.0.1 and Debian's haproxy: skipped with the reason without
them, except where MEMBERDESK_REQUIRE_HAPROXY=1 (CI), where a missing one fails.
"""

from __future__ import annotations

import itertools
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from bench.serving.databases import clear_redis_prefix, postgres_database, production_endpoints
from harness.balancer import REPLICA_HEADER, haproxy, load_balancer
from harness.commands import actions_command, rasa_api_options, rasa_command
from harness.processes import Server, free_port, start, stop, wait_until_up
from tests.bot.servers import (
    BOT_PY,
    MODEL,
    RASA_API_TOKEN,
    REST_HEADERS,
    ROOT,
    RecordsApi,
    action_server_env,
    channel_api_env,
    rasa_env,
)

REPLICAS = ("rasa-a", "rasa-b")
_senders = itertools.count(1)


def _missing() -> str | None:
    if haproxy() is None:
        return "HAProxy is not installed (apt-get install haproxy)"
    try:
        import psycopg2
        import redis

        psycopg2.connect(dbname="postgres", host="127.0.0.1", user="postgres").close()
        redis.Redis(host="127.0.0.1", port=6379).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means the service is not there
        return f"PostgreSQL or Redis is not answering on 127.0.0.1: {exc}"
    return None


if (reason := _missing()) is not None:
    if os.environ.get("MEMBERDESK_REQUIRE_HAPROXY") == "1":
        raise RuntimeError(reason)
    pytest.skip(reason, allow_module_level=True)


@dataclass
class Balanced:
    """The replicas, the balancer in front of them, and who answered what."""

    url: str
    api: RecordsApi
    replicas: dict[str, Server]
    served: list[str] = field(default_factory=list)

    def say(self, sender: str, text: str) -> str:
        response = httpx.post(f"{self.url}/webhooks/rest/webhook",
                              json={"sender": sender, "message": text},
                              headers=REST_HEADERS, timeout=90)
        response.raise_for_status()
        self.served.append(response.headers[REPLICA_HEADER])
        return "\n".join(reply.get("text") or "" for reply in response.json())

    def kill(self, name: str) -> None:
        """The replica dies at once, as a node failure or an OOM kill leaves it."""
        os.killpg(self.replicas[name].popen.pid, signal.SIGKILL)
        self.replicas[name].popen.wait(timeout=30)


@pytest.fixture(scope="module")
def balanced(api: RecordsApi, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Balanced]:
    folder = tmp_path_factory.mktemp("replicas")
    prefix = f"memberdeskreplicas{os.getpid()}"
    actions_port = free_port()
    processes: list[Server] = []
    with postgres_database(f"memberdesk_replicas_{os.getpid()}") as tracker_db:
        endpoints = production_endpoints(
            folder, actions_url=f"http://127.0.0.1:{actions_port}/webhook",
            tracker_db=tracker_db, lock_prefix=prefix,
        )
        try:
            processes.append(start(
                "action server", actions_command(BOT_PY, actions_port),
                env=action_server_env(api, folder), log=folder / "actions.log",
                health=f"http://127.0.0.1:{actions_port}/health",
            ))
            ports = {name: free_port() for name in REPLICAS}
            replicas = {
                name: start(
                    name,
                    rasa_command(BOT_PY, model=MODEL, host="127.0.0.1", port=port,
                                 endpoints=endpoints, credentials=ROOT / "bot/credentials.yml",
                                 api_options=rasa_api_options("test", RASA_API_TOKEN)),
                    env={**rasa_env(), **channel_api_env(api)}, log=folder / f"{name}.log",
                    health=f"http://127.0.0.1:{port}/status?token={RASA_API_TOKEN}",
                )
                for name, port in ports.items()
            }
            processes.extend(replicas.values())
            wait_until_up(processes, 300)
            with load_balancer(
                folder, {name: f"127.0.0.1:{port}" for name, port in ports.items()}
            ) as url:
                yield Balanced(url=url, api=api, replicas=replicas)
        finally:
            stop(processes)
            clear_redis_prefix(prefix)


def _verify(chat: Balanced, sender: str, number: str) -> str:
    record = chat.api.member(number)
    born = "/".join(reversed(record["date_of_birth"].split("-")))
    return chat.say(sender, f"{number} {born} {record['postcode']}".lower())


def _address(api: RecordsApi, number: str) -> tuple[str, str, str]:
    record = api.member(number)
    return record["address_line1"], record["town"], record["postcode"]


def test_a_conversation_carries_on_whichever_replica_answers(balanced: Balanced) -> None:
    sender, number = f"replicas-{next(_senders)}", "1000046"
    balanced.served.clear()

    balanced.say(sender, "i need to change my address")
    record = balanced.api.member(number)
    born = "/".join(reversed(record["date_of_birth"].split("-")))
    balanced.say(sender, number)
    balanced.say(sender, born)
    balanced.say(sender, record["postcode"])
    balanced.say(sender, "14 canal wharf")
    balanced.say(sender, "leeds")
    read_back = balanced.say(sender, "ls11 5py")
    assert "Shall I update your record?" in read_back
    done = balanced.say(sender, "yes")

    # Round robin: the turns alternated, so each replica carried on what the other began.
    assert set(balanced.served) == set(REPLICAS)
    assert all(a != b for a, b in itertools.pairwise(balanced.served))
    assert "reference" in done.lower()
    assert _address(balanced.api, number) == ("14 Canal Wharf", "Leeds", "LS11 5PY")


def test_a_replica_killed_mid_conversation_loses_nothing(balanced: Balanced) -> None:
    sender, number = f"replicas-{next(_senders)}", "1000047"
    balanced.say(sender, "I've moved house")
    balanced.say(sender, number)
    record = balanced.api.member(number)
    balanced.say(sender, "/".join(reversed(record["date_of_birth"].split("-"))))
    balanced.served.clear()
    balanced.say(sender, record["postcode"])
    victim = balanced.served[-1]
    survivor = next(name for name in REPLICAS if name != victim)

    balanced.kill(victim)
    # Every turn now reaches the survivor: the balancer retries a refused connection on the
    # other replica at once, before its health check has noticed.
    balanced.served.clear()
    balanced.say(sender, "3 dock street")
    balanced.say(sender, "hull")
    read_back = balanced.say(sender, "hu1 1ab")
    assert "Shall I update your record?" in read_back
    balanced.say(sender, "yes")

    assert set(balanced.served) == {survivor}
    assert _address(balanced.api, number) == ("3 Dock Street", "Hull", "HU1 1AB")
