"""Test doubles for Telegram: a local Bot API server, and the webhook served as Rasa serves it.

`FakeBotApi` answers the Bot API methods the channel uses on 127.0.0.1, the way Telegram
does, and records every call, so the real python-telegram-bot code is exercised end to end.
`Testbed` mounts the channel's blueprint with Rasa's own `register()` on a real Sanic server
on a free 127.0.0.1 port, with a recording stand-in for Rasa's Agent.

Everything runs on one event loop in a background thread (`BackgroundLoop`); the tests post
updates over HTTP from the main thread, as Telegram would.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from aiohttp import web
from rasa.core.channels.channel import UserMessage, register
from sanic import Sanic

from bot.safety import SenderRateLimit
from bot.settings import read_settings
from channels.telegram.bot_api import TelegramCredentials
from channels.telegram.channel import SECRET_HEADER, TelegramChannel
from tests.bot.servers import free_port

T = TypeVar("T")

BOT_TOKEN = "123456:fake-bot-token-for-tests"
WEBHOOK_SECRET = "telegram-webhook-secret-for-tests-0123456789"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Memberdesk", "username": "memberdesk_bot"}
_app_names = itertools.count(1)


class BackgroundLoop:
    """An asyncio event loop running in a thread, for servers the tests talk to."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        # The timeout only stops a hung test from hanging the suite; nothing asserts on time.
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout=120)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=30)
        self.loop.close()


@dataclass
class BotApiCall:
    method: str
    params: dict[str, Any]


@dataclass
class FakeBotApi:
    """The Telegram Bot API, as far as the channel uses it, on 127.0.0.1."""

    token: str = BOT_TOKEN
    calls: list[BotApiCall] = field(default_factory=list)
    webhook: dict[str, Any] = field(default_factory=dict)
    # method -> (HTTP status, description, how many more calls to refuse)
    refusals: dict[str, list[Any]] = field(default_factory=dict)
    base_url: str = ""
    _runner: web.AppRunner | None = None
    _message_ids: Any = field(default_factory=lambda: itertools.count(5000))

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.base_url = f"http://127.0.0.1:{port}/bot"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def refuse(self, method: str, status: int, description: str, *, times: int = 1) -> None:
        """Answer the next `times` calls to `method` with a Telegram error."""
        self.refusals[method] = [status, description, times]

    def called(self, method: str) -> list[dict[str, Any]]:
        return [call.params for call in self.calls if call.method == method]

    def texts(self, chat_id: int) -> list[str]:
        """The texts sent to one chat, in order."""
        return [p["text"] for p in self.called("sendMessage") if p["chat_id"] == chat_id]

    @staticmethod
    def _decode(raw: dict[str, str]) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for name, value in raw.items():
            if name in ("chat_id", "message_id") and value.lstrip("-").isdigit():
                params[name] = int(value)
            elif name in ("reply_markup", "allowed_updates"):
                params[name] = json.loads(value)
            else:
                params[name] = value
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        if request.content_type == "application/json":
            raw = {k: v if isinstance(v, str) else json.dumps(v) for k, v in
                   (await request.json()).items()}
        else:
            raw = {k: str(v) for k, v in (await request.post()).items()}
        params = self._decode(raw)
        self.calls.append(BotApiCall(method, params))
        refusal = self.refusals.get(method)
        if refusal and refusal[2] > 0:
            refusal[2] -= 1
            return web.json_response(
                {"ok": False, "error_code": refusal[0], "description": refusal[1]},
                status=refusal[0],
            )
        result = self._result(method, params)
        if result is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
                status=404,
            )
        return web.json_response({"ok": True, "result": result})

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method in ("sendMessage", "sendPhoto"):
            message = {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": params["chat_id"], "type": "private"},
                "from": BOT_USER,
            }
            if method == "sendMessage":
                message["text"] = params["text"]
            else:
                message["photo"] = [{"file_id": "p", "file_unique_id": "p", "width": 1,
                                     "height": 1}]
            return message
        if method == "setWebhook":
            self.webhook = {
                "url": params["url"],
                "secret_token": params.get("secret_token"),
                "allowed_updates": params.get("allowed_updates"),
            }
            return True
        if method == "deleteWebhook":
            self.webhook = {}
            return True
        if method == "getWebhookInfo":
            return {
                "url": self.webhook.get("url", ""),
                "has_custom_certificate": False,
                "pending_update_count": 0,
                "allowed_updates": self.webhook.get("allowed_updates") or [],
            }
        if method in ("answerCallbackQuery", "deleteMessage"):
            return True
        return None


