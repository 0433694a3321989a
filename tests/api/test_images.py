"""The built container images start, answer their health routes and never run as root.

Runs the images deploy/docker/*.Dockerfile built (docs/deployment.md, "Building the images"):
MEMBERDESK_API_IMAGE and MEMBERDESK_ASSISTANT_IMAGE, by default the tags deploy/compose.yaml
builds, memberdesk/api:local and memberdesk/assistant:local. Each container runs as the
cluster runs it (deploy/kubernetes): read-only root filesystem, /tmp its only writable place,
every capability dropped, no privilege escalation, published on 127.0.0.1 only.

Skipped unless a Docker daemon answers AND MEMBERDESK_IMAGE_TESTS=1: building the images takes
minutes and CI has no daemon, so they are opted into where images were built.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

API_IMAGE = os.environ.get("MEMBERDESK_API_IMAGE", "memberdesk/api:local")
ASSISTANT_IMAGE = os.environ.get("MEMBERDESK_ASSISTANT_IMAGE", "memberdesk/assistant:local")
# Long enough to pass the checks the settings make outside development, and plainly not real.
PLACEHOLDER = "image-test-placeholder-0123456789abcdef"


def _why_not_run() -> str | None:
    if os.environ.get("MEMBERDESK_IMAGE_TESTS") != "1":
        return ("container image tests run only with MEMBERDESK_IMAGE_TESTS=1 "
                "(they need the images built first)")
    if shutil.which("docker") is None:
        return "container image tests need the docker command, and it is not installed"
    try:
        answered = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"],
                                  capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return "container image tests need a Docker daemon, and none answered within 30 s"
    if answered.returncode != 0:
        return ("container image tests need a Docker daemon, and none answers: "
                f"{answered.stderr.strip()[-300:]}")
    return None


_reason = _why_not_run()
pytestmark = pytest.mark.skipif(_reason is not None, reason=_reason or "")


@dataclass(frozen=True)
class Container:
    name: str

    def exec(self, *command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["docker", "exec", self.name, *command],
                              capture_output=True, text=True, timeout=120)

    def published(self, port: int) -> str:
        """The 127.0.0.1:PORT the daemon chose for the container's `port`."""
        done = subprocess.run(["docker", "port", self.name, f"{port}/tcp"],
                              capture_output=True, text=True, check=True, timeout=30)
        return done.stdout.split()[0]

    def logs(self) -> str:
        done = subprocess.run(["docker", "logs", "--tail", "40", self.name],
                              capture_output=True, text=True, timeout=30)
        return done.stdout + done.stderr

    def inspect(self) -> dict:
        done = subprocess.run(["docker", "inspect", self.name],
                              capture_output=True, text=True, check=True, timeout=30)
        return json.loads(done.stdout)[0]


def _run(image: str, port: int, environment: dict[str, str], command: list[str] | None = None
         ) -> Iterator[Container]:
    """One container, hardened as the manifests run it, removed however the test ends."""
    container = Container(f"memberdesk-image-test-{uuid.uuid4().hex[:10]}")
    options = ["--read-only", "--tmpfs", "/tmp:size=256m", "--cap-drop", "ALL",
               "--security-opt", "no-new-privileges:true",
               # A port the daemon picks, on loopback only.
               "--publish", f"127.0.0.1::{port}"]
    for key, value in environment.items():
        options += ["--env", f"{key}={value}"]
    subprocess.run(["docker", "run", "--detach", "--name", container.name, *options, image,
                    *(command or [])], capture_output=True, text=True, check=True, timeout=120)
    try:
        yield container
    finally:
        subprocess.run(["docker", "rm", "--force", container.name], capture_output=True,
                       timeout=120)


