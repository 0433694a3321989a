"""The records API calls a channel makes itself: one-time codes for linking an account.

Only this module speaks HTTP to the API. Failures arrive as named errors:
`RecordsApiUnavailable` when the API could not be reached or failed on its side,
`RecordsApiRefused` when it answered 4xx (`status` says why: 401 wrong or expired code,
404 no such member, 409 no email on record, 422 invalid value, 429 too many codes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from channels.settings import ChannelSettings

LINK_TELEGRAM = "link_telegram"
_MEMBERSHIP_NUMBER = re.compile(r"^\d{7}$")


class RecordsApiError(Exception):
    """Base for records API failures."""


class RecordsApiUnavailable(RecordsApiError):
    """The API could not be reached, timed out, or failed on its side."""


class RecordsApiRefused(RecordsApiError):
    """The API refused the request (4xx)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


@dataclass(frozen=True)
class CodeSent:
    """Where the code went, partly hidden (e.g. 'p***@example.org')."""

    sent_to: str


class OneTimeCodes:
    """Asks the API to email a one-time code, and to check one, as the channel's service."""

    def __init__(
        self,
        settings: ChannelSettings,
        *,
        channel: str,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._settings = settings
        self._channel = channel
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        # Made on first use, inside the server's event loop, never at import time.
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=f"{self._settings.api_url}/api/v1",
                timeout=httpx.Timeout(self._settings.api_timeout),
                headers={
                    "Authorization": f"Bearer {self._settings.service_token}",
                    "X-Memberdesk-Channel": self._channel,
                },
                transport=self._transport,
            )
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self._http().post(path, json=body)
        except httpx.HTTPError as exc:
            # Timeouts, refused connections and protocol errors alike.
            raise RecordsApiUnavailable(f"POST {path}: {exc.__class__.__name__}") from exc
        if response.status_code >= 500:
            raise RecordsApiUnavailable(f"POST {path}: HTTP {response.status_code}")
        if not 200 <= response.status_code < 300:
            raise RecordsApiRefused(response.status_code)
        try:
            answer = response.json()
        except ValueError as exc:
            raise RecordsApiUnavailable(f"POST {path}: a reply that is not JSON") from exc
        if not isinstance(answer, dict):
            raise RecordsApiUnavailable(f"POST {path}: an unexpected reply")
        return answer

    async def send(self, *, membership_number: str, purpose: str, subject: str) -> CodeSent:
        """Email a code to the address on this membership's record."""
        answer = await self._post(
            "/one-time-codes",
            {"membership_number": membership_number, "purpose": purpose, "subject": subject},
        )
        return CodeSent(sent_to=str(answer.get("sent_to") or "the email address on record"))

    async def verify(self, *, purpose: str, subject: str, code: str) -> str:
        """The membership number the code was sent for, if the code is right, fresh and unused."""
        answer = await self._post(
            "/one-time-codes/verify", {"purpose": purpose, "subject": subject, "code": code}
        )
        number = answer.get("membership_number")
        if not isinstance(number, str) or not _MEMBERSHIP_NUMBER.match(number):
            raise RecordsApiUnavailable("POST /one-time-codes/verify: no membership number")
        return number
