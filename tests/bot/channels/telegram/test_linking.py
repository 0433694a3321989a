"""Linking a Telegram account with a code emailed by the real records API.

The code is read where the member would find it: in the email the API queued in its outbox.
The identity the channel then passes on is checked with the actions' own verifier.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.identity import signed_identity
from channels.telegram import linking
from tests.bot.channels.telegram.fake_bot_api import (
    BackgroundLoop,
    FakeBotApi,
    Testbed,
    message_update,
)
from tests.bot.servers import SECRET_KEY, SERVICE_TOKEN, RecordsApi

PRIYA_NUMBER, PRIYA_EMAIL = "1000001", "priya.shah@example.org"
TOM_NUMBER, TOM_EMAIL = "1000004", "tom.fletcher@example.org"
SAM_NUMBER = "1000005"


@pytest.fixture
def linked_testbed(
    api: RecordsApi,
    background_loop: BackgroundLoop,
    bot_api: FakeBotApi,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Testbed]:
    """The webhook with the channel pointed at the real records API."""
    monkeypatch.setenv("MEMBERDESK_ENV", "test")
    monkeypatch.setenv("MEMBERDESK_API_URL", api.url)
    monkeypatch.setenv("MEMBERDESK_SERVICE_TOKEN", SERVICE_TOKEN)
    monkeypatch.setenv("MEMBERDESK_CHANNEL_SECRET", SECRET_KEY)
    bed = Testbed(background_loop, bot_api, tmp_path / "telegram.sqlite3").start()
    yield bed
    bed.stop()


def emailed_code(api: RecordsApi, address: str) -> str:
    """The code in the newest email to `address` in the API's outbox."""
    with sqlite3.connect(api.database) as db:
        row = db.execute(
            "SELECT body_text FROM outbound_emails WHERE to_address = ? ORDER BY id DESC LIMIT 1",
            (address,),
        ).fetchone()
    assert row is not None, f"no email to {address}"
    found = re.search(r"Your code is (\d{6})", row[0])
    assert found is not None
    return found.group(1)


