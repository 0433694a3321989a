"""The records API as every deployment runs it: uvicorn with MEMBERDESK_API_WORKERS processes.

    python -m api.serve --host 0.0.0.0 --port 8000

One Python process runs Python on one core at a time, so a machine's second core serves
look-ups only from a second process. uvicorn starts the workers on one listening socket, shares
connections out among them and starts a worker again when one dies.

Nothing a worker keeps for itself decides anything: identity and staff lockouts, idempotency
claims, payment links and sessions are rows in the database, and what a worker caches (its
settings, engine, templates, bank holidays, the tokens it verified, each only until it expires)
is the same in every worker.

The settings are read and checked here, once, before any worker starts: a bad one stops the
start with one message instead of a traceback from each worker.
"""

from __future__ import annotations

import argparse
import sys

import uvicorn
from pydantic import ValidationError

from api.config import get_settings


def main(argv: list[str] | None = None) -> None:
    try:
        settings = get_settings()
    except ValidationError as exc:
        # Pydantic names each setting and what is wrong with it, never its value.
        sys.exit(f"records API: the settings are not valid:\n{exc}")
    parser = argparse.ArgumentParser(
        prog="python -m api.serve", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--host", default=settings.api_host)
    parser.add_argument("--port", type=int, default=settings.api_port)
    args = parser.parse_args(argv)
    uvicorn.run(
        "api.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=settings.api_workers,
        # Named, not left to uvicorn's "auto": the C HTTP parser and event loop (pinned in
        # requirements/api.txt) take less CPU a request than the pure-Python ones, and a
        # deployment missing them should fail at its start, not quietly run slower.
        http="httptools",
        loop="uvloop",
    )


if __name__ == "__main__":
    main()
