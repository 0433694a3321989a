"""The chat widget's files, served under the webchat's blueprint (/webhooks/webchat/).

`widget.js` and `widget.css` from static/, `socket.io.js` from the npm package socket.io-client
that `make setup` installs, and the demo portal's own files when the portal is on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

STATIC_DIR = Path(__file__).resolve().parent / "static"
SOCKETIO_CLIENT = (
    Path(__file__).resolve().parents[2] / "node_modules/socket.io-client/dist/socket.io.min.js"
)
# The widget's files in STATIC_DIR; portal.* with the portal only.
_STATIC = {
    "widget.js": "text/javascript; charset=utf-8",
    "widget.css": "text/css; charset=utf-8",
    "portal.js": "text/javascript; charset=utf-8",
    "portal.css": "text/css; charset=utf-8",
}
_ASSET_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


def _file_route(path: Path, content_type: str) -> Callable[[Request], Awaitable[HTTPResponse]]:
    async def serve(_: Request) -> HTTPResponse:
        return await response.file(path, mime_type=content_type, headers=_ASSET_HEADERS)

    return serve


def serve_widget(webchat: Blueprint, *, with_portal: bool) -> None:
    """Add the widget's routes (and the portal's files, `with_portal`) to the blueprint."""
    for filename, content_type in _STATIC.items():
        if filename.startswith("portal") and not with_portal:
            continue
        webchat.add_route(
            _file_route(STATIC_DIR / filename, content_type),
            f"/{filename}", methods=["GET"], name=f"asset_{filename.replace('.', '_')}",
        )

    @webchat.route("/socket.io.js", methods=["GET"])
    async def socketio_client(_: Request) -> HTTPResponse:
        if not SOCKETIO_CLIENT.exists():
            return response.text(
                "socket.io-client is not installed: run `make setup`.", status=503
            )
        return await response.file(
            SOCKETIO_CLIENT, mime_type="text/javascript; charset=utf-8", headers=_ASSET_HEADERS,
        )
