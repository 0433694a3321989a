"""A support mailbox end to end: Dovecot in, the real NLU model and records API, aiosmtpd out.

Every email is acknowledged with its case reference (or, being automatic, never answered),
routed to the right team, and replies join their thread; a crash, an outage or a loop loses
nothing and doubles nothing.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sqlite3
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest

from bot.email_records import EmailRecords
from bot.records import RecordsApiFailed, RecordsApiRefused
from bot.settings import BotSettings
from channels.email.classifier import NluClassifier
from channels.email.imap import MailboxPoller, MailboxUnavailable
from channels.email.intake import record_triaged
from channels.email.settings import QUARANTINED_KEYWORD, MailboxSettings
from channels.email.triage import triage_many
from tests.bot.email.conftest import CORPUS, SUPPORT_ADDRESS, corpus
from tests.bot.email.mailservers import Mailbox, SmtpSink
from tests.bot.servers import SECRET_KEY, SERVICE_TOKEN, RecordsApi, free_port

CASE = re.compile(r"CASE-[2-9A-HJ-NP-Z]{7}")
Memberdesk = Callable[..., Any]


def poller_for(mailbox: Mailbox, classifier: NluClassifier, records: EmailRecords,
               record: Callable[[Any], dict[str, Any]] | None = None) -> MailboxPoller:
    """The poller as `memberdesk email poll` builds it, in this process."""
    settings = MailboxSettings(host=mailbox.host, port=mailbox.port, user=mailbox.user,
                               password=mailbox.password, folder="INBOX",
                               ca_file=str(mailbox.ca_file), poll_seconds=1, batch=50, timeout=30)
    return MailboxPoller(
        settings,
        triage_chunk=lambda raws: triage_many(raws, classifier=classifier),
        record=record or (lambda triaged: record_triaged(triaged, records=records)),
    )


def email(sender: str, subject: str, text: str, **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = f"Membership team <{SUPPORT_ADDRESS}>"
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="mail.example.net")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(text)
    return message


def send_outbox(memberdesk: Memberdesk, smtp: SmtpSink) -> None:
    sent = memberdesk("email", "send-outbox", env={
        "MEMBERDESK_SMTP_HOST": "127.0.0.1", "MEMBERDESK_SMTP_PORT": str(smtp.port),
        "MEMBERDESK_SMTP_SECURITY": "none",
    })
    assert sent.returncode == 0, sent.stderr + sent.stdout


def replies_to(smtp: SmtpSink, address: str) -> list[EmailMessage]:
    """Our replies to a sender (not the teams' own new-case notices)."""
    return [m for m in smtp.to(address) if m["X-Memberdesk-Case"]]


def body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def case(api: RecordsApi, reference: str) -> dict[str, Any]:
    with api.client() as client:
        response = client.get(f"/cases/{reference}")
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]


def database(api: RecordsApi) -> sqlite3.Connection:
    return sqlite3.connect(api.database)


def big_attachment_email() -> bytes:
    message = email("Tom Fletcher <tom.fletcher@example.org>", "My payslip",
                    "I have attached my payslip showing the deductions for my union subs.")
    message.add_attachment(b"%PDF-1.4\n" + b"\x00" * (20 * 1024 * 1024), maintype="application",
                           subtype="pdf", filename="payslip.pdf")
    return bytes(message)


