"""`make run` turns the Telegram channel on from its two variables, and only then."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

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