class RecordingAssistant:
    """Stands in for Rasa's Agent: records each message, then answers with `replies`."""

    def __init__(self) -> None:
        self.messages: list[UserMessage] = []
        self.replies: list[dict[str, Any]] = [{"text": "How can I help?"}]
        self.fail_with: Exception | None = None
        # As Rasa's Agent before a model is loaded: no processor, so no tracker to resume.
        self.processor = None

    async def handle_message(self, message: UserMessage) -> None:
        self.messages.append(message)
        if self.fail_with is not None:
            raise self.fail_with
        for reply in self.replies:
            await message.output_channel.send_response(message.sender_id, dict(reply))

    @property
    def texts(self) -> list[str]:
        return [str(message.text) for message in self.messages]


_update_ids = itertools.count(100_000)
_message_ids = itertools.count(1)


def user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Member", "language_code": "en"}


def message_update(
    user_id: int,
    *,
    text: str | None = None,
    chat_type: str = "private",
    edited: bool = False,
    update_id: int | None = None,
    **content: Any,
) -> dict[str, Any]:
    """An update carrying a message from `user_id` (text, or other content like `photo`)."""
    chat_id = user_id if chat_type == "private" else -1_000_000_000_000 - user_id
    message: dict[str, Any] = {
        "message_id": next(_message_ids),
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": chat_type},
        "from": user(user_id),
        **content,
    }
    if chat_type == "private":
        message["chat"]["first_name"] = "Member"
    else:
        message["chat"]["title"] = "Branch committee"
    if text is not None:
        message["text"] = text
    if edited:
        message["edit_date"] = int(time.time())
    return {
        "update_id": next(_update_ids) if update_id is None else update_id,
        "edited_message" if edited else "message": message,
    }


def button_update(user_id: int, data: str) -> dict[str, Any]:
    """An update for a press on an inline keyboard button carrying `data`."""
    return {
        "update_id": next(_update_ids),
        "callback_query": {
            "id": f"cq-{next(_message_ids)}",
            "from": user(user_id),
            "chat_instance": "ci-1",
            "data": data,
            "message": {
                "message_id": next(_message_ids),
                "date": int(time.time()),
                "chat": {"id": user_id, "type": "private", "first_name": "Member"},
                "from": BOT_USER,
                "text": "Please choose:",
            },
        },
    }


def credentials(base_url: str, store: Path) -> dict[str, Any]:
    """The channel's credentials.yml section, pointed at the fake Bot API."""
    return {
        "access_token": BOT_TOKEN,
        "secret_token": WEBHOOK_SECRET,
        "base_url": base_url,
        "store": str(store),
    }


class Testbed:
    """The channel's webhook on a real Sanic server, the fake Bot API and a recording Agent."""

    __test__ = False

    def __init__(
        self, loop: BackgroundLoop, bot_api: FakeBotApi, store: Path,
        rate_limit: SenderRateLimit | None = None,
    ) -> None:
        self.loop = loop
        self.bot_api = bot_api
        self.store_path = store
        self.rate_limit = rate_limit
        self.assistant = RecordingAssistant()
        self.channel: TelegramChannel | None = None
        self.url = ""
        self._server: Any = None

    def start(self) -> Testbed:
        """Serve the webhook (again, after `stop`, as a restarted `rasa run` would)."""
        creds = credentials(self.bot_api.base_url, self.store_path)
        if self.rate_limit is None:
            self.channel = TelegramChannel.from_credentials(creds)
        else:
            self.channel = TelegramChannel(
                TelegramCredentials.parse(creds), read_settings(), rate_limit=self.rate_limit
            )
        self.loop.run(self._serve(self.channel))
        return self

    async def _serve(self, channel: TelegramChannel) -> None:
        # As sanic-testing does: lets one process start several apps, one after another.
        Sanic.test_mode = True
        app = Sanic(f"memberdesk_telegram_test_{next(_app_names)}")
        app.ctx.agent = self.assistant
        register([channel], app, "/webhooks/")
        port = free_port()
        self._server = await app.create_server(
            host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
        )
        await self._server.startup()
        await self._server.before_start()
        await self._server.after_start()
        self.url = f"http://127.0.0.1:{port}/webhooks/telegram"

    def stop(self) -> None:
        if self._server is not None:
            self.loop.run(self._stop(self._server))
            self._server = None

    @staticmethod
    async def _stop(server: Any) -> None:
        await server.before_stop()
        await server.close()
        await server.after_stop()

    def post(
        self, update: dict[str, Any], *, secret: str | None = WEBHOOK_SECRET
    ) -> httpx.Response:
        """Deliver one update as Telegram does (with the secret header, unless None)."""
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        return httpx.post(f"{self.url}/webhook", json=update, headers=headers, timeout=60)

    def texts_to(self, chat_id: int) -> list[str]:
        return self.bot_api.texts(chat_id)
