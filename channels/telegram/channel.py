"""The Telegram channel: a Rasa input channel built on python-telegram-bot.

Telegram calls `POST /webhooks/telegram/webhook` with each update and the secret token set
with `python -m channels.telegram.cli set-webhook`. In order, the webhook:

1. refuses (403) any call without that secret in `X-Telegram-Bot-Api-Secret-Token`, before
   reading the body;
2. handles each `update_id` once, even across restarts (Telegram redelivers on failure);
3. rate-limits each sender; answers photos, voice notes, stickers and files politely
   without passing them on; answers in private chats only;
4. masks card numbers, strips control characters and cuts long messages (bot.safety);
5. runs /link, /unlink and /cancel itself (channels.telegram.linking);
6. passes the rest to the assistant. A linked account's messages carry the membership
   number the channel verified, signed (bot.identity), in the message metadata.
   While staff have the conversation (channels.handoff), the member's messages go to the
   console instead and the assistant says nothing; staff messages are sent to the chat as
   "<staff name>: <text>", checked for on each update and every few seconds
   (MEMBERDESK_HANDOFF_POLL_SECONDS) for the conversations last seen with a person.

Replies go out through `TelegramOutput` (channels.telegram.output) as plain text (no parse
mode, so HTML a member or the assistant writes is shown as typed), with buttons as inline
keyboards.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from telegram import Bot, CallbackQuery, Message, Update
from telegram.constants import ChatType

from bot.channel_api import OneTimeCodes
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
from channels.handoff.gate import (
    LiveHandoff,
    SendStaffMessage,
    StaffMessage,
    StaffMessageNotSent,
    shown_as_from,
)
from channels.telegram.bot_api import TelegramCredentials, telegram_call
from channels.telegram.linking import AccountLinking
from channels.telegram.output import (
    CHANNEL_NAME,
    CONVERSATION_PREFIX,
    KEPT_PAYLOAD,
    TelegramOutput,
    chat_id_of,
    text_parts,
)
from channels.telegram.store import LinkedAccount, TelegramStore

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
_MAX_UPDATE_BYTES = 1_000_000
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@\w+)?(?=\s|$)")
# /start is Telegram's "first contact"; the assistant greets the member.
_GREETING = "/greet"

NON_TEXT_REPLY = (
    "Sorry, I can only read typed messages here, not photos, voice notes, stickers or files. "
    "Please type your question. (And please never send photos of bank cards.)"
)
EDITED_REPLY = "I can't act on edited messages. Please send it again as a new message."
PRIVATE_ONLY_REPLY = "I can only help in a private chat. Please message me directly."
EXPIRED_BUTTON_REPLY = "That button has expired. Please type your answer instead."
LINK_TIP = (
    "Tip: send /link to link this Telegram account to your membership with a code we email "
    "you, so you don't have to answer security questions every time."
)
HELP_REPLY = (
    "Ask me about your membership in your own words: updating your details, payments, "
    "joining, renewing or leaving, and ballots.\n\n"
    "/link: link this Telegram account to your membership\n"
    "/unlink: remove that link\n"
    "/cancel: stop linking"
)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class TelegramChannel(InputChannel):
    """Rasa input channel for a Telegram bot, behind a secret-token webhook."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TelegramChannel:
        return cls(TelegramCredentials.parse(credentials), read_settings())

    def __init__(
        self,
        credentials: TelegramCredentials,
        settings: BotSettings,
        *,
        rate_limit: SenderRateLimit | None = None,
    ) -> None:
        self.credentials = credentials
        self.settings = settings
        self.rate_limit = rate_limit or SenderRateLimit()
        self.store = TelegramStore(credentials.store_path)
        self.codes = OneTimeCodes(settings, channel=CHANNEL_NAME)
        self.linking = AccountLinking(store=self.store, codes=self.codes)
        self.handoff = LiveHandoff(settings, CHANNEL_NAME)
        self._bot: Bot | None = None
        # Builds the character tables at start-up rather than on a member's first message.
        clean_text("")

    @property
    def bot(self) -> Bot:
        # Created on first use, inside the server's event loop.
        if self._bot is None:
            self._bot = self.credentials.bot()
        return self._bot

    def get_output_channel(self) -> TelegramOutput:
        return TelegramOutput(self.bot, self.store)

    @staticmethod
    def conversation_id(chat_id: int, linked: LinkedAccount | None) -> str:
        """The Rasa conversation for this chat.

        Linking and unlinking each start a new conversation: the assistant reads the signed
        identity when a conversation starts, and a verified conversation must not outlive
        the link that verified it. The id is in the channel's own namespace (`telegram:`), and
        a linked conversation's carries the link's random key, so nobody who knows the chat
        id can name the verified conversation from another channel.
        """
        base = f"{CONVERSATION_PREFIX}{chat_id}"
        return f"{base}:linked-{linked.link_key}" if linked else base

    def secret_matches(self, presented: str | None) -> bool:
        """Constant-time comparison with the webhook's secret token."""
        return hmac.compare_digest(
            (presented or "").encode("utf-8", "surrogateescape"),
            self.credentials.secret_token.encode(),
        )

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        # Rasa builds a channel's blueprint once, as it starts serving: Rasa's own hot paths
        # are fixed before the first message.
        rasa_speedups.install()
        outages.install()
        telegram_webhook = Blueprint("telegram_webhook")

        @telegram_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @telegram_webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return await self.receive(request, on_new_message)

        self.handoff.watch_while_serving(telegram_webhook, self.staff_sender)

        @telegram_webhook.listener("after_server_stop")
        async def close(*_: Any) -> None:
            await self.close()

        return telegram_webhook

    def staff_sender(self, conversation_id: str) -> SendStaffMessage:
        """How staff messages reach this conversation's chat: plain text, named."""
        chat_id = chat_id_of(conversation_id)

        async def send(message: StaffMessage) -> None:
            for part in text_parts(shown_as_from(message)):
                sent = await telegram_call(
                    "sendMessage", partial(self.bot.send_message, chat_id, part)
                )
                if sent is None:
                    raise StaffMessageNotSent(f"staff message {message.id}")

        return send

    async def close(self) -> None:
        """Release the HTTP clients and the store."""
        await self.handoff.stop_watching()
        await self.handoff.close()
        await self.codes.close()
        if self._bot is not None:
            await self._bot.shutdown()
            self._bot = None
        self.store.close()

    async def receive(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        """The webhook: check the secret, then handle each update once."""
        if not self.secret_matches(request.headers.get(SECRET_HEADER)):
            return response.json({"status": "forbidden"}, status=403)
        body = request.body or b""
        if len(body) > _MAX_UPDATE_BYTES:
            return response.json({"status": "too large"}, status=413)
        try:
            data = json.loads(body)
        except ValueError:
            return response.json({"status": "not JSON"}, status=400)
        update_id = data.get("update_id") if isinstance(data, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            return response.json({"status": "not an update"}, status=400)
        if not self.store.claim_update(update_id):
            return response.json({"status": "already handled"})
        try:
            update = Update.de_json(data, self.bot)
        except Exception:  # an update shape this library does not know: nothing to act on
            log.warning("telegram update %s could not be read", update_id)
            return response.json({"status": "ignored"})
        # Always 200 from here: Telegram would otherwise redeliver, and the update has been
        # claimed, so a failure is answered with an apology rather than a retry.
        to_assistant = partial(self._through_handoff, on_new_message, request.app.ctx.agent)
        try:
            await self.handle(update, to_assistant)
        except (Exception, outages.AssistantUnavailable) as error:
            log.exception("telegram update %s failed", update_id)
            chat = update.effective_chat
            if chat is not None and chat.type == ChatType.PRIVATE:
                await self.get_output_channel().send_text_message(
                    str(chat.id), outages.sorry(error)
                )
        return response.json({"status": "ok"})

    async def _through_handoff(
        self, on_new_message: OnNewMessage, agent: Any, message: UserMessage
    ) -> None:
        """The assistant gets the message unless staff have the conversation; staff messages
        waiting for it are sent either way."""
        conversation = str(message.sender_id)
        gate = await self.handoff.handle(message, on_new_message, agent)
        if gate.api_reachable:
            await self.handoff.deliver_staff_messages(conversation, self.staff_sender(conversation))

    async def handle(self, update: Update, on_new_message: OnNewMessage) -> None:
        """One update, already checked and deduplicated."""
        if update.callback_query is not None:
            await self._on_button(update, update.callback_query, on_new_message)
            return
        message = update.message or update.edited_message
        if message is None or message.from_user is None:
            return  # channel posts, membership changes, inline queries: nothing to answer
        chat_id = message.chat.id
        if not await self._admitted(message.from_user.id, chat_id):
            return
        if message.chat.type != ChatType.PRIVATE:
            # Membership matters are never discussed where others can read them.
            await self.get_output_channel().send_text_message(str(chat_id), PRIVATE_ONLY_REPLY)
            return
        if update.edited_message is not None:
            await self._on_edit(message)
            return
        if message.text is None:
            await self._on_non_text(message)
            return
        await self._on_text(
            message.text,
            update_id=update.update_id,
            user_id=message.from_user.id,
            chat_id=chat_id,
            message_id=message.message_id,
            on_new_message=on_new_message,
        )

    async def _admitted(self, user_id: int, chat_id: int) -> bool:
        admission = self.rate_limit.admit(str(user_id))
        if admission is Admission.throttled_first:
            await self.get_output_channel().send_text_message(str(chat_id), THROTTLE_NOTICE)
        return admission is Admission.allowed

    async def _delete(self, chat_id: int, message_id: int) -> None:
        """Take a member's message out of the chat (bots may, in private chats, for 48 hours)."""
        await telegram_call(
            "deleteMessage", lambda: self.bot.delete_message(chat_id, message_id)
        )

    async def _on_non_text(self, message: Message) -> None:
        """Photos, voice notes, stickers, files, locations...: a polite reply, nothing passed on."""
        checked = check_message(message.caption)
        if checked.card_number_removed:
            await self._delete(message.chat.id, message.message_id)
        out = self.get_output_channel()
        if checked.card_number_removed:
            await out.send_text_message(str(message.chat.id), checked.notices[0])
        await out.send_text_message(str(message.chat.id), NON_TEXT_REPLY)

    async def _on_edit(self, message: Message) -> None:
        checked = check_message(message.text or message.caption)
        out = self.get_output_channel()
        if checked.card_number_removed:
            await self._delete(message.chat.id, message.message_id)
            await out.send_text_message(str(message.chat.id), checked.notices[0])
            return
        await out.send_text_message(str(message.chat.id), EDITED_REPLY)

    async def _on_button(
        self, update: Update, query: CallbackQuery, on_new_message: OnNewMessage
    ) -> None:
        """A button press: its payload becomes the member's message."""
        # Answered first, whatever happens next, so the member's button stops spinning.
        await telegram_call(
            "answerCallbackQuery", lambda: self.bot.answer_callback_query(query.id)
        )
        message = query.message
        if message is None or message.chat.type != ChatType.PRIVATE or query.data is None:
            return
        chat_id = message.chat.id
        if not await self._admitted(query.from_user.id, chat_id):
            return
        payload: str | None = query.data
        trusted = False
        if query.data.startswith(KEPT_PAYLOAD):
            payload = self.store.button_payload(chat_id, query.data[len(KEPT_PAYLOAD) :])
            trusted = True
        if payload is None:
            await self.get_output_channel().send_text_message(str(chat_id), EXPIRED_BUTTON_REPLY)
            return
        await self._on_text(
            payload,
            update_id=update.update_id,
            user_id=query.from_user.id,
            chat_id=chat_id,
            message_id=None,
            on_new_message=on_new_message,
            kept_payload=trusted,
        )

    async def _on_text(
        self,
        text: str,
        *,
        update_id: int,
        user_id: int,
        chat_id: int,
        message_id: int | None,
        on_new_message: OnNewMessage,
        kept_payload: bool = False,
    ) -> None:
        out = self.get_output_channel()
        checked = check_message(text)
        if checked.card_number_removed and message_id is not None:
            await self._delete(chat_id, message_id)
        for notice in checked.notices:
            await out.send_text_message(str(chat_id), notice)
        if checked.empty:
            return
        if kept_payload:
            # A payload this chat was offered on a button, possibly an intent ("/affirm").
            await on_new_message(self._user_message(checked.text, update_id, user_id, chat_id))
            return
        command = _COMMAND.match(checked.text)
        if command and command[1].lower() == "start":
            await on_new_message(self._user_message(_GREETING, update_id, user_id, chat_id))
            if self.store.linked_account(user_id) is None:
                await out.send_text_message(str(chat_id), LINK_TIP)
            return
        replies = await self._on_command(command[1].lower(), user_id) if command else None
        if replies is None:
            attempt = self.linking.attempt(user_id)
            if attempt is not None:
                replies = await self.linking.answer(attempt, checked.text)
        if replies is not None:
            for reply in replies:
                await out.send_text_message(str(chat_id), reply)
            return
        if not checked.says_something:
            return
        # Typed text is read as words, never as an intent with entities ("/inform{...}").
        said = checked.text.lstrip("/").strip()
        await on_new_message(self._user_message(said, update_id, user_id, chat_id))

    async def _on_command(self, command: str, user_id: int) -> list[str] | None:
        """The channel's own commands; None for anything the assistant should answer."""
        if command == "link":
            return await self.linking.start(user_id)
        if command == "unlink":
            return self.linking.unlink(user_id)
        if command == "cancel" and self.linking.attempt(user_id) is not None:
            return self.linking.cancel(user_id)
        if command == "help":
            return [HELP_REPLY]
        return None

    def _user_message(
        self, text: str, update_id: int, user_id: int, chat_id: int
    ) -> UserMessage:
        linked = self.store.linked_account(user_id)
        conversation = self.conversation_id(chat_id, linked)
        metadata = (
            identity_metadata(
                linked.membership_number,
                secret=self.settings.channel_secret,
                channel=CHANNEL_NAME,
                conversation_id=conversation,
            )
            if linked
            else None
        )
        return UserMessage(
            text=text,
            output_channel=self.get_output_channel(),
            sender_id=conversation,
            input_channel=CHANNEL_NAME,
            message_id=f"telegram-{update_id}",
            metadata=metadata,
        )
