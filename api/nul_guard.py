"""Refuses, with a clear 422, what PostgreSQL would refuse with a 500: a NUL character.

PostgreSQL cannot store or compare text holding a NUL, and the error surfaces from deep inside
a query, after the request was accepted. No membership number, reference, name, address or
message has one, so a NUL is refused at the edge:

- in the address (path or query), together with every other control character, before
  routing: nothing of the body is read, so this runs ahead of each door's check of its caller;
- in a JSON or form body (`\\u0000`, `%00`), after that check (api.caller_first runs first),
  the body read once and handed on unchanged; the answer names the field, as a route's own
  validation would.
Other control characters in a body are each field's business (api.validation.clean_text).
An email is recorded whatever its sender put in it, so the routes that take one strip NULs
themselves (api.mail.inbound) and are left out here: STRIPPED_BY_THE_ROUTE.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_CONTROL = re.compile(rb"[\x00-\x1f\x7f]")
# A JSON escape of NUL (an escaped backslash before it is a literal "\u0000", not a NUL), or a
# form's percent-encoding of it.
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.I)
_FORM_NUL = re.compile(rb"%00")
STRIPPED_BY_THE_ROUTE = frozenset({"/api/v1/email/inbound", "/api/v1/email/triage"})


def _refusal(detail: str, field: str) -> tuple[Message, Message]:
    body = json.dumps({"detail": detail, "field": field}).encode()
    return (
        {"type": "http.response.start", "status": 422, "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]},
        {"type": "http.response.body", "body": body},
    )


def _has_control_characters(scope: Scope) -> bool:
    raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
    return any(
        _CONTROL.search(unquote_to_bytes(part))
        for part in (raw_path, scope.get("query_string", b""))
    )


class NoControlCharactersInAddress:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _has_control_characters(scope):
            await self.app(scope, receive, send)
            return
        for message in _refusal(
            "The address contains control characters; send it again without them.", "url"
        ):
            await send(message)


def _field_with_nul(node: Any, path: tuple[str, ...] = ()) -> str | None:
    """The dotted name of the first JSON value (or key) holding a NUL; None if there is none."""
    if isinstance(node, str):
        return ".".join(path) or "body" if "\x00" in node else None
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(
        node, list) else ()
    for key, value in items:
        if "\x00" in str(key):
            return ".".join(path) or "body"
        found = _field_with_nul(value, (*path, str(key)))
        if found:
            return found
    return None


def _nul_field(body: bytes, form: bool) -> str | None:
    """Where the body holds a NUL: the field's name, "body" when it cannot say, else None."""
    if form:
        if not _FORM_NUL.search(body):
            return None
        return next((key or "body" for key, value in parse_qsl(body.decode("latin-1"))
                     if "\x00" in key or "\x00" in value), "body")
    if not _JSON_NUL.search(body):
        return None
    try:
        return _field_with_nul(json.loads(body)) or "body"
    except ValueError:
        return "body"  # not JSON after all: the route's own parsing would refuse it anyway


def _is_form(scope: Scope) -> bool | None:
    """True for a form body, False for JSON, None for anything else (left to the route)."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            kind = value.split(b";")[0].strip().lower()
            if kind == b"application/json" or kind.endswith(b"+json"):
                return False
            if kind == b"application/x-www-form-urlencoded":
                return True
    return None


class NoNulInBody:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        form = (_is_form(scope) if scope["type"] == "http"
                and scope["path"] not in STRIPPED_BY_THE_ROUTE else None)
        if form is None:
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
        field = _nul_field(body, form)
        if field is not None:
            for answer in _refusal(
                f"{field} contains a NUL character; send it again without it.", field
            ):
                await send(answer)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)
