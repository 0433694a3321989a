"""Settings for email replies and the SMTP sender (MEMBERDESK_* variables, like api.config)."""

from __future__ import annotations

from email.utils import parseaddr
from functools import lru_cache
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class EmailSettings(BaseSettings):
    """Where replies come from and how they leave."""

    model_config = SettingsConfigDict(env_prefix="MEMBERDESK_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "staging", "production"] = "development"
    # The support mailbox's own address: replies come from it and mail from it is never answered.
    email_from: str = "Membership team <members@memberdesk.example>"
    # Where a member checks who they are before anything personal is discussed.
    webchat_url: str = "http://127.0.0.1:8000/chat"
    join_url: str = "http://127.0.0.1:8000/join"
    # Replies to one address per hour; beyond it, emails are still routed but not answered.
    email_replies_per_sender_per_hour: int = Field(default=5, ge=1, le=1000)
    # Below this confidence an email is not answered automatically (it is still acknowledged).
    email_answer_min_confidence: float = Field(default=0.6, ge=0, le=1)

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    # starttls (port 587), tls (port 465), or none (a relay on the same host only).
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    # A CA bundle for a mail server with a private certificate authority.
    smtp_ca_file: str | None = None
    smtp_timeout: float = Field(default=30, gt=0, le=300)
    # Give up on a row after this many failed attempts (it stays in the outbox for staff).
    smtp_max_attempts: int = Field(default=20, ge=1, le=1000)

    @field_validator("email_from")
    @classmethod
    def _has_address(cls, value: str) -> str:
        if "@" not in parseaddr(value)[1]:
            raise ValueError("MEMBERDESK_EMAIL_FROM must contain an email address")
        return value

    @model_validator(mode="after")
    def _no_plain_text_smtp_across_a_network(self) -> EmailSettings:
        local = (self.smtp_host or "").lower() in ("localhost", "127.0.0.1", "::1")
        if self.env in ("staging", "production") and self.smtp_security == "none" and not local:
            raise ValueError(
                "MEMBERDESK_SMTP_SECURITY=none sends mail in plain text: use it only for a relay "
                "on the same host (MEMBERDESK_SMTP_HOST=localhost)"
            )
        return self

    @property
    def from_address(self) -> str:
        """The bare address of MEMBERDESK_EMAIL_FROM, lower case."""
        return parseaddr(self.email_from)[1].lower()

    @property
    def message_id_domain(self) -> str:
        """The domain our Message-IDs are made in."""
        return self.from_address.rpartition("@")[2] or "memberdesk.invalid"


@lru_cache
def get_email_settings() -> EmailSettings:
    """The process's email settings, read once."""
    return EmailSettings()
