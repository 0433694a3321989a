"""`memberdesk doctor`: every unsafe setting named with its fix, no secret ever printed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import cli

SAFE = {
    "MEMBERDESK_ENV": "production",
    "MEMBERDESK_DATABASE_URL": "postgresql+psycopg2://memberdesk:pw@db.internal:5432/memberdesk",
    "MEMBERDESK_PENDING_STORE_URL":
        "postgresql+psycopg2://pending:pw@db.internal:5432/memberdesk_pending",
    "MEMBERDESK_PUBLIC_URL": "https://members.union.example",
    "MEMBERDESK_SECRET_KEY": "k" * 20 + "secret-key-0123456789",
    "MEMBERDESK_SERVICE_TOKEN": "s" * 20 + "service-token-0123456",
    "MEMBERDESK_ACTIONS_SECRET": "a" * 20 + "actions-secret-012345",
    "MEMBERDESK_CHANNEL_SECRET": "c" * 20 + "channel-secret-012345",
    "MEMBERDESK_WEBCHAT_JWT_SECRET": "w" * 20 + "webchat-secret-012345",
    "MEMBERDESK_WEBCHAT_ORIGINS": "https://www.union.example",
}


def _doctor(env: dict[str, str], *args: str) -> tuple[int, str]:
    # Only what the test gives: nothing from the machine running the tests.
    result = CliRunner().invoke(cli, ["doctor", *args], env={**dict.fromkeys(_MACHINE), **env})
    return result.exit_code, result.output


_MACHINE = [*SAFE, "MEMBERDESK_RASA_API_TOKEN", "MEMBERDESK_REST_TOKEN", "TELEGRAM_BOT_TOKEN",
            "TELEGRAM_WEBHOOK_SECRET", "MEMBERDESK_WEBCHAT_DEMO_PORTAL", "MEMBERDESK_IMAP_HOST",
            "MEMBERDESK_IMAP_PORT"]


def test_a_safe_production_configuration_passes() -> None:
    code, output = _doctor(SAFE)
    assert code == 0, output
    assert "nothing unsafe found" in output


@pytest.mark.parametrize(
    ("change", "setting", "words"),
    [
        ({"MEMBERDESK_SECRET_KEY": "development-only-secret-key-change-me"},
         "MEMBERDESK_SECRET_KEY", "placeholder"),
        ({"MEMBERDESK_SERVICE_TOKEN": "short-token"}, "MEMBERDESK_SERVICE_TOKEN", "guessable"),
        ({"MEMBERDESK_ACTIONS_SECRET": ""}, "MEMBERDESK_ACTIONS_SECRET", "not set"),
        ({"MEMBERDESK_CHANNEL_SECRET": SAFE["MEMBERDESK_SECRET_KEY"]},
         "MEMBERDESK_CHANNEL_SECRET", "same value as MEMBERDESK_SECRET_KEY"),
        ({"MEMBERDESK_DATABASE_URL": "sqlite:///var/memberdesk.db"},
         "MEMBERDESK_DATABASE_URL", "SQLite"),
        ({"MEMBERDESK_PENDING_STORE_URL": ""}, "MEMBERDESK_PENDING_STORE_URL", "not set"),
        ({"MEMBERDESK_PENDING_STORE_URL": "sqlite:///var/pending.sqlite3"},
         "MEMBERDESK_PENDING_STORE_URL", "SQLite"),
        ({"MEMBERDESK_PUBLIC_URL": "http://members.union.example"},
         "MEMBERDESK_PUBLIC_URL", "https"),
        ({"MEMBERDESK_WEBCHAT_DEMO_PORTAL": "on"}, "MEMBERDESK_WEBCHAT_DEMO_PORTAL", "anyone"),
        ({"TELEGRAM_BOT_TOKEN": "123:abc"}, "TELEGRAM_WEBHOOK_SECRET", "webhook secret"),
        ({"MEMBERDESK_REST_TOKEN": "rest"}, "MEMBERDESK_REST_TOKEN", "guessable"),
        ({"MEMBERDESK_IMAP_HOST": "imap.union.example", "MEMBERDESK_IMAP_PORT": "143"},
         "MEMBERDESK_IMAP_PORT", "plain IMAP"),
        ({"MEMBERDESK_ENV": "prod"}, "MEMBERDESK_ENV", "unknown environment"),
    ],
)
def test_each_unsafe_setting_is_named_with_its_fix(
    change: dict[str, str], setting: str, words: str
) -> None:
    code, output = _doctor({**SAFE, **change})
    assert code == 1
    [line] = [line for line in output.splitlines() if line.startswith(f"UNSAFE  {setting}:")]
    assert words in line
    assert "fix:" in output
    for name, value in {**SAFE, **change}.items():
        if "SECRET" in name or "TOKEN" in name:
            assert not value or value not in output, f"{name}'s value was printed"


def test_development_is_advised_against_but_not_refused() -> None:
    code, output = _doctor({"MEMBERDESK_ENV": "development"})
    assert code == 0
    assert output.startswith("ADVICE  MEMBERDESK_ENV: development")


def test_settings_the_api_would_refuse_do_not_stop_the_doctor() -> None:
    code, output = _doctor({"MEMBERDESK_ENV": "production"})
    assert code == 1
    for name in ("MEMBERDESK_SECRET_KEY", "MEMBERDESK_SERVICE_TOKEN", "MEMBERDESK_ACTIONS_SECRET",
                 "MEMBERDESK_CHANNEL_SECRET", "MEMBERDESK_WEBCHAT_JWT_SECRET",
                 "MEMBERDESK_DATABASE_URL", "MEMBERDESK_PUBLIC_URL"):
        assert f"UNSAFE  {name}:" in output


def test_a_secrets_file_is_read_and_the_answer_can_be_json(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.env"
    secrets.write_text("# deploy/secrets.env\n\n" + "\n".join(
        f"{name}='{value}'" for name, value in SAFE.items() if name != "MEMBERDESK_ENV"
    ) + "\nMEMBERDESK_SERVICE_TOKEN=too-short\n")
    code, output = _doctor({"MEMBERDESK_ENV": "production"}, "--env-file", str(secrets), "--json")
    answer = json.loads(output)
    assert code == 1 and answer["unsafe"] == 1
    assert [f["setting"] for f in answer["findings"]] == ["MEMBERDESK_SERVICE_TOKEN"]


def test_a_broken_secrets_file_is_one_clear_error(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.env"
    secrets.write_text("MEMBERDESK_SECRET_KEY\n")
    code, output = _doctor(SAFE, "--env-file", str(secrets))
    assert code == 1
    assert "secrets.env:1: expected KEY=value" in output
    assert "Traceback" not in output
