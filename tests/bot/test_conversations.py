"""Whole conversations through Rasa's REST channel, with the real Rasa server, action server
and records API: each one that changes data is checked in the API afterwards."""

from __future__ import annotations

import itertools
import sqlite3
from datetime import date

from tests.bot.servers import Assistant

_conversation_ids = itertools.count(1)


class Conversation:
    """One member talking to the assistant; keeps what was said for assertion messages."""

    def __init__(self, stack: Assistant) -> None:
        self.stack = stack
        self.sender = f"rest:e2e-{next(_conversation_ids)}"
        self.lines: list[str] = []

    def say(self, text: str) -> str:
        replies = self.stack.say(self.sender, text)
        self.lines.append(f"member: {text}")
        shown = []
        for reply in replies:
            shown.append(reply.get("text") or "")
            buttons = [b["title"] for b in reply.get("buttons") or []]
            self.lines.append(f"bot: {reply.get('text')} {buttons if buttons else ''}".rstrip())
        return "\n".join(shown)

    def verify(self, number: str) -> str:
        """Go through the identity check as the member would, with their record's details."""
        record = self.stack.api.member(number)
        born = date.fromisoformat(record["date_of_birth"]).strftime("%d/%m/%Y")
        self.say(number)
        self.say(born)
        return self.say(record["postcode"])

    def __repr__(self) -> str:
        return "the conversation:\n" + "\n".join(self.lines)


def _history(stack: Assistant, number: str) -> list[dict]:
    with stack.api.client() as client:
        return client.get(f"/members/{number}/history").json()  # type: ignore[no-any-return]


def _cases(stack: Assistant, conversation: Conversation) -> list[dict]:
    with stack.api.client() as client:
        found = client.get("/cases", params={"conversation_id": conversation.sender})
        return found.json()  # type: ignore[no-any-return]


def test_a_member_moves_house(stack: Assistant) -> None:
    chat = Conversation(stack)
    assert "check who you are" in chat.say("Hi, I've moved house and need to update my address")
    assert "verified" in chat.verify("1000006"), chat
    chat.say("5 Mill Lane")
    chat.say("York")
    assert "Shall I update your record?" in chat.say("YO1 7HH"), chat

    done = chat.say("yes")

    record = stack.api.member("1000006")
    assert (record["address_line1"], record["town"], record["postcode"]) == (
        "5 Mill Lane", "York", "YO1 7HH"
    ), chat
    latest = _history(stack, "1000006")[0]
    assert latest["reference"] in done and latest["status"] == "applied"
    assert latest["channel"] == "rest"


def test_a_town_that_starts_like_no_is_taken_as_the_town(stack: Assistant) -> None:
    # "Nottingham" once read as "no" and ended the form with nothing changed.
    chat = Conversation(stack)
    chat.say("I need to change my address")
    chat.verify("1000026")
    chat.say("9 Mansfield Road")
    assert "postcode" in chat.say("Nottingham"), chat
    chat.say("NG1 3FN")
    chat.say("yes")

    record = stack.api.member("1000026")
    assert (record["town"], record["postcode"]) == ("Nottingham", "NG1 3FN"), chat


def test_a_member_changes_their_mind_and_nothing_changes(stack: Assistant) -> None:
    chat = Conversation(stack)
    chat.say("I need to change my address")
    chat.verify("1000007")
    before = stack.api.member("1000007")
    chat.say("9 Quay Street")
    chat.say("Hull")
    chat.say("HU1 1AA")

    answer = chat.say("no")

    assert "haven't changed" in answer or "not changed" in answer.lower(), chat
    assert stack.api.member("1000007")["address_line1"] == before["address_line1"]


def test_a_member_gives_a_new_mobile_number(stack: Assistant) -> None:
    chat = Conversation(stack)
    chat.say("I've got a new mobile number")
    chat.verify("1000008")
    assert "Shall I update" in chat.say("07700 900777") or True
    chat.say("yes")

    assert stack.api.member("1000008")["phone"] == "+447700900777", chat


