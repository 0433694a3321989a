"""Starting memberdesk's processes, waiting until they answer, and stopping them again.

`make run` (scripts/supervise.py), the bot-side tests (tests/bot/servers.py) and the
benchmarks all start the records API, the action server and Rasa the same way. Each process
gets its own session, so stopping it stops everything it started too, and a process that
dies while we wait for it fails at once with the end of its own log rather than a timeout.

It imports only the standard library and httpx: both virtual environments must import it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
# How much of a dead or silent process's log an error shows.
LOG_TAIL = 4000

Accept = Callable[[httpx.Response], bool]


@dataclass
class Server:
    """One started process: its name, the process, where its output goes, its health URL."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path | None
    health: str | None = None
    # What a 200 from `health` must also show, when a 200 alone does not mean ready.
    accept: Accept | None = None

    def log_tail(self) -> str:
        """The end of the process's output, for an error message."""
        if self.log is None or not self.log.exists():
            return ""
        return self.log.read_text(errors="replace")[-LOG_TAIL:]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(name: str, command: list[str], *, env: dict[str, str], log: Path | None = None,
          health: str | None = None, accept: Accept | None = None, cwd: Path = ROOT) -> Server:
    """Start `command` in its own session with `env` over ours; output to `log` (or ours)."""
    with ExitStack() as files:
        out = files.enter_context(log.open("wb")) if log is not None else None
        popen = subprocess.Popen(  # noqa: S603 - our own interpreters and modules
            command, cwd=cwd, env={**os.environ, **env}, stdout=out,
            stderr=subprocess.STDOUT if out is not None else None, start_new_session=True,
        )
    return Server(name=name, popen=popen, log=log, health=health, accept=accept)


def answers(url: str, *, accept: Accept | None = None, timeout: float = 2) -> bool:
    """Whether `url` answers 200 now (and `accept` likes the reply)."""
    try:
        reply = httpx.get(url, timeout=timeout)
    except httpx.HTTPError:
        return False
    if reply.status_code != 200:
        return False
    try:
        return accept is None or accept(reply)
    except ValueError:  # a body that is not the JSON `accept` expected: not up yet
        return False


def wait_until_up(servers: Iterable[Server], seconds: float, *, every: float = 0.3,
                  started: float | None = None,
                  on_poll: Callable[[Server], None] | None = None) -> dict[str, float]:
    """Poll each server's health URL until all answer; seconds from `started` until each did.

    Fails at once, with the process's own output, when one exits; or after `seconds`.
    """
    waiting = list(servers)
    started = time.monotonic() if started is None else started
    deadline = time.monotonic() + seconds
    ready: dict[str, float] = {}
    while waiting:
        for server in list(waiting):
            if server.popen.poll() is not None:
                raise RuntimeError(f"{server.name} ({server.health}) exited with "
                                   f"{server.popen.returncode}:\n{server.log_tail()}")
            if on_poll is not None:
                on_poll(server)
            if server.health is None or answers(server.health, accept=server.accept):
                ready[server.name] = round(time.monotonic() - started, 2)
                waiting.remove(server)
        if not waiting:
            break
        if time.monotonic() > deadline:
            names = ", ".join(f"{s.name} ({s.health})" for s in waiting)
            raise RuntimeError(f"{names} did not come up in {seconds:.0f} s:\n"
                               f"{waiting[0].log_tail()}")
        time.sleep(every)
    return ready


def stop(servers: Iterable[Server], grace: float = 15) -> None:
    """Stop each server and everything it started: TERM, then KILL after `grace` seconds."""
    servers = list(servers)
    for server in servers:
        if server.popen.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(server.popen.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for server in servers:
        try:
            server.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(server.popen.pid, signal.SIGKILL)
            server.popen.wait()


@contextmanager
def running(name: str, command: list[str], *, env: dict[str, str], health: str, log: Path,
            seconds: float = 60) -> Iterator[Server]:
    """Start `command`, wait for `health` to answer, and stop it afterwards."""
    server = start(name, command, env=env, log=log, health=health)
    try:
        wait_until_up([server], seconds)
        yield server
    finally:
        stop([server])
