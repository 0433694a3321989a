"""A real load balancer in front of several Rasa replicas, for tests and benchmarks.

Production runs Rasa as several replicas behind a load balancer, sharing conversations through
the PostgreSQL tracker store and the Redis lock store. Debian's HAProxy, started here on
127.0.0.1, stands in for whichever balancer the organisation runs: round robin, so consecutive
turns of one conversation land on different replicas, with health checks that take a dead
replica out of the rotation. Each answer names the replica that gave it (a header), so a test
can show which replica served which turn.

Standard library only, like the rest of harness/.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.processes import free_port, running

REPLICA_HEADER = "X-Memberdesk-Replica"

CONFIG = """\
global
    maxconn 512

defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    # A replica busy with hundreds of members answers its health check late, not never:
    # marking it down for that would turn a queue into refusals (HTTP 503).
    timeout check 10s
    # A request that never reached a replica (it was down, or died before accepting) is sent
    # to another one. Nothing is retried once a replica has it: a member's message must not
    # be handled twice.
    retries 3
    retry-on conn-failure
    option redispatch

frontend members
    bind 127.0.0.1:{port}
    default_backend rasa

backend rasa
    balance roundrobin
    option httpchk GET /
    http-response set-header {header} %s
{servers}
"""


def haproxy() -> str | None:
    """HAProxy's binary, if it is installed."""
    return shutil.which("haproxy") or next(
        (path for path in ("/usr/sbin/haproxy",) if Path(path).exists()), None
    )


def haproxy_config(*, port: int, replicas: dict[str, str]) -> str:
    """A round-robin balancer on 127.0.0.1:`port` over `replicas` (name -> host:port)."""
    servers = "\n".join(
        f"    server {name} {address} check inter 1s fall 3 rise 2"
        for name, address in replicas.items()
    )
    return CONFIG.format(port=port, header=REPLICA_HEADER, servers=servers)


@contextmanager
def load_balancer(folder: Path, replicas: dict[str, str]) -> Iterator[str]:
    """HAProxy over `replicas` while the block runs; yields its URL."""
    binary = haproxy()
    if binary is None:
        raise RuntimeError("HAProxy is not installed (Debian: apt-get install haproxy)")
    port = free_port()
    config = folder / "haproxy.cfg"
    config.write_text(haproxy_config(port=port, replicas=replicas))
    url = f"http://127.0.0.1:{port}"
    # -db: stay in the foreground, so stopping the process group stops it.
    with running("haproxy", [binary, "-db", "-f", str(config)], env={},
                 health=f"{url}/", log=folder / "haproxy.log", seconds=30):
        yield url
