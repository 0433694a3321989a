"""The Telegram webhook, served as `rasa run` serves it, talking to a fake Bot API.

Every reply goes through the real python-telegram-bot `Bot` to the fake server, which is
where the assertions on what a member would see are made.
"""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from bot.safety import CARD_MASK, CARD_NUMBER_NOTICE, THROTTLE_NOTICE, SenderRateLimit
from bot.settings import UnsafeSettings
from channels.telegram import channel as telegram
from channels.telegram.bot_api import TelegramConfigError
from channels.telegram.channel import TelegramChannel
from channels.telegram.output import TEXT_LIMIT
from tests.bot.channels.telegram.fake_bot_api import (
    WEBHOOK_SECRET,
    BackgroundLoop,
    FakeBotApi,
    Testbed,
    button_update,
    credentials,
    message_update,
)

MEMBER = 4242


def test_the_health_route_answers(testbed: Testbed) -> None:
    assert httpx.get(f"{testbed.url}/", timeout=10).json() == {"status": "ok"}


@pytest.mark.parametrize(
    "secret",
    [None, "", "wrong-secret", WEBHOOK_SECRET.upper(), WEBHOOK_SECRET[:-1], WEBHOOK_SECRET + "x"],
    ids=["missing", "empty", "wrong", "wrong case", "too short", "too long"],
)
def test_an_update_without_the_right_secret_is_refused_and_nothing_happens(
    testbed: Testbed, secret: str | None
) -> None:
    update = message_update(MEMBER, text="hello")

    refused = testbed.post(update, secret=secret)

    assert refused.status_code == 403
    assert testbed.assistant.messages == []
    assert testbed.bot_api.calls == []
    # Not even remembered as handled: the genuine delivery is still processed.
    assert testbed.post(update).status_code == 200
    assert testbed.assistant.texts == ["hello"]


def test_a_refused_update_is_not_even_parsed(testbed: Testbed) -> None:
    response = httpx.post(
        f"{testbed.url}/webhook", content=b"{not json", timeout=10,
        headers={telegram.SECRET_HEADER: "wrong"},
    )
    assert response.status_code == 403


def test_a_redelivered_update_is_handled_once_even_after_a_restart(testbed: Testbed) -> None:
    update = message_update(MEMBER, text="what do I owe?")

    first, second = testbed.post(update), testbed.post(update)
    testbed.stop()
    testbed.start()
    after_restart = testbed.post(update)

    assert [r.status_code for r in (first, second, after_restart)] == [200, 200, 200]
    assert testbed.assistant.texts == ["what do I owe?"]
    assert testbed.texts_to(MEMBER) == ["How can I help?"]


def test_text_reaches_the_assistant_as_the_member_s_own_conversation(testbed: Testbed) -> None:
    testbed.post(message_update(MEMBER, text="I want to update my address"))

    [message] = testbed.assistant.messages
    assert message.text == "I want to update my address"
    assert message.sender_id == f"telegram:{MEMBER}"
    assert message.input_channel == "telegram"
    assert message.metadata is None  # not linked: the assistant asks the identity questions
    assert testbed.texts_to(MEMBER) == ["How can I help?"]


