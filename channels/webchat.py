"""The website webchat: a socket.io input channel, the chat widget, and a demo member portal.

Rasa's own socket.io channel takes the session id the browser sends as the conversation,
so anyone who learns an id can join that conversation, and it accepts every origin. This
channel instead:

1. accepts socket.io connections only from the server's own origin and the origins in
   `allowed_origins` (credentials.yml) or `MEMBERDESK_WEBCHAT_ORIGINS`;
2. on connect, reads `auth = {"session": ..., "member_token": ...}`. A valid member token
   (channels.webchat_auth) binds the conversation to that member: every message then carries
   the membership number, signed (channels.identity), so the assistant starts the session
   verified and skips the identity check. The session token is one this server issued;
   anything else starts a new conversation with a new unguessable id (see `resume_or_start`);
3. on every message: a per-conversation rate limit, then card numbers masked, control
   characters stripped and long messages cut with a notice (channels.safety). Typed text is
   read as words, never as an intent payload; a button press is accepted only when it is one
   of the buttons the assistant offered in its last turn (read from the tracker store).

Events, server to browser (all text is plain text: the widget renders it with textContent):

- `session` `{"token", "signed_in", "sign_in_refused", "resumed"}`: keep `token` for the tab;
- `history` `{"messages": [...]}`: the conversation so far, sent on every (re)connect, each
  message like a `bot_uttered` one plus `"from": "member" | "assistant" | "staff"`;
- `received` `{"id", "text"}`: the member's message as the assistant saw it (card numbers
  masked), so the widget can show that instead of what was typed;
- `bot_uttered` `{"text", "buttons": [{"title", "payload"}]}`, `{"notice"}` for the
  channel's own messages, `{"staff": {"from", "text", "note"}}` for a staff message (`note`
  when it reads as a line about the conversation, "Alex Agent from the Records team has
  joined the conversation."), or `{"staff_joined": "Alex from the records team"}`;
- `typing` `{"active": bool}`.

Browser to server: `start` (the widget was opened: greets a conversation that has not
begun), `user_uttered` `{"id", "text"}` or `{"id", "choice": payload}`.

Live hand-off (channels.handoff), as on Telegram: while a person has the conversation, a
member's messages go to the case in the staff console instead of the assistant, and the
member is told who they went to. Staff messages are fetched from the records API after each
member message and by a poller, sent to the conversation's tabs and kept in the tracker (as
bot events with a `{"memberdesk": {"staff_message": ...}}` custom payload), so a reload
shows them.

Staff joining, without the console: a bot message with the custom payload
`{"memberdesk": {"staff_joined": "Alex from the records team"}}` makes the widget say that
they joined, and is replayed with the history. A staff tool sends it with Rasa's HTTP API:
`POST /conversations/<id>/tracker/events?output_channel=webchat&execute_side_effects=true`
with `{"event": "bot", "data": {"custom": {"memberdesk": {"staff_joined": "..."}}}}`. Other
custom payloads are not shown.

Each conversation is a socket.io room, so every tab open on it gets the replies; with
several Rasa replicas the rooms are shared through Redis (`MEMBERDESK_WEBCHAT_REDIS_URL`).

The blueprint (under /webhooks/webchat/) serves `GET /` (health), the widget
(`widget.js`, `widget.css`, and `socket.io.js` from the npm package socket.io-client that
`make setup` installs) and, in development and test only, the demo member portal at
`/webhooks/webchat/portal` with a demo sign-in that signs member tokens the way an
organisation's website would.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.core.events import BotUttered
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncRedisManager, AsyncServer

from channels.handoff import Gate, LiveHandoff, SendStaffMessage, StaffMessage
from channels.identity import identity_metadata
from channels.safety import (
    THROTTLE_NOTICE,
    Admission,
    SenderRateLimit,
    check_message,
    clean_text,
)
from channels.settings import ChannelSettings, channel_settings
from channels.text_output import TextOnlyOutput
from channels.webchat_auth import (
    WebchatSession,
    WebchatSettings,
    member_from_token,
    resume_or_start,
    session_token,
    sign_member_token,
    sign_value,
    signed_value,
    webchat_settings,
)

log = logging.getLogger(__name__)

CHANNEL_NAME = "webchat"
SOCKETIO_PATH = "/webhooks/webchat/socket.io"
WIDGET_DIR = Path(__file__).resolve().parent / "webchat_widget"
SOCKETIO_CLIENT = (
    Path(__file__).resolve().parents[1] / "node_modules/socket.io-client/dist/socket.io.min.js"
)
# Socket.io frames larger than this are refused before they are read; a message is cut to
# 5,000 characters anyway (channels.safety).
MAX_FRAME_BYTES = 100_000
HISTORY_LIMIT = 200
# The user message a conversation starts with when the widget is opened.
GREETING = "/greet"
DEMO_COOKIE = "memberdesk_demo_portal"
# The demo portal's sign-in password for every demo member (README.md, Demo data).
DEMO_PASSWORD = "memberdesk-demo-password"  # noqa: S105

EXPIRED_CHOICE_NOTICE = "That choice has expired. Please type your answer instead."
SORRY_NOTICE = "Sorry, something went wrong on our side. Please try again in a few minutes."
SIGN_IN_REFUSED_NOTICE = (
    "I couldn't confirm that you're signed in, so I'll ask you some security questions if "
    "you want to discuss your membership."
)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]

# The widget's files in WIDGET_DIR, served under the blueprint; portal.* with the portal only.
_STATIC = {
    "widget.js": "text/javascript; charset=utf-8",
    "widget.css": "text/css; charset=utf-8",
    "portal.js": "text/javascript; charset=utf-8",
    "portal.css": "text/css; charset=utf-8",
}
_PAGE_HEADERS = {
    # The portal runs no inline script and loads nothing from elsewhere: bot or member
    # text that slipped through as HTML could not run anyway.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class SocketBlueprint(Blueprint):
    """A blueprint that also attaches the socket.io server to the app it is registered on."""

    def __init__(self, sio: AsyncServer, socketio_path: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ctx.sio = sio
        self.ctx.socketio_path = socketio_path

    def register(self, app: Sanic, options: dict[str, Any]) -> None:
        self.ctx.sio.attach(app, self.ctx.socketio_path)
        super().register(app, options)


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


def _member_message(custom: Any) -> str | None:
    """What a member said to staff, kept as `{"memberdesk": {"member_message": text}}`."""
    inner = custom.get("memberdesk") if isinstance(custom, dict) else None
    text = inner.get("member_message") if isinstance(inner, dict) else None
    return text if isinstance(text, str) and text else None


def _buttons(buttons: Iterable[Any] | None) -> list[dict[str, str]]:
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
            recipient_id, {"text": (text or "").strip(), "buttons": _buttons(buttons)}
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
            to_staff = _member_message(data.get("custom"))
            text = str(event.get("text") or "").strip()
            buttons = _buttons(data.get("buttons") or data.get("quick_replies"))
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


def passed_on_notice(gate: Gate) -> str:
    """What the member is told when their message went to staff rather than the assistant."""
    return f"Your message has been passed to {gate.passed_to}."


def _portal_of(request: Request) -> str:
    """The portal page's path, from one of its forms' paths (".../portal/sign-in")."""
    return request.path.rsplit("/", 1)[0]


def offered_buttons(events: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The buttons of the assistant's turn since the member last spoke."""
    offered: list[dict[str, str]] = []
    for event in reversed(events):
        if event.get("event") == "user":
            break
        if event.get("event") == "bot":
            data = event.get("data") or {}
            offered += _buttons(data.get("buttons") or data.get("quick_replies"))
    return offered


