"""Keeps the first answer to a request that claimed an idempotency key (see `claims`).

The claim itself is made by the request's database dependency (`api.deps`), inside the change's
transaction; this middleware only sees the answer go out and stores it beside the claim, so a
repeat gets the same answer, reference included. A request without the header passes through
untouched.
"""

from __future__ import annotations

from anyio import to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.idempotency.claims import CHANGING_METHODS, KEY_HEADER, STATE_NAME, Claim, keep_answer

_KEY_HEADER = KEY_HEADER.encode()


class FirstAnswerMiddleware:
    """Stores the answer to each request that claimed a key; streams it on unchanged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in CHANGING_METHODS
            or not any(name == _KEY_HEADER for name, _ in scope["headers"])
        ):
            await self.app(scope, receive, send)
            return
        status: list[int] = []
        media_type: list[str] = []
        body = bytearray()

        async def remembering_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
                media_type.extend(
                    value.decode("latin-1")
                    for name, value in message.get("headers", [])
                    if name == b"content-type"
                )
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, remembering_send)
        claim: Claim | None = scope.get("state", {}).get(STATE_NAME)
        # A server error is not an answer: the claim, if it was committed, stays "in progress"
        # so a repeat is told the request was received rather than running it again.
        if claim is not None and status and status[0] < 500:
            await to_thread.run_sync(
                lambda: keep_answer(
                    claim,
                    status_code=status[0],
                    body=bytes(body),
                    media_type=media_type[0] if media_type else None,
                )
            )
