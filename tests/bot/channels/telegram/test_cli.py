"""`python -m channels.telegram.cli`: registering the webhook with the fake Bot API."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from channels.telegram import cli as telegram_cli
from tests.bot.channels.telegram.fake_bot_api import BOT_TOKEN, WEBHOOK_SECRET, FakeBotApi
from tests.bot.servers import ROOT

WEBHOOK_URL = "https://members.example.org/webhooks/telegram/webhook"


def credentials_file(folder: Path, bot_api: FakeBotApi) -> Path:
    """A credentials.yml as a deployment would write it, the secrets in the environment."""
    path = folder / "credentials.yml"
    path.write_text(
        "rest:\n"
        "channels.telegram.TelegramChannel:\n"
        "  access_token: ${TELEGRAM_BOT_TOKEN}\n"
        "  secret_token: ${TELEGRAM_WEBHOOK_SECRET}  # unquoted, so Rasa expands it\n"
        f'  base_url: "{bot_api.base_url}"\n'
    )
    return path


@pytest.fixture
def telegram_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {"TELEGRAM_BOT_TOKEN": BOT_TOKEN, "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def test_set_webhook_registers_the_url_with_the_secret_token(
    bot_api: FakeBotApi, tmp_path: Path, telegram_env: dict[str, str]
) -> None:
    credentials = credentials_file(tmp_path, bot_api)

    finished = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "channels.telegram.cli", "--credentials", str(credentials),
         "set-webhook", WEBHOOK_URL],
        cwd=ROOT, env={**os.environ, **telegram_env}, capture_output=True, text=True,
        timeout=120,
    )

    assert finished.returncode == 0, finished.stderr
    assert WEBHOOK_URL in finished.stdout
    assert bot_api.webhook == {
        "url": WEBHOOK_URL,
        "secret_token": WEBHOOK_SECRET,
        "allowed_updates": ["message", "edited_message", "callback_query"],
    }
    assert WEBHOOK_SECRET not in finished.stdout + finished.stderr


def test_webhook_info_and_delete_webhook(
    bot_api: FakeBotApi, tmp_path: Path, telegram_env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    credentials = str(credentials_file(tmp_path, bot_api))
    assert telegram_cli.main(["--credentials", credentials, "set-webhook", WEBHOOK_URL]) == 0

    assert telegram_cli.main(["--credentials", credentials, "webhook-info"]) == 0
    assert f"url: {WEBHOOK_URL}" in capsys.readouterr().out

    assert telegram_cli.main(["--credentials", credentials, "delete-webhook"]) == 0
    assert bot_api.webhook == {}
    assert bot_api.called("deleteWebhook") == [{}]


def test_a_plain_http_url_is_refused_before_telegram_is_asked(
    bot_api: FakeBotApi, tmp_path: Path, telegram_env: dict[str, str]
) -> None:
    credentials = str(credentials_file(tmp_path, bot_api))

    with pytest.raises(SystemExit):
        telegram_cli.main(["--credentials", credentials, "set-webhook", "http://example.org/x"])

    assert bot_api.calls == []


def test_a_wrong_bot_token_is_reported_not_crashed_on(
    bot_api: FakeBotApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "999:not-the-bot")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET)
    credentials = str(credentials_file(tmp_path, bot_api))

    assert telegram_cli.main(["--credentials", credentials, "set-webhook", WEBHOOK_URL]) == 1
    assert "error" in capsys.readouterr().err
    assert bot_api.webhook == {}


def test_memberdesk_telegram_set_webhook_works_from_the_environment_alone(
    bot_api: FakeBotApi, telegram_env: dict[str, str]
) -> None:
    # What README's "Telegram" section tells an organisation to do: two variables, one command.
    env = {**os.environ, **telegram_env, "TELEGRAM_API_BASE_URL": bot_api.base_url}
    finished = subprocess.run(  # noqa: S603 - our own interpreters and modules
        [str(ROOT / ".venv/api/bin/python"), "-m", "api.cli", "telegram", "set-webhook",
         WEBHOOK_URL],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )

    assert finished.returncode == 0, finished.stderr
    assert bot_api.webhook is not None
    assert (bot_api.webhook["url"], bot_api.webhook["secret_token"]) == (
        WEBHOOK_URL, WEBHOOK_SECRET
    )


def test_a_credentials_file_without_the_telegram_section_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET", raising=False)
    path = tmp_path / "credentials.yml"
    path.write_text("rest:\n")

    assert telegram_cli.main(["--credentials", str(path), "webhook-info"]) == 1
    assert "channels.telegram.TelegramChannel" in capsys.readouterr().err


def test_rasa_finds_the_channel_by_its_credentials_yml_key(
    bot_api: FakeBotApi, tmp_path: Path, telegram_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rasa.core.run import create_http_input_channels

    from channels.telegram import TelegramChannel

    monkeypatch.setenv("MEMBERDESK_TELEGRAM_STORE", str(tmp_path / "telegram.sqlite3"))
    channels = create_http_input_channels(None, str(credentials_file(tmp_path, bot_api)))

    [channel] = [c for c in channels if isinstance(c, TelegramChannel)]
    assert channel.name() == channel.url_prefix() == "telegram"
    assert channel.credentials.secret_token == WEBHOOK_SECRET
    assert channel.store.path == tmp_path / "telegram.sqlite3"