def test_a_support_mailbox_is_acknowledged_triaged_routed_and_threaded(
    mailbox: Mailbox, smtp: SmtpSink, memberdesk: Memberdesk, email_api: RecordsApi,
    classifier: NluClassifier, records: EmailRecords,
) -> None:
    expected = corpus()
    with database(email_api) as db:
        inbound_before = db.execute("SELECT count(*) FROM inbound_emails").fetchone()[0]
    mailbox.deliver(*(CORPUS.joinpath(name).read_bytes() for name in sorted(expected)))
    mailbox.deliver(big_attachment_email())

    polled = memberdesk("email", "poll", "--once", env=mailbox.env())
    assert polled.returncode == 0, polled.stderr[-3000:]
    report = json.loads(polled.stdout.strip().splitlines()[-1])
    assert report == {"processed": 25, "duplicates": 0, "failed": 0, "waiting": 0,
                      "quarantined": 0}
    send_outbox(memberdesk, smtp)

    # Every message was flagged, and the poller only peeked: staff still see it all as new.
    assert mailbox.message_ids(processed=False) == []
    assert mailbox.unseen_count() == 24  # the email with a card number in it was deleted
    references: dict[str, str] = {}
    for name, want in expected.items():
        sender_line = CORPUS.joinpath(name).read_text(errors="replace").split("From: ", 1)[1]
        sender = re.search(r"[\w.+'-]+@[\w.-]+", sender_line)
        assert sender is not None
        got = [m for m in replies_to(smtp, sender[0])
               if m["In-Reply-To"] == want["message_id"]]
        if want.get("automatic"):
            assert got == [], f"{name} is automatic mail and must not be answered"
            continue
        assert len(got) == 1, f"{name}: expected one reply, got {len(got)}"
        [reply] = got
        reference = CASE.search(str(reply["Subject"]))
        assert reference is not None, reply["Subject"]
        assert reference[0] in body(reply)
        assert reply["Auto-Submitted"] == "auto-replied"
        assert want["message_id"] in str(reply["References"])
        references[name] = reference[0]
        found = case(email_api, reference[0])
        assert found["channel"] == "email"
        assert found["identity_level"] == "none"
        if "team" in want and not want.get("joins"):
            assert found["team"] == want["team"], f"{name} went to {found['team']}"
        if "member" in want:
            assert found["membership_number"] == want["member"]
        if want.get("priority"):
            assert found["priority"] == want["priority"]
        if want.get("answered"):
            assert found["status"] == "resolved"
            assert "we have closed case" in body(reply)
        if want.get("card"):
            transcript = json.dumps(found["transcript"])
            assert "4111" not in transcript and "[card number removed]" in transcript
            assert "Please don't send card details by email" in body(reply)
        if want.get("attachments"):
            assert "contract.pdf (application/pdf" in found["collected_values"][
                "email_attachments"]

    # A follow-up to the member's own first email joined that case.
    assert references["15-followup_change_address.eml"] == references["01-change_address.eml"]
    address_case = case(email_api, references["01-change_address.eml"])
    assert any("move is on the 12th" in m["text"] for m in address_case["messages"])
    # Informational questions were answered from the records; nothing personal was disclosed.
    with email_api.client() as client:
        open_ballots = client.get("/ballots", params={"state": "open"}).json()
    ballot_reply = replies_to(smtp, "martin.byrne@example.org.uk")[0]
    assert open_ballots and open_ballots[0]["title"] in body(ballot_reply)
    join_reply = replies_to(smtp, "kayleigh.moss@example.com")[0]
    assert "join online" in body(join_reply) and "£" in body(join_reply)
    priya_reply = replies_to(smtp, "priya.shah@example.org")[0]
    for personal in ("Priya", "Shah", "1000001", "14 Park Row", "LS1 4AB"):
        assert personal not in body(priya_reply)
    assert ballot_reply.get_body(("html",)) is not None
    # The 20 MB attachment was recorded, not stored.
    with database(email_api) as db:
        attachments = db.execute(
            "SELECT attachments FROM inbound_emails WHERE subject = 'My payslip'"
        ).fetchone()[0]
    assert json.loads(attachments)[0]["size"] >= 20 * 1024 * 1024

    # The members reply: one to our acknowledgement, one quoting the reference in a new email.
    ack = replies_to(smtp, "daniel.okafor@example.org")[0]
    complaint_reference = references["10-complaint.eml"]
    mailbox.deliver(
        bytes(email("Daniel Okafor <daniel.okafor@example.org>", f"Re: {ack['Subject']}",
                    "The money is in my account now, please take it again.",
                    In_Reply_To=str(ack["Message-ID"]), References=str(ack["References"]))),
        bytes(email("Janet Morris <janet.morris@example.com>",
                    f"My complaint {complaint_reference}", "Still nobody has called me back.")),
    )
    second = poller_for(mailbox, classifier, records).poll_once()
    assert (second.processed, second.duplicates, second.failed) == (2, 0, 0)
    send_outbox(memberdesk, smtp)

    payment_case = case(email_api, references["02-payment_failed.eml"])
    assert [m["text"] for m in payment_case["messages"]][-1].endswith(
        "please take it again.")
    assert any("nobody has called me back" in m["text"]
               for m in case(email_api, complaint_reference)["messages"])
    for address in ("daniel.okafor@example.org", "janet.morris@example.com"):
        latest = replies_to(smtp, address)[-1]
        assert "added it to your case" in body(latest)
    # Nothing is ever processed twice.
    third = poller_for(mailbox, classifier, records).poll_once()
    assert (third.processed, third.duplicates) == (0, 0)
    with database(email_api) as db:
        inbound_after = db.execute("SELECT count(*) FROM inbound_emails").fetchone()[0]
    assert inbound_after - inbound_before == 27


