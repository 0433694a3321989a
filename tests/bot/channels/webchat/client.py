"""A webchat visitor for the tests: a real socket.io client talking to the real Rasa server.

It connects the way the widget does (`auth = {"session", "member_token"}`, then `join`), and
records every event the server sends, so tests can wait for what a member would see.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import socketio

from channels.webchat.channel import SOCKETIO_PATH
from tests.bot.servers import WEBCHAT_ORIGIN

EVENTS = ("session", "history", "received", "bot_uttered", "typing", "acknowledged")
_message_ids = itertools.count(1)


class Visitor:
    """One browser tab with the chat open."""

    def __init__(
        self,
        rasa_url: str,
        *,
        session: Any = None,
        member_token: str | None = None,
        origin: str | None = WEBCHAT_ORIGIN,
    ) -> None:
        self.rasa_url = rasa_url
        self.auth = {"session": session, "member_token": member_token}
        self.origin = origin
        self.events: list[tuple[str, Any]] = []
        self._changed = threading.Condition()
        # The Python client's websocket transport needs a newer aiohttp than Rasa pins;
        # the browser tests use websockets.
        self.client = socketio.Client(reconnection=False)
        for name in EVENTS:
            self.client.on(name, self._recorder(name))

    def _recorder(self, name: str) -> Callable[[Any], None]:
        def record(data: Any = None) -> None:
            with self._changed:
                self.events.append((name, data))
                self._changed.notify_all()

        return record

    def connect(self) -> Visitor:
        """Connect and join; raises socketio.exceptions.ConnectionError when refused."""
        headers = {"Origin": self.origin} if self.origin else {}
        self.client.connect(
            self.rasa_url, socketio_path=SOCKETIO_PATH, transports=["polling"],
            headers=headers, auth=self.auth, wait_timeout=20,
        )
        self.client.emit("join")
        self.wait_for("history")
        return self

    def close(self) -> None:
        if self.client.connected:
            # Sends engine.io's close packet, as a closing tab does, without waiting up to a
            # ping interval for the long-poll in flight to come back.
            self.client.eio.disconnect(abort=True)

    def __enter__(self) -> Visitor:
        return self.connect()

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- what the server said --------------------------------------------------------------

    def wait_for(
        self, name: str, predicate: Callable[[Any], bool] = lambda _: True, *,
        after: int = 0, timeout: float = 90,
    ) -> Any:
        """The first `name` event from index `after` on that satisfies `predicate`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for event, data in self.events[after:]:
                    if event == name and predicate(data):
                        return data
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {name} event in {timeout:.0f} s: {self.events}")
                self._changed.wait(left)

    def since(self, index: int, name: str) -> list[Any]:
        with self._changed:
            return [data for event, data in self.events[index:] if event == name]

    @property
    def session(self) -> dict[str, Any]:
        return self.wait_for("session")  # type: ignore[no-any-return]

    @property
    def conversation_id(self) -> str:
        """The conversation the server bound this tab to (read from its session token)."""
        body = self.session["token"].split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        return str(claims["c"])

    @property
    def history(self) -> list[dict[str, Any]]:
        return self.wait_for("history")["messages"]  # type: ignore[no-any-return]

    # -- saying things ---------------------------------------------------------------------

    def send(self, **message: Any) -> int:
        """Emit one message without waiting; the index its answers start from."""
        start = len(self.events)
        self.client.emit("user_uttered", {"id": f"t{next(_message_ids)}", **message})
        return start

    def turn(self, **message: Any) -> list[dict[str, Any]]:
        """Send a message and wait until the assistant has answered it; its replies."""
        start = self.send(**message)
        self.wait_for("typing", lambda data: data == {"active": False}, after=start)
        return self.since(start, "bot_uttered")

    def say(self, text: str) -> str:
        """The assistant's replies to `text`, joined, as the member reads them."""
        return "\n".join(
            str(reply.get("text") or reply.get("notice") or "") for reply in self.turn(text=text)
        )
