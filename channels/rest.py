"""Rasa's REST channel, with the same checks at its entrance as the members' channels.

Integrations, the load benchmark and the tests talk to the assistant through
`POST /webhooks/rest/webhook`. Whatever arrives there is cleaned, has card numbers masked and
is cut at 5,000 characters (bot.safety) before Rasa sees it, so a card number typed into
an integration never reaches the tracker store, the logs or a transcript. The replies start
with the same notices the webchat and Telegram give.

Live hand-off (channels.handoff): while staff have the conversation (the records API says it is
paused for a person), a message is put on the case for the console instead of reaching Rasa,
and the reply is one short notice, "Your message has been passed to Alex Agent." (or "to our
Records team." while nobody has taken it yet), never an assistant answer. Staff replies are
not pushed into REST responses: an integration fetches them from the records API itself,
`GET /api/v1/conversations/{sender}/staff-messages` with its service token, shows them, then
`POST .../staff-messages/delivered`. A conversation staff handed back is resumed with what they
learned before the assistant answers, and every message the assistant handled is counted for
the dashboard.

The channel keeps Rasa's name (`rest`), and so its URL and its JSON in and out.

Its door (`RestDoor`): outside development the channel is off unless MEMBERDESK_REST_TOKEN is
set, and then answers only `Authorization: Bearer <that token>`, checked in constant time before
the body is read. Every conversation it carries is `rest:<sender>`, whatever sender is sent, so
no caller can continue a Telegram, webchat or email conversation by naming it.
"""

from __future__ import annotations

import hmac
import logging
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.shared.constants import DEFAULT_SENDER_ID
from rasa.utils.endpoints import bool_arg
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse, ResponseStream

from bot.safety import check_message
from bot.settings import BotSettings, read_settings
from channels import outages, rasa_speedups
from channels.handoff.gate import Gate, LiveHandoff, passed_on_notice

logger = logging.getLogger(__name__)

CHANNEL_NAME = "rest"
CONVERSATION_PREFIX = f"{CHANNEL_NAME}:"


def conversation_for(sender: str) -> str:
    """The conversation a REST sender talks in: always in the REST channel's own namespace."""
    return sender if sender.startswith(CONVERSATION_PREFIX) else CONVERSATION_PREFIX + sender


class RestDoor:
    """Who may talk through the REST channel: anyone in development, otherwise only a caller
    with MEMBERDESK_REST_TOKEN, and nobody when it is not set (the channel is off)."""

    def __init__(self, settings: BotSettings) -> None:
        self._token = settings.rest_token
        self._open = not self._token and settings.environment == "development"

    def refusal(self, request: Request) -> HTTPResponse | None:
        """The answer to a caller who may not come in; None for one who may."""
        if self._open:
            return None
        if not self._token:
            return response.json(
                {"detail": "The REST channel is off: set MEMBERDESK_REST_TOKEN to turn it on."},
                status=404,
            )
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            presented.strip().encode(), self._token.encode()
        ):
            return None
        return response.json({"detail": "Present the REST channel's bearer token."}, status=401,
                             headers={"WWW-Authenticate": "Bearer"})


class CheckedRestInput(RestInput):
    """`rest` with card numbers masked, control characters stripped and long text cut."""

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[None]]
    ) -> Blueprint:
        """GET / for health, POST /webhook for a message (as Rasa's own REST channel)."""
        # Rasa builds a channel's blueprint once, as it starts serving: Rasa's own hot paths
        # are fixed before the first message.
        rasa_speedups.install()
        outages.install()
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)
        settings = read_settings()
        handoff = LiveHandoff(settings, CHANNEL_NAME)
        door = RestDoor(settings)

        @webhook.listener("after_server_stop")
        async def close(*_: Any) -> None:
            await handoff.close()

        @webhook.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        # Streamed, so the door is checked before the body is read.
        @webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> ResponseStream | HTTPResponse:
            refused = door.refusal(request)
            if refused is not None:
                return refused
            await request.receive_body()
            try:
                body = request.json
            except Exception:  # noqa: BLE001 - Sanic raises its own error for bad JSON
                body = None
            if not isinstance(body, dict):
                return response.json({"detail": "Send a JSON object."}, status=400)
            # As UserMessage would: a message without a sender is the default conversation.
            sender = body.get("sender")
            sender_id = conversation_for(
                sender if isinstance(sender, str) and sender else DEFAULT_SENDER_ID
            )
            raw = self._extract_message(request)
            checked = check_message(raw if isinstance(raw, str) else "")
            # The channel is this one, whatever the caller says: it is what the audit log and
            # the case record as where the member spoke.
            input_channel = CHANNEL_NAME
            metadata = self.get_metadata(request)
            agent = request.app.ctx.agent
            gate = await handoff.gate(sender_id, checked.text, agent) if (
                checked.says_something) else Gate(to_assistant=True, api_reachable=False)

            async def handled_and_counted(message: UserMessage) -> None:
                await on_new_message(message)
                if gate.api_reachable:
                    handoff.turns.count_turn_soon(sender_id, agent)

            if gate.to_assistant and bool_arg(request, "stream", default=False):
                return response.stream(
                    self.stream_response(
                        handled_and_counted, checked.text, sender_id, input_channel, metadata
                    ),
                    content_type="text/event-stream",
                )
            collector = CollectingOutputChannel()
            for notice in checked.notices:
                await collector.send_text_message(sender_id, notice)
            if not checked.says_something:
                return response.json(collector.messages)
            if gate.notice:
                await collector.send_text_message(sender_id, gate.notice)
            if not gate.to_assistant:
                await collector.send_text_message(sender_id, passed_on_notice(gate))
                return response.json(collector.messages)
            try:
                await handled_and_counted(UserMessage(
                    checked.text, collector, sender_id,
                    input_channel=input_channel, metadata=metadata,
                ))
            except CancelledError:
                logger.error("rest: the assistant timed out on a message")
                await collector.send_text_message(sender_id, outages.sorry())
            except (Exception, outages.AssistantUnavailable) as error:
                # The text is not logged: it is the member's, even once masked.
                logger.exception("rest: the assistant failed on a message")
                await collector.send_text_message(sender_id, outages.sorry(error))
            return response.json(collector.messages)

        return webhook
