"""Starts the memberdesk processes together and stops them together.

`make run` calls this. If any process exits, or on Ctrl-C / SIGTERM, every other process is
stopped too, so nothing is left listening on a port.
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.commands import (  # noqa: E402
    ACTIONS_SECRET,
    RASA_API_TOKEN,
    actions_command,
    rasa_api_options,
    rasa_command,
    shown,
)
from harness.processes import Server, start, stop  # noqa: E402

API_PY = str(ROOT / ".venv/api/bin/python")
BOT_PY = str(ROOT / ".venv/bot/bin/python")
MODEL = ROOT / "models/memberdesk.tar.gz"


# Rasa's usage and crash reports go to Rasa's servers unless turned off: members' data never
# leaves the organisation's machines. An operator may still turn them on explicitly.
NO_TELEMETRY = {"RASA_TELEMETRY_ENABLED": os.environ.get("RASA_TELEMETRY_ENABLED", "false")}


# Rasa serves one message at a time per process: numpy's BLAS threads for the sentence
# encoder's small matrices only spin, and cost half as much CPU again under load.
SERVING_THREADS = {"OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}


def endpoints_for(actions_port: str) -> str:
    """bot/endpoints.yml, pointed at the action server's port when it is not the usual one."""
    usual = ROOT / "bot/endpoints.yml"
    if actions_port == "5055":
        return str(usual)
    moved = ROOT / "var/endpoints.yml"
    moved.parent.mkdir(exist_ok=True)
    moved.write_text(usual.read_text().replace(":5055/", f":{actions_port}/"))
    return str(moved)


TELEGRAM_SECTION = """
# Added by `make run` because TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET are set.
channels.telegram.TelegramChannel:
  access_token: ${TELEGRAM_BOT_TOKEN}
  secret_token: ${TELEGRAM_WEBHOOK_SECRET}
"""


def credentials() -> str:
    """bot/credentials.yml, with the Telegram channel when its token and secret are set."""
    usual = ROOT / "bot/credentials.yml"
    if not (os.environ.get("TELEGRAM_BOT_TOKEN") and os.environ.get("TELEGRAM_WEBHOOK_SECRET")):
        return str(usual)
    # Rasa expands the ${...} itself, so the token is never written to disk.
    with_telegram = ROOT / "var/credentials.yml"
    with_telegram.parent.mkdir(exist_ok=True)
    section = TELEGRAM_SECTION
    if os.environ.get("TELEGRAM_API_BASE_URL"):  # a self-hosted Bot API server
        section += "  base_url: ${TELEGRAM_API_BASE_URL}\n"
    with_telegram.write_text(usual.read_text() + section)
    print("run: the Telegram channel is on (webhook: /webhooks/telegram/webhook)", flush=True)
    return str(with_telegram)


def actions_secret() -> dict[str, str]:
    """The action server's secret for it and for Rasa; made up for this run in development.

    Outside development an unset secret is left unset: the action server then refuses to
    start with the reason, and `make run` stops.
    """
    env = os.environ.get
    if env(ACTIONS_SECRET) or env("MEMBERDESK_ENV", "development").lower() != "development":
        return {}
    return {ACTIONS_SECRET: secrets.token_urlsafe(32)}


def processes() -> dict[str, tuple[list[str], dict[str, str]]]:
    """The commands that make up a running memberdesk, by name, with their extra environment."""
    env = os.environ.get
    # Each process has its own bind address, so exposing one exposes no other.
    api_host = env("MEMBERDESK_API_HOST", "127.0.0.1")
    rasa_host = env("MEMBERDESK_RASA_HOST", "127.0.0.1")
    if env("MEMBERDESK_HOST"):
        print("run: MEMBERDESK_HOST is no longer read; set MEMBERDESK_API_HOST, "
              "MEMBERDESK_ACTIONS_HOST or MEMBERDESK_RASA_HOST for the process to expose",
              flush=True)
    api_port = env("MEMBERDESK_API_PORT", "8000")
    actions_port = env("MEMBERDESK_ACTIONS_PORT", "5055")
    rasa_port = env("MEMBERDESK_RASA_PORT", "5005")
    api_url = env("MEMBERDESK_API_URL", f"http://127.0.0.1:{api_port}")
    secret = actions_secret()
    found = {
        "api": (
            # uvicorn with MEMBERDESK_API_WORKERS worker processes (one unless it is set).
            [API_PY, "-m", "api.serve", "--host", api_host, "--port", api_port],
            {},
        ),
        # It binds to MEMBERDESK_ACTIONS_HOST itself (actions/server.py).
        "actions": (actions_command(BOT_PY, actions_port),
                    {"MEMBERDESK_API_URL": api_url, **secret}),
    }
    if MODEL.exists():
        api_options = rasa_api_options(env("MEMBERDESK_ENV", "development").lower(),
                                       env(RASA_API_TOKEN))
        if not api_options:
            print(f"run: Rasa's HTTP API is off (set {RASA_API_TOKEN} to serve it with a "
                  "token); the channels work without it", flush=True)
        found["rasa"] = (
            rasa_command(BOT_PY, model=MODEL, host=rasa_host, port=rasa_port,
                         endpoints=endpoints_for(actions_port), credentials=credentials(),
                         api_options=api_options),
            # The channels inside Rasa ask the records API about hand-offs (channels.handoff).
            {"MEMBERDESK_API_URL": api_url, **SERVING_THREADS, **secret},
        )
    else:
        print("run: no trained model in models/; run `make train` for the assistant", flush=True)
    # Email: the outbox goes out when there is an SMTP server to send it through, and the
    # support mailbox is polled when one is configured (README: "Email").
    if env("MEMBERDESK_SMTP_HOST"):
        found["email-sender"] = ([API_PY, "-m", "api.cli", "email", "send-outbox", "--loop"], {})
    if env("MEMBERDESK_IMAP_HOST") and MODEL.exists():
        found["email-poller"] = (
            [BOT_PY, "-m", "channels.email", "poll"], {"MEMBERDESK_API_URL": api_url}
        )
    return found


def main() -> int:
    running: dict[str, Server] = {}
    stopping = False

    def stop_all(*_args: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop_all)
    signal.signal(signal.SIGTERM, stop_all)
    for name, (command, extra_env) in processes().items():
        print(f"run: starting {name}: {shown(command)}", flush=True)
        # Each in its own session, so stopping one stops whatever it started as well.
        running[name] = start(name, command, env={**NO_TELEMETRY, **extra_env}, cwd=ROOT)
    if "rasa" in running:
        rasa_port = os.environ.get("MEMBERDESK_RASA_PORT", "5005")
        print(f"run: the member portal with the webchat (once Rasa is up): "
              f"http://127.0.0.1:{rasa_port}/webhooks/webchat/portal", flush=True)

    exit_code = 0
    while not stopping:
        for name, server in running.items():
            if server.popen.poll() is not None:
                print(f"run: {name} exited with {server.popen.returncode}; stopping the rest",
                      flush=True)
                exit_code = server.popen.returncode or 1
                stopping = True
                break
        time.sleep(0.5)

    stop(running.values())
    print("run: stopped", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
