"""MIME parsing: the member's own words out of whatever arrives, and automatic mail spotted."""

from __future__ import annotations

import base64
import time
from email.message import EmailMessage

import pytest

from channels.email.mime import decode_text, html_to_text, parse_email, synthetic_message_id
from tests.bot.email.conftest import CORPUS


def message(text: str | None = "Hello", **headers: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = headers.pop("From", "Sam Taylor <sam.taylor@example.org>")
    email["To"] = "members@memberdesk.example"
    email["Subject"] = headers.pop("Subject", "Question")
    email["Message-ID"] = headers.pop("Message_ID", "<q.1@mail.example.net>")
    for name, value in headers.items():
        email[name.replace("_", "-")] = value
    if text is not None:
        email.set_content(text)
    return email


def test_a_plain_email_gives_its_sender_subject_thread_and_body() -> None:
    raw = message("Please update my address.", In_Reply_To="<ack.1@memberdesk.example>",
                  References="<first@x.example> <ack.1@memberdesk.example>")

    parsed = parse_email(bytes(raw))

    assert parsed.from_address == "sam.taylor@example.org"
    assert parsed.from_name == "Sam Taylor"
    assert parsed.message_id == "<q.1@mail.example.net>"
    assert parsed.in_reply_to == "<ack.1@memberdesk.example>"
    assert parsed.references == ["<first@x.example>", "<ack.1@memberdesk.example>"]
    assert parsed.body_text == "Please update my address."
    assert parsed.automatic_reason is None


def test_an_html_only_body_becomes_readable_text_without_scripts_or_quoted_history() -> None:
    parsed = parse_email((CORPUS / "03-request_refund.eml").read_bytes())

    assert "£19.75 a month" in parsed.body_text
    assert "<" not in parsed.body_text and "&pound;" not in parsed.body_text
    text = html_to_text(
        "<html><head><style>p{color:red}</style><script>alert(1)</script></head><body>"
        "<p>New question</p><div class='gmail_quote'>On Mon someone wrote:"
        "<blockquote>the old message</blockquote></div></body></html>"
    )
    assert text == "New question"


def test_multipart_alternative_prefers_the_plain_part() -> None:
    raw = message("Plain words")
    raw.add_alternative("<p>HTML words</p>", subtype="html")

    assert parse_email(bytes(raw)).body_text == "Plain words"


def test_quoted_replies_and_signatures_are_stripped() -> None:
    gmail = parse_email((CORPUS / "04-cancel_membership.eml").read_bytes())
    outlook = parse_email((CORPUS / "20-change_personal_details.eml").read_bytes())
    iphone = parse_email((CORPUS / "02-payment_failed.eml").read_bytes())
    dashes = parse_email((CORPUS / "01-change_address.eml").read_bytes())

    assert gmail.body_text.endswith("Graham") and "renewal is coming up" not in gmail.body_text
    assert "new membership card is on its way" not in outlook.body_text
    assert outlook.body_text.startswith("I got married")
    assert "Sent from my iPhone" not in iphone.body_text
    assert "Staff Nurse, Ward 22" not in dashes.body_text and "LS6 3AG" in dashes.body_text


def test_a_wrong_charset_label_costs_nothing() -> None:
    parsed = parse_email((CORPUS / "13-change_contact_details.eml").read_bytes())

    assert "café" in parsed.body_text and "Siobhán" in parsed.body_text
    # Bytes that are not valid in the declared charset fall back rather than fail.
    assert decode_text("£5 owed".encode("cp1252"), "utf-8") == "£5 owed"
    assert decode_text("Zoë".encode(), "x-no-such-charset") == "Zoë"
    assert decode_text("Zoë".encode("latin-1"), "iso-8859-1") == "Zoë"


def test_an_empty_body_and_an_empty_email_are_still_parsed() -> None:
    no_body = parse_email(bytes(message(None, Subject="Membership card")))
    nothing = parse_email(b"")

    assert no_body.body_text == "" and no_body.subject == "Membership card"
    assert nothing.from_address is None and nothing.body_text == ""
    assert nothing.message_id == synthetic_message_id(b"")


def test_malformed_mime_is_read_as_far_as_it_goes() -> None:
    raw = (
        b"From: Tom Fletcher <tom.fletcher@example.org>\r\n"
        b"Subject: =?utf-8?B?broken-base64?=\r\n"
        b"Message-ID: <malformed.1@mail.example.net>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=\"never-closed\"\r\n\r\n"
        b"preamble\r\n--never-closed\r\n"
        b"Content-Type: text/plain; charset=\"utf-8\"\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.b64encode(b"My ballot paper never arrived.") + b"\r\n"
        b"--never-closed\r\n"
        b"Content-Type: application/octet-stream; name=\"x.exe\"\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        b"TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAA!!!not base64\r\n"
    )

    parsed = parse_email(raw)

    assert parsed.from_address == "tom.fletcher@example.org"
    assert parsed.body_text == "My ballot paper never arrived."
    assert [a.filename for a in parsed.attachments] == ["x.exe"]
    assert parsed.defects  # recorded for staff, not fatal


def test_no_message_id_gets_a_stable_one_so_it_is_still_processed_once() -> None:
    raw = bytes(message("Hi", Message_ID="not-an-id"))

    assert parse_email(raw).message_id == parse_email(raw).message_id
    assert parse_email(raw).message_id.startswith("<sha256-")


def test_a_20_mb_attachment_is_recorded_as_metadata_without_being_decoded() -> None:
    raw = message("Here is my payslip.")
    raw.add_attachment(b"\x00" * (20 * 1024 * 1024), maintype="application", subtype="pdf",
                       filename="payslip-november.pdf")
    data = bytes(raw)

    started = time.monotonic()
    parsed = parse_email(data)
    took = time.monotonic() - started

    [attachment] = parsed.attachments
    assert attachment.filename == "payslip-november.pdf"
    assert attachment.content_type == "application/pdf"
    assert attachment.size == 20 * 1024 * 1024
    assert parsed.body_text == "Here is my payslip."
    assert took < 10


def test_attachment_lists_are_capped() -> None:
    raw = message("Lots of photos")
    for n in range(30):
        raw.add_attachment(b"jpeg", maintype="image", subtype="jpeg", filename=f"p{n}.jpg")

    parsed = parse_email(bytes(raw))

    assert len(parsed.attachments) == 20 and parsed.attachments_not_listed == 10


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto_Submitted": "auto-replied"}, "Auto-Submitted"),
        ({"From": "MAILER-DAEMON@mx.example.net"}, "mailer-daemon"),
        ({"From": "postmaster@example.net"}, "postmaster"),
        ({"From": "no-reply@bank.example"}, "no-reply"),
        ({"Return_Path": "<>"}, "null return path"),
        ({"Precedence": "bulk"}, "Precedence"),
        ({"List_Id": "<news.lists.example.org>"}, "mailing-list"),
        ({"X_Autoreply": "yes"}, "X-Autoreply"),
        ({"Subject": "Out of Office: Re: your email"}, "subject"),
        ({"Subject": "Automatic reply: Membership"}, "subject"),
        ({"X_Memberdesk_Case": "CASE-ABCDEFG"}, "our own replies"),
    ],
)
def test_automatic_mail_is_recognised(headers: dict[str, str], reason: str) -> None:
    found = parse_email(bytes(message("I am away", **headers))).automatic_reason

    assert found is not None and reason.lower() in found.lower()


def test_a_person_writing_about_being_away_is_not_automatic() -> None:
    raw = message("I'll be out of the office next week, can you post my card instead?",
                  Subject="Membership card while I'm away", Auto_Submitted="no")

    assert parse_email(bytes(raw)).automatic_reason is None


def test_a_delivery_report_is_a_bounce() -> None:
    assert "bounce" in (parse_email((CORPUS / "17-bounce.eml").read_bytes()).automatic_reason
                        or "")
