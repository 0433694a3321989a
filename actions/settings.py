"""Settings for the action server, read from MEMBERDESK_* environment variables when needed."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class ActionSettings:
    api_url: str
    service_token: str
    # Seconds: the member is waiting, so a slow API is treated as a down one.
    api_timeout: float
    # Where requests that could not reach the API wait to be replayed.
    pending_store: str
    # Shared with the channels: they sign the identity they verified (see actions.identity).
    channel_secret: str


@lru_cache
def get_settings() -> ActionSettings:
    """The action server's settings, read once."""
    env = os.environ.get
    return ActionSettings(
        api_url=env("MEMBERDESK_API_URL", "http://127.0.0.1:8000").rstrip("/"),
        service_token=env("MEMBERDESK_SERVICE_TOKEN", "development-only-service-token"),
        api_timeout=float(env("MEMBERDESK_API_TIMEOUT", "5")),
        pending_store=env("MEMBERDESK_PENDING_STORE", "var/pending-requests.sqlite3"),
        channel_secret=env(
            "MEMBERDESK_CHANNEL_SECRET",
            env("MEMBERDESK_SECRET_KEY", "development-only-secret-key-change-me"),
        ),
    )