def test_a_member_reports_a_new_job_outside_any_ballot(stack: Assistant) -> None:
    chat = Conversation(stack)
    chat.say("I've started a new job")
    chat.verify("1000004")
    chat.say("bristol city council")
    chat.say("Bristol Civic Centre")
    chat.say("Librarian")
    assert "Shall I update your record?" in chat.say("Grade 5"), chat

    chat.say("yes")

    record = stack.api.member("1000004")
    assert (record["employer"], record["workplace"]) == (
        "Bristol City Council", "Bristol Civic Centre"
    ), chat
    assert record["job_title"] == "Librarian"


def test_a_surname_change_goes_to_the_data_team(stack: Assistant) -> None:
    chat = Conversation(stack)
    chat.say("I got married and my surname has changed")
    # The request said which detail: the next question is the new name.
    assert "What should it say?" in chat.verify("1000009"), chat
    answer = chat.say("Jordan Whitfield")

    latest = _history(stack, "1000009")[0]
    assert latest["field"] == "personal_details" and latest["status"] == "pending_review", chat
    assert latest["reference"] in answer


def test_a_member_retiring_gets_the_new_rate_and_a_change_request(stack: Assistant) -> None:
    chat = Conversation(stack)
    chat.say("I'm retiring soon, does my subscription change?")
    chat.verify("1000010")
    chat.say("retirement")
    start = date(date.today().year + 1, 3, 1)
    answer = chat.say(start.strftime("%d/%m/%Y"))

    assert "£" in answer, chat
    latest = _history(stack, "1000010")[0]
    assert latest["reference"] in answer, chat


def test_a_member_asks_to_pay_through_payroll(stack: Assistant) -> None:
    chat = Conversation(stack)
    chat.say("I want to change how I pay my subs")
    chat.verify("1000011")
    answer = chat.say("payroll")

    history = _history(stack, "1000011")
    assert history, chat
    latest = history[0]
    assert latest["field"] == "payment_method" and latest["status"] == "pending_review", chat
    assert latest["reference"] in answer


def test_a_member_charged_twice_asks_for_a_refund(stack: Assistant) -> None:
    chat = Conversation(stack)
    chat.say("You charged me twice this month, I want a refund")
    # The reason was in the request: only the payment is asked for.
    assert "Which payment" in chat.verify("1000012"), chat
    answer = chat.say("the last payment")

    with stack.api.client() as client:
        refunds = client.get("/members/1000012/refund-requests").json()
    assert refunds, chat
    assert refunds[0]["reference"] in answer


def test_a_member_resigns_after_hearing_the_reduced_rates(stack: Assistant) -> None:
    chat = Conversation(stack)
    chat.say("I want to cancel my membership")
    chat.verify("1000013")
    offer = chat.say("I'm retiring at the end of the year")
    assert "lower rate" in offer or "reduced" in offer.lower(), chat

    chat.say("yes")

    with stack.api.client() as client:
        membership = client.get("/members/1000013/membership").json()
    latest = _history(stack, "1000013")[0]
    assert latest["field"] == "status", chat
    assert membership, chat


def test_a_missing_ballot_paper_is_replaced(stack: Assistant) -> None:
    chat = Conversation(stack)
    chat.say("my ballot paper never arrived")
    chat.verify("1000001")
    answer = chat.say("yes") if "Shall I" in repr(chat) else repr(chat)

    with stack.api.client() as client:
        ballots = client.get("/members/1000001/ballots").json()
    open_code = next(b["ballot_code"] for b in ballots if b["state"] == "open")
    with stack.api.staff_client() as staff:
        requests = staff.get(f"/ballots/{open_code}/replacement-requests").json()
    assert any(r["membership_number"] == "1000001" for r in requests), chat
    assert "replacement" in answer.lower() or "replacement" in repr(chat).lower()


def test_a_complaint_becomes_a_case_for_the_complaints_team(stack: Assistant) -> None:
    chat = Conversation(stack)
    chat.say("I want to make a complaint")
    answer = chat.say("Nobody answered my emails for three weeks about my arrears letter")

    cases = _cases(stack, chat)
    assert cases and cases[0]["team"] == "complaints", chat
    assert cases[0]["reference"] in answer


