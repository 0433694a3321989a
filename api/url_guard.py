"""Refuses a request whose address (path or query) carries control characters.

No membership number, reference, conversation id or search term holds one, and PostgreSQL
refuses a NUL in any text it is asked to compare, which would surface as a 500 from deep inside
a query. Checked on the address alone, before routing: nothing of the body is read, so this
runs ahead of every door's own check of its caller without weakening it.
"""

from __future__ import annotations

import json
import re
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Receive, Scope, Send

_CONTROL = re.compile(rb"[\x00-\x1f\x7f]")
_ANSWER = json.dumps({
    "detail": "The address contains control characters; send it again without them.",
    "field": "url",
}).encode()


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
        await send({"type": "http.response.start", "status": 422, "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(_ANSWER)).encode()),
        ]})
        await send({"type": "http.response.body", "body": _ANSWER})
