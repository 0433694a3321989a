"""The configurations the serving benchmark measures, started and stopped as `make run` does.

Ours (records API, action server, Rasa with as many replicas as asked) and stock Rasa's
`rasa init` bot, each process in its own session on 127.0.0.1 free ports, with the seconds
each took to answer its health check and its memory watched from /proc.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.serving.procfs import MemoryWatch, tree_cpu_seconds
from harness.commands import actions_command, rasa_api_options, rasa_command
from harness.processes import ROOT, Server, free_port, start, stop, wait_until_up
from tests.bot.servers import (
    API_PY,
    BOT_PY,
    SECRET_KEY,
    SERVICE_TOKEN,
    RecordsApi,
    action_server_env,
    rasa_env,
    seed_records,
)

# The same small fixed thread pool scripts/train.sh uses, for our bot and stock alike.
TF_ENV = {
    "TF_INTRA_OP_PARALLELISM_THREADS": os.environ.get("TF_INTRA_OP_PARALLELISM_THREADS", "2"),
    "TF_INTER_OP_PARALLELISM_THREADS": os.environ.get("TF_INTER_OP_PARALLELISM_THREADS", "1"),
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "RASA_TELEMETRY_ENABLED": "false",
}


@dataclass
class Stack:
    name: str
    rasa_urls: list[str]
    processes: list[Server]
    ready: dict[str, float]
    memory: MemoryWatch
    api_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def stack_cpu_seconds(stack: Stack) -> dict[str, float]:
    """CPU seconds used so far by each of a stack's processes."""
    return {process.name: tree_cpu_seconds(process.popen.pid) for process in stack.processes}


def spawn(name: str, command: list[str], *, env: dict[str, str], cwd: Path, log: Path,
          health: str) -> Server:
    """Start one server with TensorFlow's small thread pool, its output to `log`."""
    accept = model_loaded if name.startswith("rasa") else None
    return start(name, command, env={**TF_ENV, **env}, cwd=cwd, log=log, health=health,
                 accept=accept)


def model_loaded(reply: httpx.Response) -> bool:
    """Whether Rasa's /status names a model: its 200 alone means only that an agent is up."""
    return bool(reply.json().get("model_file"))


async def wait_ready(processes: list[Server], started: float, seconds: float,
                     loading: dict[str, float] | None = None) -> dict[str, float]:
    """Seconds from `started` until each process answered its health check; in `loading`,
    when each Rasa process had finished its imports and began loading the model."""
    loading = {} if loading is None else loading

    def note_loading(process: Server) -> None:
        if process.name.startswith("rasa") and process.name not in loading and \
                process.log is not None and \
                "Loading model" in process.log.read_text(errors="replace"):
            loading[process.name] = round(time.monotonic() - started, 2)

    # In a thread: the breakdown's timing proxies share this event loop.
    return await asyncio.to_thread(wait_until_up, processes, seconds, every=0.1,
                                   started=started, on_poll=note_loading)


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
    actions_env = action_server_env(records, folder)
    endpoints_file = endpoints(actions_url_for_rasa or f"http://127.0.0.1:{actions_port}/webhook")
    commands = {
        "api": ([str(API_PY), "-m", "uvicorn", "api.main:create_app", "--factory",
                 "--host", "127.0.0.1", "--port", str(api_port), "--log-level", "warning"],
                api_env, f"{api_url}/api/v1/health"),
        # Guarded by its secret, as `make run` starts it: the check is on every call's path.
        "actions": (actions_command(BOT_PY, actions_port),
                    actions_env, f"http://127.0.0.1:{actions_port}/health"),
    }
    for replica, rasa_port in enumerate(rasa_ports):
        commands["rasa" if replica == 0 else f"rasa-{replica + 1}"] = (
            # Rasa's HTTP API open, as in development: the breakdown times /model/parse, and
            # these throwaway stacks listen on 127.0.0.1 only.
            rasa_command(BOT_PY, model=model, host="127.0.0.1", port=rasa_port,
                         endpoints=endpoints_file, credentials=ROOT / "bot/credentials.yml",
                         api_options=rasa_api_options("development", None)),
            # The channels ask the records API whether a person has the conversation.
            {**rasa_env(), "MEMBERDESK_API_URL": api_url,
             "MEMBERDESK_SERVICE_TOKEN": SERVICE_TOKEN},
            f"http://127.0.0.1:{rasa_port}/status",
        )
    processes: list[Server] = []
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
    processes: list[Server] = []
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