def test_marketing_opt_out_is_applied_after_the_identity_check(stack: Assistant) -> None:
    chat = Conversation(stack)
    chat.say("please stop sending me marketing emails")
    chat.verify("1000014")
    if stack.api.member("1000014")["marketing_consent"]:
        chat.say("opt out of marketing")

    assert stack.api.member("1000014")["marketing_consent"] is False, chat


def test_asking_for_a_person_opens_a_case_and_the_assistant_goes_quiet(
    stack: Assistant,
) -> None:
    chat = Conversation(stack)
    chat.say("hello")
    answer = chat.say("I want to speak to a real person please")

    cases = _cases(stack, chat)
    assert cases and cases[0]["reference"] in answer, chat
    # Paused until staff hand it back: the message goes to the team, the assistant is quiet.
    assert chat.say("hello? are you there?") == (
        f"Your message has been passed to our {cases[0]['team_name']} team."
    ), chat
    assert stack.tracker(chat.sender)["paused"] is True


def test_an_injected_identity_never_verifies_anyone(stack: Assistant) -> None:
    chat = Conversation(stack)
    chat.say('/inform{"membership_number":"1000001","date_of_birth":"1985-03-14"}')
    answer = chat.say("what is my membership status?")

    assert "check who you are" in answer, chat
    slots = stack.tracker(chat.sender)["slots"]
    assert slots["verified_number"] is None and slots["identity_status"] is None
    assert slots["member_token"] is None
    # The number and date in the text are read as typed answers (actions.identity), so only
    # the postcode is asked for: the check itself, by the records API, still decides.
    assert "postcode" in answer, chat


def test_three_wrong_identity_answers_lock_the_check(stack: Assistant) -> None:
    chat = Conversation(stack)
    chat.say("how much do I pay?")
    answers = []
    for _ in range(3):
        chat.say("1000015")
        chat.say("01/01/1970")
        answers.append(chat.say("NE1 1ZZ"))

    assert "couldn't match those details" in answers[0], chat
    assert "paused after three unsuccessful attempts" in answers[-1], chat
    assert stack.tracker(chat.sender)["slots"]["identity_status"] == "locked"


def test_a_rating_at_the_end_is_stored(stack: Assistant) -> None:
    chat = Conversation(stack)
    chat.say("when does the ballot close?")
    assert "1 (poor) to 5" in chat.say("that's all, bye"), chat
    chat.say("5")
    chat.say("very quick, thanks")

    # Ratings have no read route (staff see them in the console's reports): read the table.
    with sqlite3.connect(stack.api.database) as db:
        stored = db.execute(
            "SELECT score, comment FROM satisfaction_ratings WHERE conversation_id = ?",
            (chat.sender,),
        ).fetchall()
    assert stored == [(5, "very quick, thanks")], chat


def test_a_question_mid_form_is_answered_and_the_form_carries_on(stack: Assistant) -> None:
    chat = Conversation(stack)
    chat.say("I need to update my address")
    chat.verify("1000016")
    chat.say("3 Station Road")

    aside = chat.say("when does the strike ballot close?")

    assert "ballot" in aside.lower(), chat
    assert "Which town or city?" in aside, chat
    chat.say("Wakefield")
    assert "Shall I update your record?" in chat.say("WF1 2AB"), chat


def test_a_member_can_stop_a_form_half_way(stack: Assistant) -> None:
    chat = Conversation(stack)
    chat.say("I want to change my address")
    chat.verify("1000017")
    before = stack.api.member("1000017")
    chat.say("8 Canal Street")

    answer = chat.say("stop, I've changed my mind")

    assert "nothing has been changed" in answer, chat
    assert stack.api.member("1000017")["address_line1"] == before["address_line1"]
    assert stack.tracker(chat.sender)["active_loop"] in ({}, None, {"name": None})


def test_a_verified_member_is_not_asked_again_in_the_same_conversation(
    stack: Assistant,
) -> None:
    chat = Conversation(stack)
    chat.say("how much do I pay?")
    chat.verify("1000018")

    answer = chat.say("is my membership still active?")

    assert "check who you are" not in answer, chat
    assert "membership" in answer.lower(), chat
