"""Real memberdesk processes for the bot-side tests: the records API, the action server, Rasa.

Each listens on 127.0.0.1 on a free port, in its own process, and is stopped by the fixture
that started it. The API runs in its own virtual environment on a throwaway SQLite database
holding the demo organisation, exactly as `make run` does.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from harness.commands import action_endpoint, actions_command, rasa_api_options, rasa_command
from harness.processes import free_port, running

ROOT = Path(__file__).resolve().parents[2]
API_PY = ROOT / ".venv/api/bin/python"
BOT_PY = ROOT / ".venv/bot/bin/python"
SERVICE_TOKEN = "bot-tests-service-token-0123456789"
SECRET_KEY = "bot-tests-secret-key-0123456789abcdefghijklmnop"
# The website's side of the webchat: it signs member tokens with this, and its pages are
# served from this origin (tests/bot/channels/webchat/).
WEBCHAT_JWT_SECRET = "bot-tests-webchat-jwt-secret-0123456789abcdef"  # noqa: S105
WEBCHAT_ORIGIN = "http://members.example.org"
# What Rasa presents to the action server, and what Rasa's HTTP API asks for (harness.commands).
ACTIONS_SECRET = "bot-tests-actions-secret-0123456789abcdef"  # noqa: S105
RASA_API_TOKEN = "bot-tests-rasa-api-token-0123456789abcdef"  # noqa: S105
# What integrations present to the REST channel (channels.rest), which is off without it.
REST_TOKEN = "bot-tests-rest-channel-token-0123456789abcdef"  # noqa: S105
REST_HEADERS = {"Authorization": f"Bearer {REST_TOKEN}"}


@dataclass
class RecordsApi:
    url: str
    database: Path
    env: dict[str, str]

    def client(self) -> httpx.Client:
        """An HTTP client for asserting what the API holds: the service token, and a data-team
        user's for members' records and cases, which the service token never reaches."""
        return httpx.Client(
            base_url=f"{self.url}/api/v1",
            headers={"Authorization": f"Bearer {SERVICE_TOKEN}"},
            auth=_RecordsAsStaff(self),
            timeout=10,
        )

    def staff_client(self, username: str = "dana.data") -> httpx.Client:
        """An HTTP client signed in as one of the demo staff users."""
        signed_in = httpx.post(
            f"{self.url}/api/v1/staff/sign-in",
            json={"username": username, "password": "memberdesk-demo-password"},
            timeout=10,
        )
        signed_in.raise_for_status()
        return httpx.Client(
            base_url=f"{self.url}/api/v1",
            headers={"Authorization": f"Bearer {signed_in.json()['token']}"},
            timeout=10,
        )

    def member(self, number: str) -> dict:
        with self.client() as client:
            response = client.get(f"/members/{number}")
            response.raise_for_status()
            return response.json()  # type: ignore[no-any-return]


class _RecordsAsStaff(httpx.Auth):
    """Reads members' records and cases as a data-team user; everything else as the service."""

    def __init__(self, api: RecordsApi) -> None:
        self._api = api
        self._token: str | None = None

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        as_service = request.headers.get("Authorization") == f"Bearer {SERVICE_TOKEN}"
        path = request.url.path
        staff_only = path.startswith("/api/v1/members/") or (
            request.method == "GET" and path.startswith("/api/v1/cases"))
        if as_service and staff_only:
            if self._token is None:
                with self._api.staff_client() as staff:
                    self._token = str(staff.headers["Authorization"])
            request.headers["Authorization"] = self._token
        yield request


def seed_records(env: dict[str, str], members: int | None) -> float:
    """Schema and demo organisation (all of it when `members` is None); seconds taken."""
    start = time.monotonic()
    seed = ["seed"] if members is None else ["seed", "--members", str(members)]
    for step in (["db", "upgrade"], seed):
        subprocess.run(  # noqa: S603
            [str(API_PY), "-m", "api.cli", *step], cwd=ROOT, env={**os.environ, **env},
            check=True, capture_output=True, timeout=600,
        )
    return round(time.monotonic() - start, 1)


