"""The webchat channel's security, through a real socket.io client, with the real Rasa server,
action server and records API (the `stack` fixture): who a visitor is, whose conversation
they can see, and what reaches the assistant."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest
import socketio

from bot.safety import CARD_NUMBER_NOTICE, THROTTLE_NOTICE, TRUNCATED_NOTICE
from channels.webchat.auth import sign_member_token
from channels.webchat.channel import EXPIRED_CHOICE_NOTICE, SIGN_IN_REFUSED_NOTICE, WebchatInput
from tests.bot.channels.staff_console import StaffConsole
from tests.bot.channels.webchat.client import Visitor
from tests.bot.servers import (
    RASA_API_TOKEN,
    ROOT,
    WEBCHAT_JWT_SECRET,
    WEBCHAT_ORIGIN,
    Assistant,
)

IDENTITY_QUESTION = "check who you are"


def _member_token(number: str, **claims: object) -> str:
    return sign_member_token(number, secret=WEBCHAT_JWT_SECRET) if not claims else jwt.encode(
        {"sub": number, "exp": int(time.time()) + 300, **claims}, WEBCHAT_JWT_SECRET,
        algorithm="HS256",
    )


def _user_texts(stack: Assistant, conversation_id: str) -> list[str]:
    events = stack.tracker(conversation_id)["events"]
    return [str(event.get("text")) for event in events if event.get("event") == "user"]


def test_rasa_loads_the_channel_from_the_projects_credentials_file(channel_env: None) -> None:
    from rasa.core.run import create_http_input_channels

    channels = create_http_input_channels(None, str(ROOT / "bot/credentials.yml"))

    [webchat] = [channel for channel in channels if isinstance(channel, WebchatInput)]
    assert webchat.name() == webchat.url_prefix() == "webchat"


def test_the_channel_and_the_widget_are_served(stack: Assistant) -> None:
    base = f"{stack.rasa_url}/webhooks/webchat"

    assert httpx.get(f"{base}/").json() == {"status": "ok"}
    widget = httpx.get(f"{base}/widget.js")
    assert widget.status_code == 200
    assert widget.headers["content-type"].startswith("text/javascript")
    assert "innerHTML" not in widget.text
    client = httpx.get(f"{base}/socket.io.js")
    assert client.status_code == 200, "socket.io-client is missing: npm ci (make setup)"
    portal = httpx.get(f"{base}/portal")
    assert portal.status_code == 200
    assert "script-src 'self'" in portal.headers["content-security-policy"]


@pytest.mark.parametrize("origin", ["http://evil.example", "http://members.example.org.evil"])
def test_a_page_on_an_origin_not_allowed_cannot_connect(stack: Assistant, origin: str) -> None:
    visitor = Visitor(stack.rasa_url, origin=origin)

    with pytest.raises(socketio.exceptions.ConnectionError):
        visitor.connect()


@pytest.mark.parametrize("origin", [WEBCHAT_ORIGIN, "own"])
def test_the_configured_origins_and_the_servers_own_can_connect(
    stack: Assistant, origin: str
) -> None:
    with Visitor(stack.rasa_url, origin=stack.rasa_url if origin == "own" else origin) as tab:
        assert tab.session["signed_in"] is False


def test_a_visitors_conversation_resumes_after_a_reload(stack: Assistant) -> None:
    with Visitor(stack.rasa_url) as tab:
        assert tab.session["resumed"] is False
        answer = tab.say("hello")
        token, conversation = tab.session["token"], tab.conversation_id
        order = [(name, data.get("active")) for name, data in tab.events
                 if name in ("typing", "bot_uttered")]
    # The widget shows "typing" from the moment the message is read until the last answer.
    assert order == [("typing", True), ("bot_uttered", None), ("typing", False)]

    with Visitor(stack.rasa_url, session=token) as reloaded:
        assert reloaded.session["resumed"] is True
        assert reloaded.conversation_id == conversation
        shown = [(message["from"], message.get("text")) for message in reloaded.history]

    assert ("member", "hello") in shown
    assert ("assistant", answer.split("\n")[-1]) in shown


def test_another_visitors_conversation_cannot_be_taken_over(stack: Assistant) -> None:
    with Visitor(stack.rasa_url) as victim:
        victim.say("hello")
        victim_id = victim.conversation_id
        # The attacker knows the victim's conversation id and sends it every way it could go.
        with Visitor(stack.rasa_url, session=victim_id) as attacker:
            assert attacker.session["resumed"] is False
            assert attacker.history == []
            assert attacker.conversation_id != victim_id
            attacker.turn(text="what did they say?", session_id=victim_id, sender=victim_id)
            after_own_turn = len(attacker.events)
            victim.say("I want to join")
            time.sleep(1)
            overheard = [
                *attacker.since(after_own_turn, "bot_uttered"),
                *attacker.since(after_own_turn, "received"),
            ]
            attacker_id = attacker.conversation_id

    assert overheard == []
    assert "what did they say?" not in _user_texts(stack, victim_id)
    assert _user_texts(stack, attacker_id) == ["what did they say?"]


@pytest.mark.parametrize(
    ("case", "token"),
    [
        ("another secret", jwt.encode({"sub": "1000041", "exp": int(time.time()) + 3600},
                                      "not-the-websites-secret-0123456789abcdef",
                                      algorithm="HS256")),
        ("expired", jwt.encode({"sub": "1000041", "exp": int(time.time()) - 600},
                               WEBCHAT_JWT_SECRET, algorithm="HS256")),
        ("HS384", jwt.encode({"sub": "1000041", "exp": int(time.time()) + 3600},
                             WEBCHAT_JWT_SECRET + "-long-enough-for-hs384", algorithm="HS384")),
        ("unsigned", "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxMDAwMDQxIiwiZXhwIjo5OTk5"
                     "OTk5OTk5fQ."),
    ],
)
def test_a_member_token_that_does_not_hold_leaves_the_visitor_anonymous(
    stack: Assistant, case: str, token: str
) -> None:
    with Visitor(stack.rasa_url, member_token=token) as tab:
        assert tab.session["signed_in"] is False, case
        assert tab.session["sign_in_refused"] is True, case
        assert tab.wait_for("bot_uttered")["notice"] == SIGN_IN_REFUSED_NOTICE
        answer = tab.say("I've moved house")
        conversation = tab.conversation_id

    assert IDENTITY_QUESTION in answer, (case, answer)
    assert stack.tracker(conversation)["slots"]["identity_status"] != "verified"


def test_a_signed_in_member_is_not_asked_who_they_are(stack: Assistant) -> None:
    with Visitor(stack.rasa_url, member_token=_member_token("1000041")) as tab:
        assert tab.session["signed_in"] is True
        answer = tab.say("I've moved house")
        slots = stack.tracker(tab.conversation_id)["slots"]

    assert IDENTITY_QUESTION not in answer, answer
    assert "first line of your new address" in answer, answer
    assert slots["identity_status"] == "verified"
    assert slots["verified_number"] == "1000041"


def test_a_signed_in_members_conversation_is_not_shown_once_they_sign_out(
    stack: Assistant,
) -> None:
    with Visitor(stack.rasa_url, member_token=_member_token("1000042")) as tab:
        tab.say("hello")
        token = tab.session["token"]

    with Visitor(stack.rasa_url, session=token) as signed_out:
        assert signed_out.session["resumed"] is False
        assert signed_out.history == []
    with Visitor(stack.rasa_url, session=token, member_token=_member_token("1000042")) as back:
        assert back.session["resumed"] is True
        assert [m.get("text") for m in back.history][0] == "hello"


def test_card_numbers_are_masked_before_the_assistant_sees_them(stack: Assistant) -> None:
    with Visitor(stack.rasa_url) as tab:
        start = tab.send(text="can I pay with 4111-1111-1111-1111 exp 12/29")
        received = tab.wait_for("received", after=start)
        notice = tab.wait_for("bot_uttered", lambda m: "notice" in m, after=start)
        tab.wait_for("typing", lambda data: data == {"active": False}, after=start)
        conversation = tab.conversation_id

    assert "4111" not in received["text"]
    assert "[card number removed]" in received["text"]
    assert notice["notice"] == CARD_NUMBER_NOTICE
    assert not any("4111" in text for text in _user_texts(stack, conversation))


def test_a_very_long_message_is_cut_with_a_notice(stack: Assistant) -> None:
    with Visitor(stack.rasa_url) as tab:
        start = tab.send(text="I need help with my subscription. " * 300)
        received = tab.wait_for("received", after=start)
        notice = tab.wait_for("bot_uttered", lambda m: "notice" in m, after=start)
        tab.wait_for("typing", lambda data: data == {"active": False}, after=start)
        conversation = tab.conversation_id

    assert len(received["text"]) <= 5000
    assert notice["notice"] == TRUNCATED_NOTICE
    assert max(len(text) for text in _user_texts(stack, conversation)) <= 5000


def test_typed_intents_and_choices_never_offered_do_not_reach_the_assistant_as_such(
    stack: Assistant,
) -> None:
    with Visitor(stack.rasa_url) as tab:
        tab.say('/inform{"membership_number":"1000001","date_of_birth":"1985-03-14"}')
        start = tab.send(choice="/affirm")
        expired = tab.wait_for("bot_uttered", lambda m: "notice" in m, after=start)
        tracker = stack.tracker(tab.conversation_id)

    assert expired["notice"] == EXPIRED_CHOICE_NOTICE
    user_texts = [e["text"] for e in tracker["events"] if e.get("event") == "user"]
    assert "/affirm" not in user_texts
    assert not any(text.startswith("/inform") for text in user_texts)
    assert tracker["slots"]["identity_status"] != "verified"


def test_a_flood_of_messages_gets_one_polite_notice(stack: Assistant) -> None:
    with Visitor(stack.rasa_url) as tab:
        start = len(tab.events)
        for number in range(14):
            tab.send(text=f"hello {number}")
        tab.wait_for("bot_uttered", lambda m: m.get("notice") == THROTTLE_NOTICE, after=start)
        # Let the admitted messages finish, so the count below is final.
        deadline = time.monotonic() + 120
        while len([t for t in tab.since(start, "typing") if not t["active"]]) < 10:
            assert time.monotonic() < deadline, tab.events
            time.sleep(0.2)
        notices = [m for m in tab.since(start, "bot_uttered") if m.get("notice")]
        passed_on = [t for t in _user_texts(stack, tab.conversation_id) if t.startswith("hello")]

    assert notices == [{"notice": THROTTLE_NOTICE}]
    assert 10 <= len(passed_on) < 14


def test_a_staff_member_joining_is_shown_and_kept_in_the_history(stack: Assistant) -> None:
    with Visitor(stack.rasa_url) as tab:
        tab.say("hello")
        start = len(tab.events)
        conversation, token = tab.conversation_id, tab.session["token"]
        joined = httpx.post(
            f"{stack.rasa_url}/conversations/{conversation}/tracker/events",
            params={"output_channel": "webchat", "execute_side_effects": "true",
                    "token": RASA_API_TOKEN},
            json={"event": "bot", "text": None, "data": {
                "custom": {"memberdesk": {"staff_joined": "Alex from the records team"}}}},
            timeout=30,
        )
        joined.raise_for_status()
        shown = tab.wait_for("bot_uttered", lambda m: "staff_joined" in m, after=start)

    assert shown == {"staff_joined": "Alex from the records team"}
    with Visitor(stack.rasa_url, session=token) as reloaded:
        last = reloaded.history[-1]
    assert (last["from"], last["staff_joined"]) == ("staff", "Alex from the records team")


def test_while_staff_have_the_conversation_the_member_talks_to_them(stack: Assistant) -> None:
    def from_staff(message: dict) -> bool:
        return "staff" in message

    with Visitor(stack.rasa_url) as tab:
        tab.say("hello")
        answer = tab.say("I want to speak to a real person please")
        conversation, token = tab.conversation_id, tab.session["token"]
        with stack.api.client() as client:
            [case] = client.get("/cases", params={"conversation_id": conversation}).json()
        assert case["reference"] in answer
        console = StaffConsole(stack.api.url)
        try:
            start = len(tab.events)
            console.take(case["reference"])
            # Without the member saying anything: the channel watches an escalated chat.
            joined = tab.wait_for("bot_uttered", from_staff, after=start, timeout=60)
            start = tab.send(text="are you there?")
            passed_on = tab.wait_for("bot_uttered", lambda m: "notice" in m, after=start)
            assert "are you there?" in console.conversation(case["reference"])
            start = len(tab.events)
            console.reply(case["reference"], "Hello, I'm looking at your record now.")
            reply = tab.wait_for("bot_uttered", from_staff, after=start, timeout=60)
        finally:
            console.close()

    assert joined["staff"]["note"] is True
    assert "joined the conversation" in joined["staff"]["text"]
    assert passed_on["notice"].startswith("Your message has been passed to")
    assert reply["staff"]["text"] == "Hello, I'm looking at your record now."
    assert reply["staff"]["note"] is False and reply["staff"]["from"]
    # The assistant never saw it, but a reload shows the whole exchange.
    assert "are you there?" not in _user_texts(stack, conversation)
    with Visitor(stack.rasa_url, session=token) as reloaded:
        shown = [m.get("text") or m["staff"]["text"] for m in reloaded.history]
    assert shown[-3:] == [
        joined["staff"]["text"], "are you there?", "Hello, I'm looking at your record now."
    ]
