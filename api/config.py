"""Settings for the records API, read from MEMBERDESK_* environment variables or a .env file."""

from __future__ import annotations

from datetime import time
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# Conversation data is kept at least this long: a member's complaint or a dispute about a
# change can come months later, and the case must still show what was said.
MIN_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 36500

# Values that are fine on a laptop and fatal anywhere else.
# Known placeholders: Settings refuses to start with them outside development and test.
DEFAULT_SECRET_KEY = "development-only-secret-key-change-me"  # noqa: S105
DEFAULT_SERVICE_TOKEN = "development-only-service-token"  # noqa: S105


class DatabaseSettings(BaseSettings):
    """Where the records are kept, and nothing else: what the schema commands read (`memberdesk
    db upgrade`, `db check`), so the migration Job and the api pods' schema wait are given the
    database URL and no signing key or token."""

    # Errors name the setting but never repeat its value: several are secrets or carry one.
    model_config = SettingsConfigDict(
        env_prefix="MEMBERDESK_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    database_url: str = "sqlite:///var/memberdesk.db"


class Settings(DatabaseSettings):
    """Everything the records API can be told from outside."""

    env: Literal["development", "test", "staging", "production"] = "development"
    secret_key: str = DEFAULT_SECRET_KEY
    # The bearer token the action server and the channels present.
    service_token: str = DEFAULT_SERVICE_TOKEN
    # What the channels sign the identities they verified with (bot/identity.py); empty: the
    # secret key, as the channels themselves fall back to it.
    channel_secret: str = ""
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # Worker processes `python -m api.serve` starts: one process runs Python on one core at a
    # time, so a second core needs a second process. Development and the tests keep one.
    api_workers: int = Field(default=1, ge=1, le=32)
    public_url: str = "http://127.0.0.1:8000"
    # As long as a Rasa conversation session: a member verified once stays verified until the
    # session expires.
    member_token_minutes: int = Field(default=30, ge=1, le=240)
    staff_token_minutes: int = Field(default=480, ge=5, le=1440)
    # Failed identity checks before the conversation that made them is locked, whichever
    # numbers it tried: one person guessing is stopped without locking the member out.
    identity_max_failures: int = Field(default=3, ge=1, le=100)
    # Failed checks of one number, from all conversations together, before the number itself
    # is locked: a guess spread over many conversations is stopped too. Higher, because anyone
    # can fail checks against any number, and this lock also keeps the member out.
    identity_max_failures_per_number: int = Field(default=10, ge=1, le=1000)
    identity_lockout_minutes: int = Field(default=30, ge=1, le=1440)
    payment_link_minutes: int = Field(default=30, ge=5, le=1440)
    # Strings in imports and requests longer than this are refused rather than truncated.
    max_text_length: int = 200
    # Opening hours of the member-facing teams: case SLAs count only these hours.
    business_hours_start: time = time(9, 0)
    business_hours_end: time = time(17, 0)
    timezone: str = "Europe/London"
    # UK bank holidays differ between the three jurisdictions.
    bank_holiday_region: Literal["england-and-wales", "scotland", "northern-ireland"] = (
        "england-and-wales"
    )
    # How long conversation data (transcripts, inbound emails, Rasa's trackers) is kept after
    # the conversation or its case closed; `memberdesk retention purge` removes what is older.
    retention_days: int = 400
    # Rasa's SQL tracker store (the database bot/endpoints.production.yml names), as an
    # SQLAlchemy URL, so the purge reaches the trackers too; empty: they are left alone.
    tracker_store_url: str = ""

    @property
    def identity_assertion_secret(self) -> str:
        """The secret a channel's signed identity is checked with."""
        return self.channel_secret or self.secret_key

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"MEMBERDESK_TIMEZONE {value!r} is not a known time zone") from exc
        return value

    @field_validator("retention_days", mode="before")
    @classmethod
    def _whole_days_at_least_the_minimum(cls, value: object) -> int:
        text = str(value).strip()
        if isinstance(value, bool) or not text.isdigit() or not (
            MIN_RETENTION_DAYS <= int(text) <= MAX_RETENTION_DAYS
        ):
            raise ValueError(
                f"MEMBERDESK_RETENTION_DAYS must be a whole number of days from "
                f"{MIN_RETENTION_DAYS} to {MAX_RETENTION_DAYS} (it is {text[:20]!r})"
            )
        return int(text)

    @field_validator("tracker_store_url")
    @classmethod
    def _tracker_store_is_a_database_url(cls, value: str) -> str:
        if value.strip():
            try:
                make_url(value.strip())
            except (ArgumentError, ValueError):
                # Never echoed: the URL carries the tracker store's password.
                raise ValueError(
                    "MEMBERDESK_TRACKER_STORE_URL is not a database URL "
                    "(postgresql+psycopg2://USER:PASSWORD@HOST:5432/DB)"
                ) from None
        return value.strip()

    @model_validator(mode="after")
    def _opening_hours_in_order(self) -> Settings:
        if self.business_hours_start >= self.business_hours_end:
            raise ValueError("MEMBERDESK_BUSINESS_HOURS_START must be before ..._END")
        return self

    @model_validator(mode="after")
    def _refuse_default_secrets_outside_development(self) -> Settings:
        if self.env not in ("development", "test"):
            for name, value, default in (
                ("MEMBERDESK_SECRET_KEY", self.secret_key, DEFAULT_SECRET_KEY),
                ("MEMBERDESK_SERVICE_TOKEN", self.service_token, DEFAULT_SERVICE_TOKEN),
                ("MEMBERDESK_CHANNEL_SECRET (or MEMBERDESK_SECRET_KEY)",
                 self.identity_assertion_secret, DEFAULT_SECRET_KEY),
            ):
                if value == default or len(value) < 32:
                    raise ValueError(
                        f"{name} is left at its default or shorter than 32 characters; "
                        f"set it before running with MEMBERDESK_ENV={self.env}"
                    )
        return self


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()