@contextmanager
def records_api(folder: Path, *, members: int = 60) -> Iterator[RecordsApi]:
    """The records API on a fresh demo database in `folder`."""
    database = folder / "memberdesk.db"
    env = {
        "MEMBERDESK_ENV": "test",
        "MEMBERDESK_DATABASE_URL": f"sqlite:///{database}",
        "MEMBERDESK_SERVICE_TOKEN": SERVICE_TOKEN,
        "MEMBERDESK_SECRET_KEY": SECRET_KEY,
    }
    seed_records(env, members)
    port = free_port()
    command = [str(API_PY), "-m", "uvicorn", "api.main:create_app", "--factory",
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    url = f"http://127.0.0.1:{port}"
    with running("records API", command, env=env, health=f"{url}/api/v1/health",
                 log=folder / "api.log"):
        yield RecordsApi(url=url, database=database, env=env)


def action_server_env(api: RecordsApi, folder: Path) -> dict[str, str]:
    """What the action server (or an action run in-process) needs to reach `api`."""
    return {
        "MEMBERDESK_API_URL": api.url,
        "MEMBERDESK_SERVICE_TOKEN": SERVICE_TOKEN,
        "MEMBERDESK_CHANNEL_SECRET": SECRET_KEY,
        "MEMBERDESK_PENDING_STORE": str(folder / "pending.sqlite3"),
        "MEMBERDESK_API_TIMEOUT": "10",
        # Not development: the action server answers only a caller with its secret.
        "MEMBERDESK_ENV": "test",
        "MEMBERDESK_ACTIONS_SECRET": ACTIONS_SECRET,
        "MEMBERDESK_REST_TOKEN": REST_TOKEN,
    }


@dataclass
class Assistant:
    """The whole assistant: Rasa's REST channel in front of the action server and the API."""

    rasa_url: str
    api: RecordsApi
    actions_url: str = ""

    def say(self, sender: str, text: str, metadata: dict | None = None) -> list[dict]:
        """Send one member message; the assistant's replies."""
        body: dict = {"sender": sender, "message": text}
        if metadata is not None:
            body["metadata"] = metadata
        response = httpx.post(f"{self.rasa_url}/webhooks/rest/webhook", json=body,
                              headers=REST_HEADERS, timeout=60)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def tracker(self, sender: str) -> dict:
        """The conversation as Rasa keeps it, through its HTTP API (with the API's token)."""
        response = httpx.get(f"{self.rasa_url}/conversations/{sender}/tracker",
                             params={"token": RASA_API_TOKEN}, timeout=30)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]


MODEL = ROOT / "models/memberdesk.tar.gz"


def rasa_env() -> dict[str, str]:
    """Rasa's environment: its channels sign identities with the action server's secret."""
    return {
        "MEMBERDESK_ENV": "test",
        "RASA_TELEMETRY_ENABLED": "false",
        # As `make run` serves (scripts/supervise.py SERVING_THREADS).
        "OPENBLAS_NUM_THREADS": "1",
        "MEMBERDESK_CHANNEL_SECRET": SECRET_KEY,
        "MEMBERDESK_WEBCHAT_JWT_SECRET": WEBCHAT_JWT_SECRET,
        "MEMBERDESK_WEBCHAT_ORIGINS": WEBCHAT_ORIGIN,
        # Rasa sends it to the action server (harness.commands.action_endpoint).
        "MEMBERDESK_ACTIONS_SECRET": ACTIONS_SECRET,
        "MEMBERDESK_REST_TOKEN": REST_TOKEN,
    }


def channel_api_env(api: RecordsApi) -> dict[str, str]:
    """What the channels inside Rasa need to reach `api` (live hand-off, turn counts)."""
    return {
        "MEMBERDESK_API_URL": api.url,
        "MEMBERDESK_SERVICE_TOKEN": SERVICE_TOKEN,
        "MEMBERDESK_API_TIMEOUT": "10",
    }


@contextmanager
def assistant(api: RecordsApi, folder: Path, *, model: Path = MODEL) -> Iterator[Assistant]:
    """Action server and Rasa server on free ports, pointed at `api`."""
    if not model.exists():
        subprocess.run(["bash", str(ROOT / "scripts/train.sh")], cwd=ROOT, check=True)  # noqa: S603, S607
    actions_port, rasa_port = free_port(), free_port()
    endpoints = folder / "endpoints.yml"
    endpoints.write_text(action_endpoint(f"http://127.0.0.1:{actions_port}/webhook"))
    # As `make run` starts them outside development: the action server wants its secret, and
    # Rasa's HTTP API (which the tests read trackers through) wants its token.
    rasa = rasa_command(BOT_PY, model=model, host="127.0.0.1", port=rasa_port,
                        endpoints=endpoints, credentials=ROOT / "bot/credentials.yml",
                        api_options=rasa_api_options("test", RASA_API_TOKEN))
    with running("action server", actions_command(BOT_PY, actions_port),
                 env=action_server_env(api, folder),
                 health=f"http://127.0.0.1:{actions_port}/health",
                 log=folder / "actions.log", seconds=90), \
         running("rasa", rasa, env={**rasa_env(), **channel_api_env(api)},
                 health=f"http://127.0.0.1:{rasa_port}/status?token={RASA_API_TOKEN}",
                 log=folder / "rasa.log", seconds=240):
        yield Assistant(rasa_url=f"http://127.0.0.1:{rasa_port}", api=api,
                        actions_url=f"http://127.0.0.1:{actions_port}")