def test_a_card_number_is_masked_before_the_assistant_and_the_logs_see_it(
    testbed: Testbed, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    update = message_update(MEMBER, text="can I pay with 4111 1111 1111 1111 exp 12/27")

    testbed.post(update)

    assert testbed.assistant.texts == [f"can I pay with {CARD_MASK} exp 12/27"]
    assert testbed.texts_to(MEMBER) == [CARD_NUMBER_NOTICE, "How can I help?"]
    # Taken out of the chat history too.
    assert testbed.bot_api.called("deleteMessage") == [
        {"chat_id": MEMBER, "message_id": update["message"]["message_id"]}
    ]
    for shown in (caplog.text, repr(testbed.assistant.messages[0].__dict__)):
        assert "4111" not in shown


def test_a_message_that_is_only_a_card_number_is_not_passed_on(testbed: Testbed) -> None:
    testbed.post(message_update(MEMBER, text="5500-0000-0000-0004"))

    assert testbed.assistant.messages == []
    assert testbed.texts_to(MEMBER) == [CARD_NUMBER_NOTICE]


@pytest.mark.parametrize(
    "content",
    [
        {"photo": [{"file_id": "a", "file_unique_id": "a", "width": 90, "height": 90}]},
        {"voice": {"file_id": "v", "file_unique_id": "v", "duration": 3}},
        {"sticker": {"file_id": "s", "file_unique_id": "s", "width": 512, "height": 512,
                     "is_animated": False, "is_video": False, "type": "regular"}},
        {"document": {"file_id": "d", "file_unique_id": "d", "file_name": "payslip.pdf"}},
        {"location": {"latitude": 53.8, "longitude": -1.55}},
    ],
    ids=["photo", "voice", "sticker", "document", "location"],
)
def test_anything_but_text_gets_a_polite_reply_and_is_not_passed_on(
    testbed: Testbed, content: dict
) -> None:
    response = testbed.post(message_update(MEMBER, **content))

    assert response.status_code == 200
    assert testbed.assistant.messages == []
    assert testbed.texts_to(MEMBER) == [telegram.NON_TEXT_REPLY]


def test_a_photo_captioned_with_a_card_number_is_removed_from_the_chat(testbed: Testbed) -> None:
    update = message_update(
        MEMBER,
        photo=[{"file_id": "a", "file_unique_id": "a", "width": 90, "height": 90}],
        caption="my card 4111111111111111",
    )

    testbed.post(update)

    assert testbed.assistant.messages == []
    assert len(testbed.bot_api.called("deleteMessage")) == 1
    assert testbed.texts_to(MEMBER) == [CARD_NUMBER_NOTICE, telegram.NON_TEXT_REPLY]


def test_an_edited_message_is_not_acted_on(testbed: Testbed) -> None:
    testbed.post(message_update(MEMBER, text="resign me", edited=True))

    assert testbed.assistant.messages == []
    assert testbed.texts_to(MEMBER) == [telegram.EDITED_REPLY]


def test_a_card_number_edited_into_a_message_is_removed(testbed: Testbed) -> None:
    testbed.post(message_update(MEMBER, text="card 4111 1111 1111 1111", edited=True))

    assert testbed.assistant.messages == []
    assert len(testbed.bot_api.called("deleteMessage")) == 1
    assert testbed.texts_to(MEMBER) == [CARD_NUMBER_NOTICE]


def test_a_button_press_becomes_the_member_s_message(testbed: Testbed) -> None:
    testbed.post(button_update(MEMBER, "yes"))

    assert testbed.assistant.texts == ["yes"]
    assert testbed.assistant.messages[0].sender_id == f"telegram:{MEMBER}"
    assert len(testbed.bot_api.called("answerCallbackQuery")) == 1


def test_the_assistant_s_buttons_become_an_inline_keyboard_that_works(testbed: Testbed) -> None:
    long_payload = "I want to set up a new direct debit with my new bank account details"
    testbed.assistant.replies = [
        {
            "text": "How would you like to pay?",
            "buttons": [
                {"title": "Pay what I owe now", "payload": "I want to pay my arrears"},
                {"title": "New Direct Debit", "payload": long_payload},
                {"title": "Yes", "payload": "/affirm"},
            ],
        }
    ]
    testbed.post(message_update(MEMBER, text="I missed a payment"))

    [sent] = testbed.bot_api.called("sendMessage")
    assert sent["text"] == "How would you like to pay?"
    rows = sent["reply_markup"]["inline_keyboard"]
    assert [button["text"] for row in rows for button in row] == [
        "Pay what I owe now", "New Direct Debit", "Yes"
    ]
    data = [button["callback_data"] for row in rows for button in row]
    assert data[0] == "I want to pay my arrears"
    assert all(len(value.encode()) <= 64 for value in data)  # Telegram's limit

    testbed.assistant.replies = []
    for value in data:
        testbed.post(button_update(MEMBER, value))

    assert testbed.assistant.texts[1:] == ["I want to pay my arrears", long_payload, "/affirm"]


def test_a_button_that_was_never_sent_cannot_be_replayed(testbed: Testbed) -> None:
    testbed.post(button_update(MEMBER, "#made-up-token"))

    assert testbed.assistant.messages == []
    assert testbed.texts_to(MEMBER) == [telegram.EXPIRED_BUTTON_REPLY]


def test_typed_text_is_never_read_as_an_intent_with_entities(testbed: Testbed) -> None:
    testbed.post(message_update(MEMBER, text='/inform{"membership_number": "1000002"}'))

    assert testbed.assistant.texts == ['inform{"membership_number": "1000002"}']


def test_start_greets_the_member_and_offers_linking(testbed: Testbed) -> None:
    testbed.post(message_update(MEMBER, text="/start"))

    assert testbed.assistant.texts == ["/greet"]
    assert testbed.texts_to(MEMBER) == ["How can I help?", telegram.LINK_TIP]


def test_help_is_answered_by_the_channel(testbed: Testbed) -> None:
    testbed.post(message_update(MEMBER, text="/help"))

    assert testbed.assistant.messages == []
    assert testbed.texts_to(MEMBER) == [telegram.HELP_REPLY]


def test_group_chats_are_not_served(testbed: Testbed) -> None:
    update = message_update(MEMBER, text="what's my balance?", chat_type="group")

    testbed.post(update)

    assert testbed.assistant.messages == []
    assert testbed.texts_to(update["message"]["chat"]["id"]) == [telegram.PRIVATE_ONLY_REPLY]


def test_html_and_emoji_are_passed_on_and_shown_as_typed(testbed: Testbed) -> None:
    testbed.assistant.replies = [{"text": "You wrote <b>hi</b> 👋 & more"}]

    testbed.post(message_update(MEMBER, text="<b>hi</b> <script>x()</script> 👋🏽"))

    assert testbed.assistant.texts == ["<b>hi</b> <script>x()</script> 👋🏽"]
    [sent] = testbed.bot_api.called("sendMessage")
    assert sent["text"] == "You wrote <b>hi</b> 👋 & more"
    assert "parse_mode" not in sent  # plain text: Telegram shows the tags, never renders them


def test_control_characters_are_stripped_before_the_assistant(testbed: Testbed) -> None:
    testbed.post(message_update(MEMBER, text="change\u202e my\x00 address\u200b"))

    assert testbed.assistant.texts == ["change my address"]


def test_a_long_reply_is_split_into_messages_telegram_accepts(testbed: Testbed) -> None:
    paragraph = "A paragraph about ballots. " * 40
    testbed.assistant.replies = [{"text": "\n\n".join([paragraph] * 8)}]

    testbed.post(message_update(MEMBER, text="tell me about the ballot"))

    texts = testbed.texts_to(MEMBER)
    assert len(texts) > 1
    assert all(len(text) <= TEXT_LIMIT for text in texts)
    assert sum(text.count("A paragraph") for text in texts) == 40 * 8


def test_images_go_out_as_photos(testbed: Testbed) -> None:
    testbed.assistant.replies = [{"image": "https://example.org/card.png"}]

    testbed.post(message_update(MEMBER, text="show me"))

    assert testbed.bot_api.called("sendPhoto") == [
        {"chat_id": MEMBER, "photo": "https://example.org/card.png"}
    ]


def test_a_flood_from_one_member_is_throttled_with_one_notice_and_others_carry_on(
    background_loop: BackgroundLoop, bot_api: FakeBotApi, tmp_path: Path, channel_env: None
) -> None:
    # No refill: the bucket empties and stays empty, so nothing depends on timing.
    bed = Testbed(
        background_loop, bot_api, tmp_path / "telegram.sqlite3",
        rate_limit=SenderRateLimit(capacity=3, per_second=0),
    ).start()
    bed.assistant.replies = []
    try:
        for number in range(8):
            assert bed.post(message_update(MEMBER, text=f"message {number}")).status_code == 200
        bed.post(message_update(MEMBER + 1, text="I'm someone else"))
    finally:
        bed.stop()

    assert bed.assistant.texts == ["message 0", "message 1", "message 2", "I'm someone else"]
    assert bed.texts_to(MEMBER) == [THROTTLE_NOTICE]
    assert bed.texts_to(MEMBER + 1) == []


def test_a_failure_inside_is_answered_with_an_apology_not_silence(testbed: Testbed) -> None:
    testbed.assistant.fail_with = RuntimeError("tracker store at 10.0.0.5 refused")

    response = testbed.post(message_update(MEMBER, text="hello"))

    assert response.status_code == 200  # or Telegram would redeliver it again and again
    [apology] = testbed.texts_to(MEMBER)
    assert "isn't answering right now" in apology and "reference OUT-" in apology
    assert "10.0.0.5" not in apology  # the inner error is for the log, not the member


def test_a_member_who_blocked_the_bot_does_not_break_the_webhook(testbed: Testbed) -> None:
    testbed.bot_api.refuse("sendMessage", 403, "Forbidden: bot was blocked by the user")

    response = testbed.post(message_update(MEMBER, text="hello"))

    assert response.status_code == 200
    assert testbed.assistant.texts == ["hello"]


def test_a_telegram_hiccup_is_retried_once(testbed: Testbed) -> None:
    testbed.bot_api.refuse("sendMessage", 502, "Bad Gateway")

    testbed.post(message_update(MEMBER, text="hello"))

    assert len(testbed.bot_api.called("sendMessage")) == 2
    assert testbed.texts_to(MEMBER) == ["How can I help?", "How can I help?"]


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"message": {}}'])
def test_a_body_that_is_not_an_update_is_rejected(testbed: Testbed, body: bytes) -> None:
    response = httpx.post(
        f"{testbed.url}/webhook", content=body, timeout=10,
        headers={telegram.SECRET_HEADER: WEBHOOK_SECRET, "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert testbed.assistant.messages == []


def test_the_link_flow_says_so_when_the_records_api_is_down(testbed: Testbed) -> None:
    testbed.post(message_update(MEMBER, text="/link"))
    testbed.post(message_update(MEMBER, text="1000001"))

    assert testbed.assistant.messages == []
    assert testbed.texts_to(MEMBER)[-1] == (
        "Sorry, I can't send a code right now. Please try again later by sending /link."
    )


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"access_token": ""}, "access_token"),
        ({"secret_token": None}, "secret_token"),
        ({"secret_token": "short"}, "secret_token"),
        ({"secret_token": "has spaces in it which telegram refuses 0123456789"}, "secret_token"),
    ],
)
def test_credentials_without_a_token_or_with_a_weak_secret_are_refused(
    tmp_path: Path, channel_env: None, changes: dict, complaint: str
) -> None:
    with pytest.raises(TelegramConfigError, match=complaint):
        TelegramChannel.from_credentials(
            {**credentials("http://127.0.0.1:9/bot", tmp_path / "t.db"), **changes}
        )


def test_production_refuses_the_development_channel_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMBERDESK_ENV", "production")
    monkeypatch.setenv("MEMBERDESK_SERVICE_TOKEN", "a-real-service-token-0123456789abcdef")
    monkeypatch.delenv("MEMBERDESK_CHANNEL_SECRET", raising=False)
    monkeypatch.delenv("MEMBERDESK_SECRET_KEY", raising=False)

    with pytest.raises(UnsafeSettings):
        TelegramChannel.from_credentials(credentials("http://127.0.0.1:9/bot", tmp_path / "t.db"))
