"""The bot side's settings, read from MEMBERDESK_* variables when a process starts.

The action server and the channels read the same variables: they call the same records API
with the same service token, and the channels sign the identities they verified with the
secret the actions check them with (bot.identity). Outside development and test the
development placeholders are refused, as the records API refuses them (api/config.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

# The development placeholders (api/config.py); refused outside development and test.
DEVELOPMENT_SECRET_KEY = "development-only-secret-key-change-me"  # noqa: S105
DEVELOPMENT_SERVICE_TOKEN = "development-only-service-token"  # noqa: S105
PENDING_STORE = "var/pending-requests.sqlite3"


class UnsafeSettings(RuntimeError):
    """A development placeholder was left in place where real members could be served."""


@dataclass(frozen=True)
class BotSettings:
    environment: str
    api_url: str
    service_token: str
    # Seconds: the member is waiting, so a slow API is treated as a down one.
    api_timeout: float
    # Signs the identity a channel verified; the actions check it (bot.identity).
    channel_secret: str
    # Where the actions keep requests that could not reach the API, to replay them.
    pending_store: str = PENDING_STORE


def read_settings() -> BotSettings:
    """The settings as the environment has them now, refusing placeholders in production."""
    env = os.environ.get
    settings = BotSettings(
        environment=env("MEMBERDESK_ENV", "development").lower(),
        api_url=env("MEMBERDESK_API_URL", "http://127.0.0.1:8000").rstrip("/"),
        service_token=env("MEMBERDESK_SERVICE_TOKEN", DEVELOPMENT_SERVICE_TOKEN),
        api_timeout=float(env("MEMBERDESK_API_TIMEOUT", "5")),
        channel_secret=env(
            "MEMBERDESK_CHANNEL_SECRET", env("MEMBERDESK_SECRET_KEY", DEVELOPMENT_SECRET_KEY)
        ),
        pending_store=env("MEMBERDESK_PENDING_STORE", PENDING_STORE),
    )
    if settings.environment not in ("development", "test"):
        if settings.channel_secret == DEVELOPMENT_SECRET_KEY or len(settings.channel_secret) < 32:
            raise UnsafeSettings(
                "Set MEMBERDESK_CHANNEL_SECRET (or MEMBERDESK_SECRET_KEY) to 32+ characters."
            )
        if settings.service_token == DEVELOPMENT_SERVICE_TOKEN:
            raise UnsafeSettings("Set MEMBERDESK_SERVICE_TOKEN.")
    return settings


@lru_cache
def get_settings() -> BotSettings:
    """`read_settings()` read once per process: the actions ask on every call they make."""
    return read_settings()
