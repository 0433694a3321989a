"""The assistant's replies on Telegram: plain text in pieces Telegram accepts, inline keyboards.

No parse mode, so HTML a member or the assistant writes is shown as typed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import partial
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from channels.telegram.bot_api import telegram_call
from channels.telegram.store import TelegramStore
from channels.text_output import TextOnlyOutput

log = logging.getLogger(__name__)

CHANNEL_NAME = "telegram"
# Telegram's own limits.
TEXT_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64
# Token prefix for button payloads kept in the store (see TelegramOutput._callback_data).
KEPT_PAYLOAD = "#"


CONVERSATION_PREFIX = "telegram:"


def chat_id_of(recipient_id: str) -> int:
    """The Telegram chat a conversation id belongs to (see `TelegramChannel.conversation_id`).

    `telegram:<chat>` or `telegram:<chat>:linked-<key>`; a bare `<chat>` is an older id.
    """
    conversation = str(recipient_id).removeprefix(CONVERSATION_PREFIX)
    return int(conversation.split(":", 1)[0])


def text_parts(text: str) -> list[str]:
    """`text` in pieces Telegram accepts, split at paragraph or line ends where possible."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > TEXT_LIMIT:
        cut = max(rest.rfind("\n\n", 0, TEXT_LIMIT), rest.rfind("\n", 0, TEXT_LIMIT))
        if cut <= 0:
            cut = rest.rfind(" ", 0, TEXT_LIMIT)
        if cut <= 0:
            cut = TEXT_LIMIT
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


class TelegramOutput(TextOnlyOutput):
    """Sends the assistant's replies to a Telegram chat."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    def __init__(self, bot: Bot, store: TelegramStore) -> None:
        self.bot = bot
        self.store = store

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Plain text, split where it is longer than Telegram allows."""
        chat_id = chat_id_of(recipient_id)
        for part in text_parts(text or ""):
            await telegram_call("sendMessage", partial(self.bot.send_message, chat_id, part))

    def _callback_data(self, chat_id: int, payload: str) -> str:
        # Telegram allows 64 bytes. Longer payloads, and intent payloads ("/affirm"), are kept
        # in the store behind a token, so a button press can only ever replay a payload this
        # chat was really offered.
        if len(payload.encode()) <= CALLBACK_DATA_LIMIT and not payload.startswith(
            ("/", KEPT_PAYLOAD)
        ):
            return payload
        return KEPT_PAYLOAD + self.store.keep_button_payload(chat_id, payload)

    def keyboard(self, chat_id: int, buttons: Iterable[dict[str, Any]]) -> InlineKeyboardMarkup:
        """Buttons as an inline keyboard: short ones side by side, longer ones one per row."""
        keys = [
            InlineKeyboardButton(
                str(button.get("title") or button.get("payload") or "")[:64],
                callback_data=self._callback_data(
                    chat_id, str(button.get("payload") or button.get("title") or "")
                ),
            )
            for button in buttons
            if button.get("payload") or button.get("title")
        ]
        if keys and all(len(key.text) <= 8 for key in keys) and len(keys) <= 5:
            return InlineKeyboardMarkup([keys])
        return InlineKeyboardMarkup([[key] for key in keys])

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        """Text with an inline keyboard under its last part."""
        chat_id = chat_id_of(recipient_id)
        parts = text_parts(text or "") or ["Please choose:"]
        for part in parts[:-1]:
            await telegram_call("sendMessage", partial(self.bot.send_message, chat_id, part))
        markup = self.keyboard(chat_id, buttons)
        await telegram_call(
            "sendMessage",
            lambda: self.bot.send_message(
                chat_id, parts[-1], reply_markup=markup if markup.inline_keyboard else None
            ),
        )

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        """The image itself, as a photo."""
        chat_id = chat_id_of(recipient_id)
        await telegram_call("sendPhoto", lambda: self.bot.send_photo(chat_id, image))

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        # Custom payloads are for other channels (webchat widgets); members must never see
        # raw JSON.
        log.info("telegram: custom payload not sent")