def test_a_crash_mid_batch_neither_loses_nor_doubles_a_message(
    mailbox: Mailbox, email_api: RecordsApi, classifier: NluClassifier, records: EmailRecords,
) -> None:
    senders = [f"crash.test{n}@example.net" for n in range(6)]
    mailbox.deliver(*(bytes(email(s, "Change of address", "I have moved house to LS6 3AG."))
                      for s in senders))
    recorded: list[str] = []

    def record_then_crash(triaged: Any) -> dict[str, Any]:
        outcome = record_triaged(triaged, records=records)
        recorded.append(triaged.parsed.message_id)
        if len(recorded) == 3:
            raise SystemExit("power cut after the API recorded it, before the flag was set")
        return outcome

    with pytest.raises(SystemExit):
        poller_for(mailbox, classifier, records, record=record_then_crash).poll_once()
    flagged = len(mailbox.message_ids(processed=True))
    assert flagged < 6

    after = poller_for(mailbox, classifier, records).poll_once()

    # The one recorded just before the crash is recognised, not recorded or answered again.
    assert after.duplicates >= 1 and after.failed == 0
    assert after.processed + after.duplicates == 6 - flagged
    assert mailbox.message_ids(processed=False) == []
    with database(email_api) as db:
        for sender in senders:
            cases = db.execute("SELECT count(*) FROM inbound_emails WHERE from_address = ?",
                               (sender,)).fetchone()[0]
            acks = db.execute("SELECT count(*) FROM outbound_emails WHERE to_address = ?",
                              (sender,)).fetchone()[0]
            assert (cases, acks) == (1, 1), sender


def test_mail_waits_in_the_mailbox_while_the_records_api_is_down(
    mailbox: Mailbox, classifier: NluClassifier, records: EmailRecords,
) -> None:
    mailbox.deliver(bytes(email("api.down@example.net", "Refund", "You charged me twice.")))
    unreachable = EmailRecords(BotSettings(
        environment="test", api_url=f"http://127.0.0.1:{free_port()}",
        service_token=SERVICE_TOKEN, api_timeout=2, channel_secret=SECRET_KEY,
    ))
    try:
        down = poller_for(mailbox, classifier, unreachable).poll_once()
    finally:
        unreachable.close()

    assert (down.processed, down.failed) == (0, 1)
    assert len(mailbox.message_ids(processed=False)) == 1
    back = poller_for(mailbox, classifier, records).poll_once()
    assert back.processed == 1 and mailbox.message_ids(processed=False) == []


def test_a_message_the_records_api_refuses_is_quarantined_and_holds_up_no_other(
    mailbox: Mailbox, email_api: RecordsApi, classifier: NluClassifier, records: EmailRecords,
) -> None:
    poison = email("Pat Poison <pat.poison@example.net>", "Change of address",
                   "I have moved house to LS6 3AG.")
    good = [email(f"steady{n}@example.net", "Change of address", "I have moved to LS6 3AG.")
            for n in range(3)]
    mailbox.deliver(bytes(poison), bytes(good[0]), bytes(good[1]))

    def refused_for_poison(triaged: Any) -> dict[str, Any]:
        if triaged.parsed.message_id == str(poison["Message-ID"]):
            # A value the records API will never accept: a subject is at most 300 characters.
            triaged = dataclasses.replace(triaged, subject="x" * 301)
        return record_triaged(triaged, records=records)

    reports = []
    for n in range(4):  # a new poller each pass: the count lives on the message, not in memory
        if n == 1:
            mailbox.deliver(bytes(good[2]))
        poller = poller_for(mailbox, classifier, records, record=refused_for_poison)
        reports.append(poller.poll_once())

    assert [(r.processed, r.failed, r.quarantined, r.waiting) for r in reports] == [
        (2, 1, 0, 1), (1, 1, 0, 1), (0, 1, 1, 0), (0, 0, 0, 0),
    ]
    assert mailbox.message_ids(keyword=QUARANTINED_KEYWORD) == [str(poison["Message-ID"])]
    assert mailbox.message_ids(processed=False) == [str(poison["Message-ID"])]
    with database(email_api) as db:
        recorded = {row[0] for row in db.execute("SELECT message_id FROM inbound_emails")}
    assert {str(m["Message-ID"]) for m in good} <= recorded
    assert str(poison["Message-ID"]) not in recorded