@dataclass(frozen=True)
class _Tab:
    """What the server knows about one connected socket."""

    session: WebchatSession
    # Whether the tab presented a session it already had, and a member token that failed.
    resumed: bool
    refused: bool


class WebchatInput(InputChannel):
    """The website's chat, over socket.io, with server-issued and server-verified identity."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> WebchatInput:
        channel = channel_settings()
        return cls(channel, webchat_settings(channel, credentials))

    def __init__(
        self,
        channel: ChannelSettings,
        settings: WebchatSettings,
        *,
        rate_limit: SenderRateLimit | None = None,
    ) -> None:
        self.channel = channel
        self.settings = settings
        self.rate_limit = rate_limit or SenderRateLimit()
        self.sio: AsyncServer | None = None
        self._app: Sanic | None = None
        self._demo_key = hashlib.sha256(b"memberdesk demo portal" + settings.session_key).digest()
        self._handler: OnNewMessage | None = None
        self.handoff = LiveHandoff(channel, CHANNEL_NAME)
        # Builds the character tables at start-up rather than on a visitor's first message.
        clean_text("")

    def get_output_channel(self) -> OutputChannel | None:
        """For messages sent outside a member's turn (a staff tool through Rasa's API)."""
        return WebchatOutput(self.sio) if self.sio is not None else None

    def origin_allowed(self, origin: str | None, environ: dict[str, Any]) -> bool:
        """The server's own origin, or one of the configured ones."""
        if not origin:
            # Not a browser page (browsers always send Origin on socket.io requests).
            return True
        origin = origin.rstrip("/")
        host = environ.get("HTTP_HOST")
        scheme = environ.get("wsgi.url_scheme", "http")
        return origin in self.settings.allowed_origins or (
            bool(host) and origin in (f"{scheme}://{host}", f"https://{host}")
        )

    # -- the conversation store ------------------------------------------------------------

    def _agent(self) -> Any:
        """Rasa's Agent, once the server has started (None before, or without a model)."""
        return getattr(self._app.ctx, "agent", None) if self._app is not None else None

    async def _events(self, conversation_id: str) -> list[dict[str, Any]]:
        """The conversation's tracker events, as Rasa stored them; none when there is none."""
        store = getattr(self._agent(), "tracker_store", None)
        if store is None:
            return []
        tracker = await store.retrieve(conversation_id)
        if tracker is None:
            return []
        return [event.as_dict() for event in tracker.events]

    # -- socket.io ---------------------------------------------------------------------------

    def _socket_server(self) -> AsyncServer:
        # With several Rasa replicas, a reply or a staff message sent from one replica must
        # reach a tab connected to another: they share rooms through Redis.
        manager = (
            AsyncRedisManager(self.settings.redis_url, channel="memberdesk-webchat")
            if self.settings.redis_url else None
        )
        sio = AsyncServer(
            async_mode="sanic",
            client_manager=manager,
            cors_allowed_origins=self.origin_allowed,
            max_http_buffer_size=MAX_FRAME_BYTES,
        )

        @sio.on("connect")
        async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
            await self.connect(sid, auth)
            return True

        @sio.on("join")
        async def join(sid: str, *_: Any) -> None:
            await self.join(sid)

        @sio.on("start")
        async def start(sid: str, *_: Any) -> None:
            await self.start(sid)

        @sio.on("user_uttered")
        async def user_uttered(sid: str, data: Any = None) -> None:
            await self.user_uttered(sid, data)

        return sio

    def _sio(self) -> AsyncServer:
        if self.sio is None:
            raise RuntimeError("the webchat blueprint has not been created")
        return self.sio

    async def _notice(self, sid: str, text: str) -> None:
        await self._sio().emit("bot_uttered", {"notice": text}, to=sid)

    async def connect(self, sid: str, auth: Any) -> None:
        """Bind the socket to its conversation (see module docstring)."""
        sio = self._sio()
        auth = auth if isinstance(auth, dict) else {}
        presented_member = auth.get("member_token")
        member = member_from_token(presented_member, secret=self.settings.jwt_secret)
        refused = bool(presented_member) and member is None
        session, resumed = resume_or_start(auth.get("session"), member, settings=self.settings)
        await sio.save_session(sid, {"tab": _Tab(session, resumed=resumed, refused=refused)})
        await sio.enter_room(sid, session.conversation_id)

    async def join(self, sid: str) -> None:
        """Tell a connected tab its session, and replay the conversation so far."""
        tab = await self._tab(sid)
        if tab is None:
            return
        sio = self._sio()
        session = tab.session
        await sio.emit(
            "session",
            {
                "token": session_token(session, settings=self.settings),
                "signed_in": session.member is not None,
                "sign_in_refused": tab.refused,
                "resumed": tab.resumed,
            },
            to=sid,
        )
        events = await self._events(session.conversation_id) if tab.resumed else []
        await sio.emit("history", {"messages": history_messages(events)}, to=sid)
        if tab.refused:
            await self._notice(sid, SIGN_IN_REFUSED_NOTICE)

    async def _tab(self, sid: str) -> _Tab | None:
        try:
            stored = await self._sio().get_session(sid)
        except KeyError:
            return None
        tab = stored.get("tab") if isinstance(stored, dict) else None
        return tab if isinstance(tab, _Tab) else None

    async def _admitted(self, sid: str, tab: _Tab) -> bool:
        admission = self.rate_limit.admit(tab.session.conversation_id)
        if admission is Admission.throttled_first:
            await self._notice(sid, THROTTLE_NOTICE)
        return admission is Admission.allowed

    async def start(self, sid: str) -> None:
        """The widget was opened: greet a conversation that has not begun."""
        tab = await self._tab(sid)
        if tab is None:
            return
        events = await self._events(tab.session.conversation_id)
        if any(event.get("event") == "user" for event in events):
            return
        if await self._admitted(sid, tab):
            await self._pass_on(sid, tab, GREETING, member_turn=False)

    async def user_uttered(self, sid: str, data: Any) -> None:
        """One message typed, or one button pressed, in the widget."""
        tab = await self._tab(sid)
        if tab is None or not isinstance(data, dict):
            return
        if not await self._admitted(sid, tab):
            return
        message_id = str(data.get("id") or "")[:64]
        choice = data.get("choice")
        if isinstance(choice, str):
            offered = offered_buttons(await self._events(tab.session.conversation_id))
            chosen = next((b for b in offered if b["payload"] == choice), None)
            if chosen is None:
                await self._notice(sid, EXPIRED_CHOICE_NOTICE)
                return
            await self._received(tab, message_id, chosen["title"])
            await self._pass_on(sid, tab, chosen["payload"], shown=chosen["title"])
            return
        checked = check_message(data.get("text") if isinstance(data.get("text"), str) else "")
        await self._received(tab, message_id, checked.text)
        for notice in checked.notices:
            await self._notice(sid, notice)
        if checked.empty or not checked.says_something:
            return
        # Typed text is read as words, never as an intent with entities ("/inform{...}").
        await self._pass_on(sid, tab, checked.text.lstrip("/").strip())

    async def _received(self, tab: _Tab, message_id: str, text: str) -> None:
        # To every tab on the conversation: the sender's replaces what was typed with it,
        # the others show it.
        await self._sio().emit(
            "received", {"id": message_id, "text": text}, room=tab.session.conversation_id
        )

    async def _pass_on(
        self, sid: str, tab: _Tab, text: str, *, shown: str | None = None,
        member_turn: bool = True,
    ) -> None:
        """A member's message to the assistant, or to staff while a person has the conversation
        (channels.handoff); then any staff messages waiting for it."""
        if not text:
            return
        conversation = tab.session.conversation_id
        if not member_turn:
            await self._to_assistant(sid, tab, text, shown=shown)
            return
        agent = self._agent()
        gate = await self.handoff.gate(conversation, shown or text, agent)
        if gate.notice:
            await self._notice(sid, gate.notice)
        if gate.to_assistant:
            await self._to_assistant(sid, tab, text, shown=shown)
            if gate.api_reachable:
                self.handoff.count_turn_soon(conversation, agent)
            if await self._paused(conversation):
                # Escalated just now: watch for the person who takes it, so the member hears
                # they joined without having to say anything first.
                self.handoff.paused.add(conversation)
        else:
            # Kept for the history (the assistant never reads bot events' custom payloads).
            await self._keep_in_history(conversation, BotUttered(data={"custom": {"memberdesk": {
                "member_message": shown or text}}}))
            await self._notice(sid, passed_on_notice(gate))
        if gate.api_reachable:
            await self.handoff.deliver_staff_messages(conversation, self.staff_sender(conversation))

    async def _to_assistant(
        self, sid: str, tab: _Tab, text: str, *, shown: str | None = None
    ) -> None:
        """Hand a message to Rasa, with the member's signed identity when signed in."""
        session = tab.session
        metadata: dict[str, Any] = {}
        if session.member:
            metadata.update(
                identity_metadata(
                    session.member,
                    secret=self.channel.channel_secret,
                    channel=CHANNEL_NAME,
                    conversation_id=session.conversation_id,
                )
            )
        if shown:
            metadata[CHANNEL_NAME] = {"shown": shown}
        sio = self._sio()
        await sio.emit("typing", {"active": True}, room=session.conversation_id)
        try:
            if self._handler is None:
                raise RuntimeError("the webchat blueprint has not been created")
            await self._handler(
                UserMessage(
                    text=text,
                    output_channel=WebchatOutput(sio),
                    sender_id=session.conversation_id,
                    input_channel=CHANNEL_NAME,
                    metadata=metadata or None,
                )
            )
        except Exception:
            log.exception("webchat message failed")
            await self._notice(sid, SORRY_NOTICE)
        finally:
            await sio.emit("typing", {"active": False}, room=session.conversation_id)

    # -- staff (channels.handoff) ---------------------------------------------------------

    def staff_sender(self, conversation_id: str) -> SendStaffMessage:
        """How staff messages reach the conversation's tabs, and its history."""

        async def send(message: StaffMessage) -> None:
            shown = {"from": message.staff_name, "text": message.text}
            await self._keep_in_history(
                conversation_id, BotUttered(data={"custom": {"memberdesk": {
                    "staff_message": shown}}}),
            )
            await self._sio().emit(
                "bot_uttered",
                {"staff": staff_message({"memberdesk": {"staff_message": shown}})},
                room=conversation_id,
            )

        return send

    async def _paused(self, conversation_id: str) -> bool:
        """Whether the assistant paused the conversation for a person (an escalation)."""
        store = getattr(self._agent(), "tracker_store", None)
        tracker = await store.retrieve(conversation_id) if store is not None else None
        return bool(tracker is not None and tracker.is_paused())

    async def _keep_in_history(self, conversation_id: str, event: BotUttered) -> None:
        # Staff messages do not pass through Rasa: kept in the tracker, a reload replays them.
        processor = getattr(self._agent(), "processor", None)
        if processor is None:
            return
        async with processor.lock_store.lock(conversation_id):
            tracker = await processor.get_tracker(conversation_id)
            tracker.update(event, processor.domain)
            await processor.save_tracker(tracker)

    # -- HTTP ------------------------------------------------------------------------------

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        self.sio = self._socket_server()
        self._handler = on_new_message
        webchat = SocketBlueprint(self.sio, SOCKETIO_PATH, "webchat_webhook")

        @webchat.listener("before_server_start")
        async def remember_app(app: Sanic, *_: Any) -> None:
            self._app = app

        self.handoff.watch_while_serving(webchat, self.staff_sender)

        @webchat.listener("after_server_stop")
        async def close(*_: Any) -> None:
            await self.handoff.close()

        @webchat.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        for filename, content_type in _STATIC.items():
            if filename.startswith("portal") and not self.settings.demo_portal:
                continue
            webchat.add_route(
                self._file_route(WIDGET_DIR / filename, content_type),
                f"/{filename}", methods=["GET"], name=f"asset_{filename.replace('.', '_')}",
            )

        @webchat.route("/socket.io.js", methods=["GET"])
        async def socketio_client(_: Request) -> HTTPResponse:
            if not SOCKETIO_CLIENT.exists():
                return response.text(
                    "socket.io-client is not installed: run `make setup`.", status=503
                )
            return await response.file(
                SOCKETIO_CLIENT, mime_type="text/javascript; charset=utf-8",
                headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
            )

        if self.settings.demo_portal:
            self._demo_portal(webchat)
        return webchat

    @staticmethod
    def _file_route(path: Path, content_type: str) -> Callable[[Request], Awaitable[HTTPResponse]]:
        async def serve(_: Request) -> HTTPResponse:
            return await response.file(
                path, mime_type=content_type,
                headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
            )

        return serve

    # -- the demo member portal (development and test only) --------------------------------

    def _demo_member(self, request: Request) -> str | None:
        return signed_value(request.cookies.get(DEMO_COOKIE), key=self._demo_key)

    def _demo_portal(self, webchat: Blueprint) -> None:
        @webchat.route("/portal", methods=["GET"])
        async def portal(_: Request) -> HTTPResponse:
            return await response.file(
                WIDGET_DIR / "portal.html", mime_type="text/html; charset=utf-8",
                headers=_PAGE_HEADERS,
            )

        @webchat.route("/portal/token", methods=["GET"])
        async def member_token(request: Request) -> HTTPResponse:
            # What an organisation's website does for a signed-in member: a short-lived token.
            member = self._demo_member(request)
            token = sign_member_token(member, secret=self.settings.jwt_secret) if member else None
            return response.json(
                {"token": token, "membership_number": member},
                headers={"Cache-Control": "no-store"},
            )

        @webchat.route("/portal/sign-in", methods=["POST"])
        async def sign_in(request: Request) -> HTTPResponse:
            form = parse_qs((request.body or b"").decode("utf-8", "replace")[:2000])
            number = (form.get("membership_number") or [""])[0].strip()
            password = (form.get("password") or [""])[0]
            right_password = hmac.compare_digest(password.encode(), DEMO_PASSWORD.encode())
            if len(number) != 7 or not number.isdigit() or not right_password:
                return response.redirect(_portal_of(request) + "?refused=1", status=303)
            answer = response.redirect(_portal_of(request), status=303)
            self._set_demo_cookie(answer, sign_value(number, key=self._demo_key))
            return answer

        @webchat.route("/portal/sign-out", methods=["POST"])
        async def sign_out(request: Request) -> HTTPResponse:
            answer = response.redirect(_portal_of(request), status=303)
            self._set_demo_cookie(answer, "", max_age=0)
            return answer

    @staticmethod
    def _set_demo_cookie(answer: HTTPResponse, value: str, *, max_age: int = 8 * 3600) -> None:
        answer.cookies[DEMO_COOKIE] = value
        answer.cookies[DEMO_COOKIE]["httponly"] = True
        answer.cookies[DEMO_COOKIE]["samesite"] = "Strict"
        answer.cookies[DEMO_COOKIE]["path"] = "/webhooks/webchat/"
        answer.cookies[DEMO_COOKIE]["max-age"] = max_age
