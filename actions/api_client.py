"""The transport the actions use to reach the records API: async httpx, pooled per loop.

Every call has a timeout. Headers, answers and failures are `bot.records`'s:
`RecordsApiUnavailable` when the API cannot be reached or failed on its side (the member is
told honestly and the request is kept), `RecordsApiRefused` when it refused the request (the
`detail` is written for members; `status` says why: 401 not verified, 404 not found, 409
conflict, 422 invalid value, 423 locked).

Member data is only ever asked for with the member's own token (`RecordsApi.as_member`); the
service token is for the identity check, public information and cases.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

import httpx

from bot.records import (
    IDEMPOTENCY_HEADER,
    RecordsApiRefused,
    RecordsApiUnavailable,
    read_answer,
    service_headers,
)
from bot.settings import get_settings

# One pooled client per event loop: an httpx client must not outlive the loop it was made on.
# Keyed by the loop itself, weakly: a new loop often gets a closed one's id(), and a client
# inherited that way fails its calls with ConnectError.
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
    weakref.WeakKeyDictionary()
)


def _http() -> httpx.AsyncClient:
    # Created on first use (never at import time).
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        settings = get_settings()
        client = httpx.AsyncClient(
            base_url=settings.api_url,
            timeout=httpx.Timeout(settings.api_timeout),
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
        )
        _clients[loop] = client
    return client


class NotVerified(RecordsApiRefused):
    """A member call with no member token: the member has not passed the identity check."""

    def __init__(self) -> None:
        super().__init__(401, "Please confirm who you are first.")


class RecordsApi:
    """Calls to the records API, made as the service or as one verified member."""

    def __init__(self, *, token: str, channel: str = "rest") -> None:
        self.channel = channel
        self._headers = service_headers(token, channel)

    @classmethod
    def as_service(cls, *, channel: str = "rest") -> RecordsApi:
        """The service: the identity check, public information and cases, never a record."""
        return cls(token=get_settings().service_token, channel=channel)

    @classmethod
    def as_member(cls, member_token: str | None, *, channel: str = "rest") -> RecordsApi:
        """One verified member, who can reach only their own record; NotVerified without one.

        There is deliberately no fallback to the service token: a tracker that names a member
        but holds no token of theirs must not reach that member's record.
        """
        if not member_token:
            raise NotVerified()
        return cls(token=member_token, channel=channel)

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """One call; returns the decoded JSON body or raises a named error.

        A change sent with `idempotency_key` is made once however often it is sent.
        """
        headers = self._headers
        if idempotency_key:
            headers = {**headers, IDEMPOTENCY_HEADER: idempotency_key}
        try:
            response = await _http().request(
                method, f"/api/v1{path}", json=json, params=params, headers=headers
            )
        except httpx.HTTPError as exc:
            # Covers timeouts, refused connections and protocol errors, not only timeouts.
            raise RecordsApiUnavailable(f"{method} {path}: {exc.__class__.__name__}") from exc
        return read_answer(method, path, response.status_code, response.content)

    async def get(self, path: str, **params: Any) -> Any:
        wanted = {k: v for k, v in params.items() if v is not None}
        return await self.request("GET", path, params=wanted)

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return await self.request("POST", path, json=body or {})

    async def put(self, path: str, body: dict[str, Any]) -> Any:
        return await self.request("PUT", path, json=body)
