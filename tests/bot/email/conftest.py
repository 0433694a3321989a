"""Fixtures for email triage: a real records API, Dovecot, an SMTP server and the NLU model."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.email_records import EmailRecords
from bot.settings import BotSettings
from channels.email.classifier import DEFAULT_MODEL, NluClassifier
from tests.bot.email.mailservers import Mailbox, SmtpSink, dovecot, dovecot_binary, smtp_sink
from tests.bot.servers import ROOT, SECRET_KEY, SERVICE_TOKEN, RecordsApi, records_api

CORPUS = Path(__file__).parent / "corpus"
MEMBERDESK = ROOT / ".venv/api/bin/memberdesk"
SUPPORT_ADDRESS = "members@memberdesk.example"


def corpus() -> dict[str, dict[str, Any]]:
    """The end-to-end emails and what should happen to each (corpus/expected.json)."""
    return json.loads((CORPUS / "expected.json").read_text())  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def email_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordsApi]:
    """The records API on its own demo database, for the email tests only."""
    with records_api(tmp_path_factory.mktemp("email-api")) as running_api:
        yield running_api


@pytest.fixture(scope="session")
def classifier() -> Iterator[NluClassifier]:
    """The assistant's trained NLU model, loaded once (about 20 s)."""
    if not DEFAULT_MODEL.exists():
        pytest.fail(f"no trained model at {DEFAULT_MODEL}: run `make train` first")
    loaded = NluClassifier(DEFAULT_MODEL)
    yield loaded
    loaded.close()


@pytest.fixture
def records(email_api: RecordsApi) -> Iterator[EmailRecords]:
    client = EmailRecords(BotSettings(
        environment="test", api_url=email_api.url, service_token=SERVICE_TOKEN,
        api_timeout=15, channel_secret=SECRET_KEY,
    ))
    yield client
    client.close()


@pytest.fixture
def mailbox(tmp_path: Path) -> Iterator[Mailbox]:
    """A fresh Dovecot mailbox over IMAPS for each test."""
    if dovecot_binary() is None:
        message = "dovecot is not installed: apt-get install -y dovecot-imapd (.ci/run does)"
        if os.environ.get("MEMBERDESK_REQUIRE_DOVECOT") == "1":
            pytest.fail(message)
        pytest.skip("SKIPPING IMAP TESTS - " + message)
    with dovecot(tmp_path / "dovecot") as running:
        yield running


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with smtp_sink() as sink:
        yield sink


@pytest.fixture
def memberdesk(email_api: RecordsApi) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the `memberdesk` command as an operator would, pointed at the test API and DB."""

    def run(*args: str, env: dict[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - our own console script
            [str(MEMBERDESK), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
            env={**os.environ, **email_api.env, "MEMBERDESK_API_URL": email_api.url,
                 "MEMBERDESK_EMAIL_FROM": f"Membership team <{SUPPORT_ADDRESS}>",
                 **(env or {})},
            check=False,
        )

    return run
