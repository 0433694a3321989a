"""The records API calls email triage makes: preview a route, record an email.

Answers are read and failures named by `bot.records`: `RecordsApiUnavailable` when the API
could not be reached or failed on its side (the email waits and is tried again),
`RecordsApiRefused` when it refused the request.
"""

from __future__ import annotations

from typing import Any

import httpx

from bot.records import RecordsApiUnavailable, read_object, service_headers
from bot.settings import BotSettings


class EmailRecords:
    """The records API as the email channel's service sees it (one client per process).

    Synchronous, unlike the chat channels' `bot.channel_api`: the poller handles one email at
    a time with no event loop, so it shares their headers and reading of answers rather than
    their async transport.
    """

    def __init__(self, settings: BotSettings, *, timeout: float | None = None) -> None:
        self._client = httpx.Client(
            base_url=f"{settings.api_url}/api/v1",
            # Nobody is waiting on an email the way a chat member waits: allow a slow API.
            timeout=httpx.Timeout(timeout or max(settings.api_timeout, 15.0)),
            headers=service_headers(settings.service_token, "email"),
        )

    def close(self) -> None:
        self._client.close()

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._client.post(path, json=body)
        except httpx.HTTPError as exc:
            raise RecordsApiUnavailable(f"POST {path}: {exc.__class__.__name__}") from exc
        return read_object("POST", path, response.status_code, response.content)

    def preview(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Where the email would go, without recording it."""
        return self._post("/email/triage", payload)

    def record(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Record the email: its case, its reply. Safe to repeat (idempotent on Message-ID)."""
        return self._post("/email/inbound", payload)
