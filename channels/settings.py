"""Settings the channels share, read from MEMBERDESK_* variables when a channel starts.

The names and defaults are the action server's (actions/settings.py): the channels call the
same records API with the same service token, and sign identities with the secret the
actions check them with.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# The development placeholders (api/config.py); refused outside development and test.
DEVELOPMENT_SECRET_KEY = "development-only-secret-key-change-me"  # noqa: S105
DEVELOPMENT_SERVICE_TOKEN = "development-only-service-token"  # noqa: S105


class UnsafeChannelSettings(RuntimeError):
    """A development placeholder was left in place where real members could be served."""


@dataclass(frozen=True)
class ChannelSettings:
    environment: str
    api_url: str
    service_token: str
    # Seconds: the member is waiting, so a slow API is treated as a down one.
    api_timeout: float
    # Signs the identity a channel verified (checked by actions.identity.signed_identity).
    channel_secret: str


def channel_settings() -> ChannelSettings:
    """The channels' settings, refusing development placeholders in staging and production."""
    env = os.environ.get
    settings = ChannelSettings(
        environment=env("MEMBERDESK_ENV", "development").lower(),
        api_url=env("MEMBERDESK_API_URL", "http://127.0.0.1:8000").rstrip("/"),
        service_token=env("MEMBERDESK_SERVICE_TOKEN", DEVELOPMENT_SERVICE_TOKEN),
        api_timeout=float(env("MEMBERDESK_API_TIMEOUT", "5")),
        channel_secret=env(
            "MEMBERDESK_CHANNEL_SECRET", env("MEMBERDESK_SECRET_KEY", DEVELOPMENT_SECRET_KEY)
        ),
    )
    if settings.environment not in ("development", "test"):
        if settings.channel_secret == DEVELOPMENT_SECRET_KEY or len(settings.channel_secret) < 32:
            raise UnsafeChannelSettings(
                "Set MEMBERDESK_CHANNEL_SECRET (or MEMBERDESK_SECRET_KEY) to 32+ characters."
            )
        if settings.service_token == DEVELOPMENT_SERVICE_TOKEN:
            raise UnsafeChannelSettings("Set MEMBERDESK_SERVICE_TOKEN.")
    return settings