def other_than(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def say(bed: Testbed, member: int, text: str) -> str:
    """Send one message; what the member saw in reply."""
    before = len(bed.texts_to(member))
    assert bed.post(message_update(member, text=text)).status_code == 200
    return "\n".join(bed.texts_to(member)[before:])


def test_a_member_links_with_the_emailed_code_and_is_then_known_to_the_assistant(
    linked_testbed: Testbed, api: RecordsApi
) -> None:
    bed, member = linked_testbed, 7001

    assert say(bed, member, "/link") == linking.ASK_NUMBER
    sent = say(bed, member, PRIYA_NUMBER)
    # Not even the masked address: it would tell a stranger the number is a member's.
    assert sent == linking.CODE_SENT_IF_KNOWN
    code = emailed_code(api, PRIYA_EMAIL)
    assert say(bed, member, other_than(code)) == linking.WRONG_CODE
    linked = say(bed, member, code)
    assert linked.startswith("Linked:") and "ending 001" in linked
    # Nothing typed while linking (the number, the codes) reached the assistant.
    assert bed.assistant.messages == []

    say(bed, member, "how much do I owe?")

    [message] = bed.assistant.messages
    assert message.text == "how much do I owe?"
    # A fresh, verified conversation, named with the link's random key, not a counter.
    assert message.sender_id.startswith(f"telegram:{member}:linked-")
    assert len(message.sender_id.rsplit("linked-", 1)[1]) >= 22
    here = {"conversation_id": message.sender_id, "channel": "telegram"}
    assert signed_identity(message.metadata, secret=SECRET_KEY, **here) == PRIYA_NUMBER
    assert signed_identity(message.metadata, secret="another-secret-entirely", **here) is None


def test_a_link_survives_a_restart_and_unlinking_ends_it(
    linked_testbed: Testbed, api: RecordsApi
) -> None:
    bed, member = linked_testbed, 7002
    say(bed, member, "/link")
    say(bed, member, TOM_NUMBER)
    say(bed, member, emailed_code(api, TOM_EMAIL))

    bed.stop()
    bed.start()
    say(bed, member, "hello again")
    relinked = bed.assistant.messages[-1]
    assert signed_identity(relinked.metadata, secret=SECRET_KEY, channel="telegram",
                           conversation_id=relinked.sender_id) == TOM_NUMBER
    assert "already linked" in say(bed, member, "/link")

    assert say(bed, member, "/unlink") == linking.UNLINKED
    say(bed, member, "hello once more")

    last = bed.assistant.messages[-1]
    assert last.metadata is None
    assert last.sender_id == f"telegram:{member}"  # back to a conversation never verified
    assert say(bed, member, "/unlink") == linking.NOT_LINKED


def test_a_code_only_links_the_telegram_account_it_was_sent_for(
    linked_testbed: Testbed, api: RecordsApi
) -> None:
    bed, asker, other = linked_testbed, 7003, 7004
    say(bed, asker, "/link")
    say(bed, asker, SAM_NUMBER)
    code = emailed_code(api, "sam.taylor@example.org")
    say(bed, other, "/link")
    say(bed, other, TOM_NUMBER)

    assert say(bed, other, code) == linking.WRONG_CODE or code == emailed_code(api, TOM_EMAIL)
    say(bed, other, "/cancel")
    say(bed, other, "what do I owe?")

    assert bed.assistant.messages[-1].metadata is None


def test_a_malformed_number_is_asked_again_then_given_up(linked_testbed: Testbed) -> None:
    bed, member = linked_testbed, 7005
    say(bed, member, "/link")

    assert say(bed, member, "it's on my card somewhere") == linking.NOT_A_NUMBER
    assert say(bed, member, "12345") == linking.NOT_A_NUMBER
    assert say(bed, member, "one two three") == linking.GIVEN_UP_NUMBER

    say(bed, member, "1000001")  # no longer linking: this is a message for the assistant
    assert bed.assistant.texts == ["1000001"]


def test_link_does_not_tell_real_members_numbers_from_others(
    linked_testbed: Testbed, api: RecordsApi
) -> None:
    # A real member's number, one with no email on record, and no member at all: a stranger
    # trying numbers learns nothing from the answers, and no code links an unknown number.
    with sqlite3.connect(api.database) as db:
        [no_email] = db.execute(
            "SELECT membership_number FROM members WHERE email IS NULL AND status != 'deceased' "
            "ORDER BY membership_number LIMIT 1"
        ).fetchone()
    answers = []
    for user, number in ((7011, TOM_NUMBER), (7012, no_email), (7013, "1999999")):
        say(linked_testbed, user, "/link")
        answers.append(say(linked_testbed, user, number))

    assert answers == [linking.CODE_SENT_IF_KNOWN] * 3
    assert "@" not in answers[0]
    assert say(linked_testbed, 7013, "123456") == linking.WRONG_CODE


def test_cancel_stops_linking_and_nothing_is_linked(linked_testbed: Testbed) -> None:
    bed, member = linked_testbed, 7006
    say(bed, member, "/link")

    assert say(bed, member, "/cancel") == linking.CANCELLED
    say(bed, member, "hi")

    assert bed.assistant.texts == ["hi"]
    assert bed.assistant.messages[0].metadata is None


def test_a_membership_with_no_email_cannot_be_linked(
    linked_testbed: Testbed, api: RecordsApi
) -> None:
    with sqlite3.connect(api.database) as db:
        row = db.execute(
            "SELECT membership_number FROM members WHERE email IS NULL AND status != 'deceased' "
            "ORDER BY membership_number LIMIT 1"
        ).fetchone()
    assert row is not None, "the demo organisation has members without an email address"
    bed, member = linked_testbed, 7007
    say(bed, member, "/link")
    say(bed, member, row[0])

    # No code went anywhere, so none can be right.
    assert say(bed, member, "000000") == linking.WRONG_CODE
    assert say(bed, member, "/cancel") == linking.CANCELLED
