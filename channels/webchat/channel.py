"""The webchat's Rasa input channel: socket.io connections bound to server-issued sessions,
each message checked, then passed to the assistant or, while a person has the conversation,
to staff. What it guards against, and the events it sends and reads: channels.webchat.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.core.events import BotUttered
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncRedisManager, AsyncServer

from bot.identity import identity_metadata
from bot.safety import (
    THROTTLE_NOTICE,
    Admission,
    SenderRateLimit,
    check_message,
    clean_text,
)
from bot.settings import BotSettings, read_settings
from channels import outages, rasa_speedups
from channels.handoff.gate import LiveHandoff, SendStaffMessage, StaffMessage, passed_on_notice
from channels.webchat.auth import (
    WebchatSession,
    WebchatSettings,
    member_from_token,
    resume_or_start,
    session_token,
    webchat_settings,
)
from channels.webchat.delivery import Delivery, ledger_for
from channels.webchat.messages import (
    CHANNEL_NAME,
    WebchatOutput,
    history_messages,
    offered_buttons,
    staff_message,
)
from channels.webchat.portal import serve_demo_portal
from channels.webchat.widget import serve_widget

log = logging.getLogger(__name__)

SOCKETIO_PATH = "/webhooks/webchat/socket.io"
# Socket.io frames larger than this are refused before they are read; a message is cut to
# 5,000 characters anyway (bot.safety).
MAX_FRAME_BYTES = 100_000
# The user message a conversation starts with when the widget is opened.
GREETING = "/greet"

EXPIRED_CHOICE_NOTICE = "That choice has expired. Please type your answer instead."
SIGN_IN_REFUSED_NOTICE = (
    "I couldn't confirm that you're signed in, so I'll ask you some security questions if "
    "you want to discuss your membership."
)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class SocketBlueprint(Blueprint):
    """A blueprint that also attaches the socket.io server to the app it is registered on."""

    def __init__(self, sio: AsyncServer, socketio_path: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ctx.sio = sio
        self.ctx.socketio_path = socketio_path

    def register(self, app: Sanic, options: dict[str, Any]) -> None:
        self.ctx.sio.attach(app, self.ctx.socketio_path)
        super().register(app, options)


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
        channel = read_settings()
        return cls(channel, webchat_settings(channel, credentials))

    def __init__(
        self,
        channel: BotSettings,
        settings: WebchatSettings,
        *,
        rate_limit: SenderRateLimit | None = None,
    ) -> None:
        self.channel = channel
        self.settings = settings
        self.rate_limit = rate_limit or SenderRateLimit()
        self.sio: AsyncServer | None = None
        self._app: Sanic | None = None
        self._handler: OnNewMessage | None = None
        self.handoff = LiveHandoff(channel, CHANNEL_NAME)
        # Which message ids have been handled: the widget sends again what it has no
        # acknowledgement for, and a repeat is dropped here (channels.webchat.delivery).
        self.ledger = ledger_for(settings.redis_url)
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
        """One message typed, or one button pressed, in the widget: handled once, acknowledged.

        The widget sends a message again until it is acknowledged (channels.webchat.delivery):
        a repeat of one already handled is only acknowledged again, and a repeat of one being
        handled now is dropped (its acknowledgement follows).
        """
        tab = await self._tab(sid)
        if tab is None or not isinstance(data, dict):
            return
        message_id = str(data.get("id") or "")[:64]
        conversation = tab.session.conversation_id
        if not message_id:
            await self._take(sid, tab, data, message_id)
            return
        delivery = await self.ledger.claim(conversation, message_id)
        if delivery is Delivery.done:
            await self._acknowledge(conversation, message_id, True)
        if delivery is not Delivery.new:
            return
        try:
            await self._take(sid, tab, data, message_id)
        except BaseException:
            # Not handled: the widget's next copy must be taken, not dropped as a repeat.
            await self.ledger.release(conversation, message_id)
            raise
        await self.ledger.handled(conversation, message_id)
        await self._acknowledge(conversation, message_id)

    async def _acknowledge(self, conversation: str, message_id: str, repeat: bool = False) -> None:
        # To every tab on the conversation: only the one that sent it holds the id.
        await self._sio().emit("acknowledged", {"id": message_id, "repeat": repeat},
                               room=conversation)

    async def _take(self, sid: str, tab: _Tab, data: dict[str, Any], message_id: str) -> None:
        """The message itself: throttled, checked, then passed on (or refused with a notice)."""
        if not await self._admitted(sid, tab):
            return
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
                self.handoff.turns.count_turn_soon(conversation, agent)
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
        except (Exception, outages.AssistantUnavailable) as error:
            log.exception("webchat message failed")
            await self._notice(sid, outages.sorry(error))
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
        # Rasa builds a channel's blueprint once, as it starts serving: Rasa's own hot paths
        # are fixed before the first message.
        rasa_speedups.install()
        outages.install()
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

        serve_widget(webchat, with_portal=self.settings.demo_portal)
        if self.settings.demo_portal:
            serve_demo_portal(webchat, self.settings)
        return webchat