def _wait_for(container: Container, url: str, seconds: float) -> tuple[int, bytes]:
    """The first answer `url` gives within `seconds`; fails with the container's log if none."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own URL
                return response.status, response.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                pytest.fail(f"{url} did not answer within {seconds:.0f} s:\n{container.logs()}")
            if not container.inspect()["State"]["Running"]:
                pytest.fail(f"the container stopped:\n{container.logs()}")
            time.sleep(2)


def _assert_runs_hardened(container: Container) -> None:
    uid = container.exec("id", "-u")
    assert uid.returncode == 0, uid.stderr
    assert uid.stdout.strip() != "0", "the image's process runs as root"
    written = container.exec("touch", "/app/written-at-runtime")
    assert written.returncode != 0 and "Read-only file system" in written.stderr
    # Only /tmp is writable, as in every pod (readOnlyRootFilesystem with an emptyDir on /tmp).
    assert container.exec("touch", "/tmp/written-at-runtime").returncode == 0


@pytest.fixture
def records_api() -> Iterator[Container]:
    # Production settings on SQLite in /tmp: the image's own command, port and health check.
    yield from _run(API_IMAGE, 8000, {
        "MEMBERDESK_ENV": "production",
        "MEMBERDESK_DATABASE_URL": "sqlite:////tmp/records.db",
        "MEMBERDESK_SECRET_KEY": PLACEHOLDER,
        "MEMBERDESK_SERVICE_TOKEN": PLACEHOLDER,
        "MEMBERDESK_CHANNEL_SECRET": PLACEHOLDER,
    })


def test_records_api_image_answers_health_as_non_root_on_a_read_only_filesystem(
        records_api: Container) -> None:
    # The schema upgrade the migrate Job runs, in the same image, as the same user.
    upgraded = records_api.exec("python", "-m", "api.cli", "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    status, body = _wait_for(
        records_api, f"http://{records_api.published(8000)}/api/v1/health", 90)
    assert status == 200
    assert json.loads(body) == {"status": "ok", "environment": "production"}
    # Every other route still asks who is calling.
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(  # noqa: S310 - our own URL
            f"http://{records_api.published(8000)}/api/v1/members/1", timeout=10)
    assert refused.value.code == 401
    _assert_runs_hardened(records_api)


@pytest.fixture
def action_server() -> Iterator[Container]:
    # MEMBERDESK_ENV=test: the kept requests go to a SQLite file (production wants PostgreSQL),
    # and the action secret is still required, as outside development.
    yield from _run(ASSISTANT_IMAGE, 5055, {
        "MEMBERDESK_ENV": "test",
        "MEMBERDESK_ACTIONS_HOST": "0.0.0.0",  # noqa: S104 - inside the container only
        "MEMBERDESK_ACTIONS_SECRET": PLACEHOLDER,
        "MEMBERDESK_PENDING_STORE": "/tmp/pending.sqlite3",
        "MEMBERDESK_API_URL": "http://127.0.0.1:9",
    }, ["python", "-m", "actions.server", "--actions", "actions", "--port", "5055"])


def test_action_server_image_answers_health_as_non_root(action_server: Container) -> None:
    status, _ = _wait_for(action_server, f"http://{action_server.published(5055)}/health", 180)
    assert status == 200
    _assert_runs_hardened(action_server)


@pytest.fixture
def rasa() -> Iterator[Container]:
    # The image's command with the development endpoints (an in-memory tracker store): the
    # production ones need PostgreSQL and Redis, which these tests do not start.
    yield from _run(ASSISTANT_IMAGE, 5005, {
        "MEMBERDESK_ENV": "test",
        "MEMBERDESK_ACTIONS_SECRET": PLACEHOLDER,
    }, ["python", "-m", "rasa", "run", "--model", "models/memberdesk.tar.gz",
        "--interface", "0.0.0.0", "--port", "5005",  # noqa: S104 - inside the container only
        "--endpoints", "bot/endpoints.yml", "--credentials", "bot/credentials.yml"])


@pytest.mark.timeout(600)
def test_rasa_image_loads_its_trained_model_as_non_root(rasa: Container) -> None:
    status, body = _wait_for(rasa, f"http://{rasa.published(5005)}/", 420)
    assert status == 200 and b"Hello from Rasa" in body
    _assert_runs_hardened(rasa)
