"""Several Rasa replicas behind one website: tabs on different replicas share a conversation
through Redis (MEMBERDESK_WEBCHAT_REDIS_URL), so replies and staff messages reach every tab.

Two webchat channels are served on real Sanic servers, as `rasa run` serves them, with a
recording stand-in for Rasa's Agent: the model is not what is under test, and two real Rasa
processes would not fit this machine. Needs Redis on 127.0.0.1:6379 (skipped with a loud
reason without it, unless MEMBERDESK_REQUIRE_REDIS=1).
"""

from __future__ import annotations

import itertools
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from rasa.core.channels.channel import UserMessage, register
from sanic import Sanic

from bot.settings import read_settings
from channels.webchat.auth import webchat_settings
from channels.webchat.channel import WebchatInput
from tests.bot.channels.telegram.fake_bot_api import BackgroundLoop
from tests.bot.channels.webchat.client import Visitor
from tests.bot.servers import free_port

REDIS_URL = "redis://127.0.0.1:6379/5"
_app_names = itertools.count(1)


class EchoAssistant:
    """Stands in for Rasa's Agent: answers every message with what it read."""

    def __init__(self) -> None:
        self.messages: list[UserMessage] = []

    async def handle_message(self, message: UserMessage) -> None:
        self.messages.append(message)
        await message.output_channel.send_response(
            message.sender_id, {"text": f"you said: {message.text}"}
        )


class Replica:
    """One `rasa run` process's webchat, on a free 127.0.0.1 port."""

    def __init__(self, loop: BackgroundLoop) -> None:
        self.loop = loop
        settings = read_settings()
        self.channel = WebchatInput(
            settings, webchat_settings(settings, {"redis_url": REDIS_URL})
        )
        self.assistant = EchoAssistant()
        self.url = ""
        self._server: Any = None

    async def start(self) -> None:
        Sanic.test_mode = True
        app = Sanic(f"memberdesk_webchat_replica_{next(_app_names)}")
        app.ctx.agent = self.assistant
        register([self.channel], app, "/webhooks/")
        port = free_port()
        self._server = await app.create_server(
            host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
        )
        await self._server.startup()
        await self._server.before_start()
        await self._server.after_start()
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        await self._server.before_stop()
        await self._server.close()
        await self._server.after_stop()


@pytest.fixture
def replicas(background_loop: BackgroundLoop, channel_env: None) -> Iterator[list[Replica]]:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=2).close()
    except OSError as exc:
        if os.environ.get("MEMBERDESK_REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis not reachable: {exc}")
        pytest.skip(f"SKIPPING: Redis not reachable on 127.0.0.1:6379: {exc}")
    started = [Replica(background_loop), Replica(background_loop)]
    for replica in started:
        background_loop.run(replica.start())
    yield started
    for replica in started:
        background_loop.run(replica.stop())


def test_tabs_on_two_replicas_see_the_same_conversation(
    replicas: list[Replica], background_loop: BackgroundLoop
) -> None:
    first, second = replicas
    tab = Visitor(first.url, origin=None).connect()
    other_tab = Visitor(second.url, session=tab.session["token"], origin=None)
    try:
        other_tab.connect()
        assert other_tab.session["resumed"] is True
        assert other_tab.conversation_id == tab.conversation_id

        replies = tab.turn(text="hello from the first tab")
        heard = other_tab.wait_for(
            "bot_uttered", lambda m: m.get("text") == "you said: hello from the first tab"
        )
        # A staff tool talking to the second replica reaches the tab on the first.
        output = second.channel.get_output_channel()
        assert output is not None
        background_loop.run(output.send_custom_json(
            tab.conversation_id, {"memberdesk": {"staff_joined": "Alex from the records team"}}
        ))
        joined = tab.wait_for("bot_uttered", lambda m: "staff_joined" in m)
    finally:
        other_tab.close()
        tab.close()

    assert replies == [{"text": "you said: hello from the first tab"}]
    assert heard == replies[0]
    assert joined == {"staff_joined": "Alex from the records team"}
    assert [m.text for m in first.assistant.messages] == ["hello from the first tab"]
