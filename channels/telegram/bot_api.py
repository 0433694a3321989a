"""The Telegram Bot API as the channel uses it: its credentials, and one call made politely.

Shared by the webhook channel, its replies and `python -m channels.telegram.cli`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from rasa.shared.exceptions import RasaException
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

log = logging.getLogger(__name__)

# The update kinds the webhook asks Telegram for (cli set-webhook).
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
DEFAULT_STORE = "var/telegram.sqlite3"
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,256}$")


class TelegramConfigError(RasaException):
    """The telegram section of credentials.yml is missing something or unsafe."""


@dataclass(frozen=True)
class TelegramCredentials:
    access_token: str
    secret_token: str
    base_url: str | None = None
    store_path: str = DEFAULT_STORE

    @classmethod
    def parse(cls, credentials: dict[str, Any] | None) -> TelegramCredentials:
        """Credentials from credentials.yml, refused when a value is missing or weak."""
        credentials = credentials or {}
        access_token = str(credentials.get("access_token") or "").strip()
        secret_token = str(credentials.get("secret_token") or "").strip()
        if not access_token:
            raise TelegramConfigError("Telegram credentials need access_token (from BotFather).")
        if not _SECRET_TOKEN.match(secret_token):
            raise TelegramConfigError(
                "Telegram credentials need secret_token: 32-256 characters of A-Z, a-z, 0-9, "
                "_ and - (e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')."
            )
        store = credentials.get("store") or os.environ.get("MEMBERDESK_TELEGRAM_STORE")
        return cls(
            access_token=access_token,
            secret_token=secret_token,
            base_url=str(credentials["base_url"]).rstrip("/") if credentials.get("base_url")
            else None,
            store_path=str(store or DEFAULT_STORE),
        )

    def bot(self) -> Bot:
        """A python-telegram-bot client for this bot (against base_url when one is set)."""
        if self.base_url:
            return Bot(self.access_token, base_url=self.base_url)
        return Bot(self.access_token)


async def telegram_call(what: str, call: Callable[[], Awaitable[Any]]) -> Any:
    """One Bot API call, retried once after a network hiccup or a short flood wait.

    A refusal (the member blocked the bot, a message too old to delete) is logged and
    dropped: there is nobody else to tell, and the conversation carries on.
    """
    for attempt in (1, 2):
        try:
            return await call()
        except RetryAfter as exc:
            wait = exc.retry_after
            seconds = wait.total_seconds() if hasattr(wait, "total_seconds") else float(wait)
            if attempt == 2 or seconds > 5:
                log.warning("telegram %s: flood control, %.0f s", what, seconds)
                return None
            await asyncio.sleep(seconds)
        except (BadRequest, Forbidden) as exc:
            log.warning("telegram %s refused: %s", what, exc.__class__.__name__)
            return None
        except NetworkError as exc:
            if attempt == 2:
                log.warning("telegram %s failed: %s", what, exc.__class__.__name__)
                return None
        except TelegramError as exc:
            log.warning("telegram %s failed: %s", what, exc.__class__.__name__)
            return None
    return None
