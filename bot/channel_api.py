"""The records API calls a chat channel makes itself: one-time codes for linking an account,
and the live hand-off to staff (`HandoffApi`, used by the channels' hand-off gate).

Answers are read and failures named by `bot.records`: `RecordsApiUnavailable` when the API
could not be reached or failed on its side, `RecordsApiRefused` when it answered 4xx (401 wrong
or expired code, 404 no such member, 409 no email on record, 422 invalid value, 429 too many
codes; for the hand-off, 409 when the conversation is no longer with a person).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

from bot.records import RecordsApiUnavailable, read_object, service_headers
from bot.settings import BotSettings

LINK_TELEGRAM = "link_telegram"
_MEMBERSHIP_NUMBER = re.compile(r"^\d{7}$")


@dataclass(frozen=True)
class CodeSent:
    """Where the code went, partly hidden (e.g. 'p***@example.org')."""

    sent_to: str


class ServiceApiClient:
    """The records API as one channel's service: a bearer token and the channel's name.

    It speaks aiohttp, which Rasa already runs on, rather than httpx: the hand-off check
    costs every member message one or two calls inside Rasa's own busy process, and httpx
    spent about four times the CPU per call there (docs/benchmarks.md).
    """

    def __init__(self, settings: BotSettings, *, channel: str) -> None:
        self._settings = settings
        self._channel = channel
        self._client: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        # Made on first use, inside the server's event loop, never at import time.
        if self._client is None or self._client.closed:
            self._client = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._settings.api_timeout),
                headers=service_headers(self._settings.service_token, self._channel),
                raise_for_status=False,
            )
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        try:
            # `path` is already quoted (a conversation id may hold "/" or ":"): sent as it is.
            url = URL(f"{self._settings.api_url.rstrip('/')}/api/v1{path}", encoded=True)
            async with self._http().request(
                method, url, json=body, allow_redirects=False
            ) as response:
                status, content = response.status, await response.read()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            # Timeouts, refused connections and protocol errors alike.
            raise RecordsApiUnavailable(f"{method} {path}: {exc.__class__.__name__}") from exc
        return read_object(method, path, status, content)

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._call("POST", path, body)

    async def _get(self, path: str) -> dict[str, Any]:
        return await self._call("GET", path)


class OneTimeCodes(ServiceApiClient):
    """Asks the API to email a one-time code, and to check one, as the channel's service."""

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


class HandoffApi(ServiceApiClient):
    """The conversations API (api/conversations/views.py): who a conversation is with, and
    the messages passed between the member and staff."""

    @staticmethod
    def _base(conversation_id: str) -> str:
        return f"/conversations/{quote(conversation_id, safe='')}"

    async def handoff(self, conversation_id: str) -> dict[str, Any]:
        """The conversation's hand-off state (`state`, `paused`, `staff_name`, `handback`...)."""
        return await self._get(self._base(conversation_id) + "/handoff")

    async def member_message(self, conversation_id: str, text: str) -> dict[str, Any]:
        """Put the member's message on the case of a paused conversation."""
        return await self._post(self._base(conversation_id) + "/member-messages", {"text": text})

    async def staff_messages(self, conversation_id: str) -> list[dict[str, Any]]:
        """Staff messages not yet delivered to the member, oldest first."""
        answer = await self._get(self._base(conversation_id) + "/staff-messages")
        messages = answer.get("messages")
        if not isinstance(messages, list):
            raise RecordsApiUnavailable("GET staff-messages: an unexpected reply")
        return [message for message in messages if isinstance(message, dict)]

    async def delivered(self, conversation_id: str, message_ids: list[int]) -> int:
        """Mark staff messages delivered; how many were newly marked."""
        answer = await self._post(
            self._base(conversation_id) + "/staff-messages/delivered",
            {"message_ids": message_ids},
        )
        return int(answer.get("marked") or 0)

    async def resumed(self, conversation_id: str) -> dict[str, Any]:
        """Confirm the assistant has taken what staff handed back."""
        return await self._post(self._base(conversation_id) + "/handoff/resumed", {})

    async def turn(
        self, conversation_id: str, *, intent: str | None, fallback: bool,
        misunderstood: bool = False, request_started: bool = False, resolved: bool = False,
    ) -> dict[str, Any]:
        """Count one member turn the assistant handled (never the member's words)."""
        return await self._post(
            self._base(conversation_id) + "/turns",
            {"channel": self._channel, "intent": intent, "fallback": fallback,
             "misunderstood": misunderstood, "request_started": request_started,
             "resolved": resolved},
        )
