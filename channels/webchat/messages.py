"""What the webchat widget is sent and shown: the assistant's replies, staff messages, and
the conversation so far rebuilt from its tracker (the events are listed in
channels.webchat.channel).

All text is plain text: the widget renders it with textContent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from socketio import AsyncServer

from bot.safety import clean_text
from channels.text_output import TextOnlyOutput

log = logging.getLogger(__name__)

CHANNEL_NAME = "webchat"
HISTORY_LIMIT = 200


def staff_joined(custom: Any) -> str | None:
    """Who joined, from a `{"memberdesk": {"staff_joined": name}}` custom payload."""
    inner = custom.get("memberdesk") if isinstance(custom, dict) else None
    name = inner.get("staff_joined") if isinstance(inner, dict) else None
    if not isinstance(name, str) or not clean_text(name).strip():
        return None
    return clean_text(name).strip()[:120]


def staff_message(custom: Any) -> dict[str, Any] | None:
    """`{"from", "text", "note"}` from the custom payload a delivered staff message is kept as."""
    inner = custom.get("memberdesk") if isinstance(custom, dict) else None
    message = inner.get("staff_message") if isinstance(inner, dict) else None
    if not isinstance(message, dict) or not isinstance(message.get("text"), str):
        return None
    name = message.get("from") if isinstance(message.get("from"), str) else None
    text = message["text"]
    # "Alex Agent from the Records team has joined the conversation." reads as a note.
    return {"from": name, "text": text, "note": bool(name) and text.startswith(name or "")}


def member_message(custom: Any) -> str | None:
    """What a member said to staff, kept as `{"memberdesk": {"member_message": text}}`."""
    inner = custom.get("memberdesk") if isinstance(custom, dict) else None
    text = inner.get("member_message") if isinstance(inner, dict) else None
    return text if isinstance(text, str) and text else None


def shown_buttons(buttons: Iterable[Any] | None) -> list[dict[str, str]]:
    """Buttons as the widget shows them: a title and a payload each, cut to size."""
    offered = []
    for button in buttons or []:
        if not isinstance(button, dict):
            continue
        payload = str(button.get("payload") or button.get("title") or "")
        title = str(button.get("title") or payload)
        if payload:
            offered.append({"title": title[:200], "payload": payload[:1000]})
    return offered


class WebchatOutput(TextOnlyOutput):
    """Sends the assistant's replies to every tab open on a conversation (its socket.io room)."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    def __init__(self, sio: AsyncServer) -> None:
        self.sio = sio

    async def _emit(self, recipient_id: str, message: dict[str, Any]) -> None:
        await self.sio.emit("bot_uttered", message, room=recipient_id)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        if (text or "").strip():
            await self._emit(recipient_id, {"text": text.strip()})

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self._emit(
            recipient_id, {"text": (text or "").strip(), "buttons": shown_buttons(buttons)}
        )

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        name = staff_joined(json_message)
        if name:
            await self._emit(recipient_id, {"staff_joined": name})
        else:
            # Members must never see raw JSON meant for some other client.
            log.info("webchat: custom payload not shown")


def history_messages(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the widget shows of a conversation, from its tracker events, oldest first."""
    shown: list[dict[str, Any]] = []
    for event in events:
        kind = event.get("event")
        at = datetime.fromtimestamp(float(event.get("timestamp") or 0), tz=timezone.utc)
        message: dict[str, Any] = {}
        if kind == "user":
            webchat = (event.get("metadata") or {}).get(CHANNEL_NAME) or {}
            text = str(webchat.get("shown") or event.get("text") or "")
            # Intent payloads the widget sent itself (the greeting) are not the member's words.
            if text and not (text.startswith("/") and not webchat.get("shown")):
                message = {"from": "member", "text": text}
        elif kind == "bot":
            data = event.get("data") or {}
            name = staff_joined(data.get("custom"))
            from_staff = staff_message(data.get("custom"))
            to_staff = member_message(data.get("custom"))
            text = str(event.get("text") or "").strip()
            buttons = shown_buttons(data.get("buttons") or data.get("quick_replies"))
            if name:
                message = {"from": "staff", "staff_joined": name}
            elif from_staff:
                message = {"from": "staff", "staff": from_staff}
            elif to_staff:
                message = {"from": "member", "text": to_staff}
            elif text or buttons:
                message = {"from": "assistant", "text": text}
                if buttons:
                    message["buttons"] = buttons
        if message:
            shown.append({**message, "at": at.isoformat()})
    return shown[-HISTORY_LIMIT:]


def offered_buttons(events: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The buttons of the assistant's turn since the member last spoke."""
    offered: list[dict[str, str]] = []
    for event in reversed(events):
        if event.get("event") == "user":
            break
        if event.get("event") == "bot":
            data = event.get("data") or {}
            offered += shown_buttons(data.get("buttons") or data.get("quick_replies"))
    return offered
