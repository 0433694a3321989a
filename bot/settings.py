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
# What MEMBERDESK_PENDING_STORE_URL may name: the drivers the assistant's image installs.
PENDING_STORE_SCHEMES = ("postgresql", "postgresql+psycopg2", "sqlite")


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
    # Where the actions keep requests that could not reach the API, to replay them: a SQLite
    # file for one machine, or (when set) a database URL every action server replica shares.
    pending_store: str = PENDING_STORE
    pending_store_url: str = ""
    # What Rasa presents to the action server (actions.server); empty: nothing is checked,
    # which only development allows (`actions_secret_required`).
    actions_secret: str = ""
    # The action server's bind address: its own, so exposing one process exposes no other.
    actions_host: str = "127.0.0.1"
    # What an integration presents to the REST channel (channels.rest); empty: the channel is
    # off, except in development, where it is open.
    rest_token: str = ""


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
        pending_store_url=env("MEMBERDESK_PENDING_STORE_URL", ""),
        actions_secret=env("MEMBERDESK_ACTIONS_SECRET", ""),
        actions_host=env("MEMBERDESK_ACTIONS_HOST", "127.0.0.1"),
        rest_token=env("MEMBERDESK_REST_TOKEN", ""),
    )
    if settings.rest_token and len(settings.rest_token) < 32:
        raise UnsafeSettings("MEMBERDESK_REST_TOKEN must be 32+ characters.")
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


def actions_secret_required(settings: BotSettings) -> str | None:
    """The secret the action server checks; refuses to go on without one outside development.

    Only the action server calls this (the channels and email triage never need the secret),
    and unlike the placeholders above, `test` is no exception: a test stack answers only Rasa.
    """
    if settings.actions_secret:
        if len(settings.actions_secret) < 32:
            raise UnsafeSettings("MEMBERDESK_ACTIONS_SECRET must be 32+ characters.")
        return settings.actions_secret
    if settings.environment != "development":
        raise UnsafeSettings(
            "Set MEMBERDESK_ACTIONS_SECRET (32+ characters): the action server answers only "
            "Rasa, which sends it (bot/endpoints.yml)."
        )
    return None


def pending_store_url_checked(settings: BotSettings) -> str:
    """The action server's store for kept requests, checked before it starts.

    A mistyped URL would otherwise show only when the records API is down, the one time the
    store is needed. Outside development and test a shared database is required: a file on one
    replica's disk is lost with it, and the other replicas never replay what it kept.
    """
    url = settings.pending_store_url
    if url:
        scheme, separator, rest = url.partition("://")
        if not separator or scheme not in PENDING_STORE_SCHEMES or not rest.strip("/"):
            raise UnsafeSettings(
                "MEMBERDESK_PENDING_STORE_URL must be a database URL "
                "(postgresql+psycopg2://USER:PASSWORD@HOST:5432/memberdesk_pending)."
            )
        return url
    if settings.environment not in ("development", "test"):
        raise UnsafeSettings(
            "Set MEMBERDESK_PENDING_STORE_URL to a PostgreSQL database every action server "
            "shares: requests kept in a local file are lost with the machine or pod."
        )
    return f"sqlite:///{settings.pending_store}"