def test_an_outage_of_the_records_api_never_quarantines_the_mail_that_waits_for_it(
    mailbox: Mailbox, classifier: NluClassifier, records: EmailRecords,
) -> None:
    waiting = email("outage.wait@example.net", "Refund", "You charged me twice.")
    mailbox.deliver(bytes(waiting))
    unreachable = EmailRecords(BotSettings(
        environment="test", api_url=f"http://127.0.0.1:{free_port()}",
        service_token=SERVICE_TOKEN, api_timeout=2, channel_secret=SECRET_KEY,
    ))
    try:
        down = [poller_for(mailbox, classifier, unreachable).poll_once() for _ in range(4)]
    finally:
        unreachable.close()

    assert [(r.failed, r.quarantined) for r in down] == [(1, 0)] * 4
    assert mailbox.message_ids(keyword=QUARANTINED_KEYWORD) == []
    back = poller_for(mailbox, classifier, records).poll_once()
    assert back.processed == 1 and mailbox.message_ids(processed=False) == []


def test_a_wrong_password_or_a_closed_port_is_reported_not_ignored(
    mailbox: Mailbox, classifier: NluClassifier, records: EmailRecords,
) -> None:
    poller = poller_for(mailbox, classifier, records)
    for wrong in ({"password": "not-the-password"}, {"port": free_port()}):
        settings = MailboxSettings(**{**poller.settings.__dict__, **wrong})
        broken = MailboxPoller(settings, triage_chunk=lambda raws: [], record=lambda t: {})
        with pytest.raises(MailboxUnavailable):
            broken.poll_once()


def test_an_autoresponder_loop_is_cut_off_by_the_per_sender_limit(
    mailbox: Mailbox, smtp: SmtpSink, memberdesk: Memberdesk, classifier: NluClassifier,
    records: EmailRecords,
) -> None:
    """A badly-behaved autoresponder (no Auto-Submitted header) answers every email we send."""
    responder = "Busy Person <busy.person@example.org>"
    mailbox.deliver(bytes(email(responder, "My subs", "How much are my subs?")))
    answered: set[str] = set()
    for _ in range(8):
        poller_for(mailbox, classifier, records).poll_once()
        send_outbox(memberdesk, smtp)
        new = [m for m in replies_to(smtp, "busy.person@example.org")
               if str(m["Message-ID"]) not in answered]
        if not new:
            break
        for ours in new:
            answered.add(str(ours["Message-ID"]))
            mailbox.deliver(bytes(email(
                responder, f"Re: {ours['Subject']}", "Thanks for your email, I will reply soon.",
                In_Reply_To=str(ours["Message-ID"]),
            )))

    sent = replies_to(smtp, "busy.person@example.org")
    assert len(sent) == 5  # the hourly limit; the loop stops there
    references = {CASE.search(str(m["Subject"]))[0] for m in sent}  # type: ignore[index]
    assert len(references) == 1  # and every reply joined the one case


