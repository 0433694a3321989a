"""`make run` turns the Telegram channel on from its two variables, and only then; it serves
Rasa's HTTP API outside development only with its token, and binds each process on its own."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from harness.commands import shown

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def supervise(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("supervise", ROOT / "scripts/supervise.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (tmp_path / "bot").mkdir()
    (tmp_path / "bot/credentials.yml").write_text((ROOT / "bot/credentials.yml").read_text())
    monkeypatch.setattr(module, "ROOT", tmp_path)
    for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "TELEGRAM_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return module


def test_without_a_token_rasa_gets_the_usual_credentials(supervise, tmp_path: Path) -> None:
    assert supervise.credentials() == str(tmp_path / "bot/credentials.yml")


def test_with_token_and_secret_the_channel_is_added_without_writing_them(
    supervise, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:real-token-value")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "s" * 40)

    written = Path(supervise.credentials())

    text = written.read_text()
    assert written == tmp_path / "var/credentials.yml"
    assert text.startswith((ROOT / "bot/credentials.yml").read_text())
    assert "channels.telegram.TelegramChannel:\n  access_token: ${TELEGRAM_BOT_TOKEN}\n" in text
    # Rasa expands the variables itself: the secrets never reach the disk.
    assert "real-token-value" not in text and "s" * 40 not in text


def _command(supervise, name: str) -> list[str]:  # type: ignore[no-untyped-def]
    command, _extra_env = supervise.processes()[name]
    return command  # type: ignore[no-any-return]


@pytest.fixture
def with_model(supervise, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    (tmp_path / "bot/endpoints.yml").write_text((ROOT / "bot/endpoints.yml").read_text())
    monkeypatch.setattr(supervise, "MODEL", tmp_path / "model.tar.gz")
    (tmp_path / "model.tar.gz").write_bytes(b"")
    for name in ("MEMBERDESK_ENV", "MEMBERDESK_RASA_API_TOKEN", "MEMBERDESK_ACTIONS_SECRET",
                 "MEMBERDESK_HOST", "MEMBERDESK_API_HOST", "MEMBERDESK_RASA_HOST"):
        monkeypatch.delenv(name, raising=False)
    return supervise


def test_outside_development_rasa_api_needs_its_token_or_is_off(
    with_model, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMBERDESK_ENV", "production")
    assert "--enable-api" not in _command(with_model, "rasa")

    monkeypatch.setenv("MEMBERDESK_RASA_API_TOKEN", "rasa-api-token-0123456789")
    rasa = _command(with_model, "rasa")
    after = rasa[rasa.index("--enable-api") + 1:]
    assert after[:2] == ["--auth-token", "rasa-api-token-0123456789"]


def test_in_development_rasa_api_is_open_and_the_actions_secret_is_made_up(
    with_model,
) -> None:
    found = with_model.processes()
    rasa, rasa_env = found["rasa"]
    actions, actions_env = found["actions"]

    assert "--enable-api" in rasa and "--auth-token" not in rasa
    assert actions[1:3] == ["-m", "actions.server"]
    secret = actions_env["MEMBERDESK_ACTIONS_SECRET"]
    assert len(secret) >= 32 and rasa_env["MEMBERDESK_ACTIONS_SECRET"] == secret


def test_each_process_has_its_own_bind_address(
    with_model, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMBERDESK_RASA_HOST", "0.0.0.0")  # noqa: S104 - what is asked for
    monkeypatch.setenv("MEMBERDESK_HOST", "0.0.0.0")  # noqa: S104 - no longer read

    api, rasa = _command(with_model, "api"), _command(with_model, "rasa")

    assert api[api.index("--host") + 1] == "127.0.0.1"
    assert rasa[rasa.index("--interface") + 1] == "0.0.0.0"  # noqa: S104


def test_the_printed_command_hides_rasa_api_token() -> None:
    assert shown(["rasa", "run", "--auth-token", "t0ken", "--port", "5005"]) == (
        "rasa run --auth-token *** --port 5005"
    )