def test_a_reply_is_recorded_after_the_email_it_answers_even_when_that_one_is_slow(
    mailbox: Mailbox, email_api: RecordsApi, classifier: NluClassifier, records: EmailRecords,
) -> None:
    """Emails are recorded several at a time: a member's first email and their follow-up in
    the same pass must still be recorded in order, or the follow-up opens a second case."""
    first = email("Sam Slow <sam.slow@example.net>", "New address",
                  "I have moved house to 4 Hyde Park Road, Leeds LS6 1AG.")
    follow_up = email("Sam Slow <sam.slow@example.net>", "Re: New address",
                      "Sorry, the move is from the 14th.",
                      In_Reply_To=str(first["Message-ID"]), References=str(first["Message-ID"]))
    colleague = email("Pat Helper <pat.helper@example.net>", "Re: New address",
                      "Writing for Sam: the flat number is 4B.",
                      In_Reply_To=str(follow_up["Message-ID"]),
                      References=f"{first['Message-ID']} {follow_up['Message-ID']}")
    others = [email(f"someone{n}@example.net", "Question", "When does the ballot close?")
              for n in range(4)]
    mailbox.deliver(bytes(first), *(bytes(m) for m in others), bytes(follow_up), bytes(colleague))

    def slow_first(triaged: Any) -> dict[str, Any]:
        if triaged.parsed.message_id == str(first["Message-ID"]):
            time.sleep(1.5)  # the API is slow on this one; the other workers are not waiting
        return record_triaged(triaged, records=records)

    report = poller_for(mailbox, classifier, records, record=slow_first).poll_once()

    assert report.failed == 0 and report.processed >= 7
    with database(email_api) as db:
        cases = {
            message_id: case_id for message_id, case_id in db.execute(
                "SELECT message_id, case_id FROM inbound_emails WHERE message_id IN (?, ?, ?)",
                tuple(str(m["Message-ID"]) for m in (first, follow_up, colleague)),
            )
        }
    assert len(cases) == 3 and len(set(cases.values())) == 1, cases


def test_a_message_that_keeps_failing_is_quarantined_and_never_holds_up_the_rest(
    mailbox: Mailbox, email_api: RecordsApi, classifier: NluClassifier, records: EmailRecords,
) -> None:
    """A message the records API refuses (or fails on while others go through) is counted
    on the message itself, the pass goes on, and after three failures it is quarantined:
    keyworded for a person and never fetched again."""
    refused = email("Broken Export <broken@example.net>", "Change of address", "I have moved.")
    failing = email("Odd Sender <odd@example.net>", "Question", "When does the ballot close?")
    fine = [email(f"fine{n}@example.net", "Change of address", "I have moved to LS6 3AG.")
            for n in range(3)]
    mailbox.deliver(bytes(refused), bytes(failing), *(bytes(m) for m in fine[:1]))
    bad = {str(refused["Message-ID"]): RecordsApiRefused(status=422, detail="not acceptable"),
           str(failing["Message-ID"]): RecordsApiFailed("POST /email/inbound: HTTP 500",
                                                         status=500)}

    def record_or_fail(triaged: Any) -> dict[str, Any]:
        if (error := bad.get(triaged.parsed.message_id)) is not None:
            raise error
        return record_triaged(triaged, records=records)

    passes = []
    for new_mail in fine[1:] + [None]:
        passes.append(poller_for(mailbox, classifier, records, record=record_or_fail).poll_once())
        if new_mail is not None:
            mailbox.deliver(bytes(new_mail))
    third = passes[-1]

    # Every good message went through, pass after pass, however the bad two failed.
    assert sum(p.processed for p in passes) == 3
    assert [p.failed for p in passes] == [2, 2, 2]
    assert third.quarantined == 2 and third.waiting == 0
    # Quarantined: left for a person, and not fetched again.
    later = poller_for(mailbox, classifier, records, record=record_or_fail).poll_once()
    assert (later.processed, later.failed, later.waiting) == (0, 0, 0)
    with mailbox.session() as client:
        _, found = client.uid("SEARCH", "KEYWORD", "$MemberdeskQuarantined")
    assert len((found[0] or b"").split()) == 2


def test_a_server_error_on_every_message_is_an_outage_not_a_bad_message(
    mailbox: Mailbox, email_api: RecordsApi, classifier: NluClassifier, records: EmailRecords,
) -> None:
    mailbox.deliver(*(bytes(email(f"wait{n}@example.net", "Moved", "New address LS6 3AG."))
                      for n in range(2)))

    def api_failing(triaged: Any) -> dict[str, Any]:
        raise RecordsApiFailed("POST /email/inbound: HTTP 503", status=503)

    for _ in range(4):
        report = poller_for(mailbox, classifier, records, record=api_failing).poll_once()
        assert report.quarantined == 0

    back = poller_for(mailbox, classifier, records).poll_once()
    assert back.processed == 2 and back.failed == 0
