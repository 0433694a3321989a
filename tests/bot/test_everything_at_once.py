"""Members who say who they are with what they want, through the real stack.

The identity check takes every factor a message states (the first one included), asks only for
what is missing, takes a correction of one at any of its questions, and the request said with
the details is answered without being asked for again. Each conversation is checked in what
the member is told and, for changes, in the record afterwards.
"""

from __future__ import annotations

from datetime import date

from tests.bot.servers import Assistant
from tests.bot.test_conversations import Conversation

FACTOR_QUESTIONS = ("membership number", "date of birth", "postcode")


def _factors(stack: Assistant, number: str) -> tuple[str, str]:
    record = stack.api.member(number)
    return date.fromisoformat(record["date_of_birth"]).strftime("%d/%m/%Y"), record["postcode"]


def test_details_and_a_question_in_the_first_message_get_the_answer_at_once(
    stack: Assistant,
) -> None:
    born, postcode = _factors(stack, "1000002")
    chat = Conversation(stack)

    reply = chat.say(f"hi, I'm member 1000002, born {born}, postcode {postcode}. "
                     "Why did my direct debit fail?")

    assert "You're verified" in reply, chat
    assert "wasn't collected" in reply or "can't see any failed payments" in reply, chat
    assert not any(f"your {question}" in reply.lower() for question in FACTOR_QUESTIONS), chat


def test_details_and_a_new_address_in_one_message_need_only_a_yes(stack: Assistant) -> None:
    born, postcode = _factors(stack, "1000028")
    chat = Conversation(stack)

    read_back = chat.say(f"member no 1000028 dob {born} pc {postcode.lower()} - ive moved to "
                         "5 queen sq bristol bs14jq")

    assert "5 Queen Sq\nBristol\nBS1 4JQ" in read_back, chat
    chat.say("yes")
    record = stack.api.member("1000028")
    assert (record["address_line1"], record["town"], record["postcode"]) == (
        "5 Queen Sq", "Bristol", "BS1 4JQ"), chat


def test_details_given_before_the_request_are_not_asked_for_again(stack: Assistant) -> None:
    born, postcode = _factors(stack, "1000045")
    chat = Conversation(stack)
    chat.say(f"my membership number is 1000045 and I was born {born}")

    asked = chat.say("how much do I pay")

    assert "postcode" in asked.lower(), chat
    assert "membership number" not in asked.lower() and "date of birth" not in asked.lower(), chat
    answered = chat.say(postcode)
    assert "You're verified" in answered and "You pay" in answered, chat


def test_a_corrected_number_at_the_next_question_is_taken_without_a_complaint(
    stack: Assistant,
) -> None:
    born, postcode = _factors(stack, "1000029")
    chat = Conversation(stack)
    chat.say("i need to change my phone number")
    chat.say("1000004")

    corrected = chat.say("sorry, I meant 1000029")

    assert "date of birth" in corrected.lower(), chat
    assert "couldn't read" not in corrected, chat
    chat.say(born)
    verified = chat.say(postcode)
    assert "You're verified" in verified, chat
    chat.say("07700 900461")
    chat.say("yes")
    assert stack.api.member("1000029")["phone"] == "+447700900461", chat


def test_a_refund_reason_given_before_the_check_is_not_asked_for_again(
    stack: Assistant,
) -> None:
    chat = Conversation(stack)
    chat.say("you charged me twice this month")

    asked = chat.verify("1000045")

    assert "which payment" in asked.lower() or "date of the payment" in asked.lower(), chat
    assert "why" not in asked.lower(), chat
    done = chat.say("£12.50 taken on 01/11/2026")
    with stack.api.client() as client:
        requests = client.get("/members/1000045/refund-requests").json()
    assert requests and requests[0]["reason"] == "you charged me twice this month", chat
    assert done.count(requests[0]["reference"]) == 1, chat  # said once, not twice


def test_yes_is_no_reason_for_a_refund(stack: Assistant) -> None:
    chat = Conversation(stack)
    chat.say("I want a refund")
    chat.verify("1000028")
    chat.say("£12.50 on 1/11/2026")

    reply = chat.say("yes")

    assert "why it should be refunded" in reply, chat
    with stack.api.client() as client:
        assert client.get("/members/1000028/refund-requests").json() == [], chat


def test_what_membership_costs_is_answered_without_an_identity_check(stack: Assistant) -> None:
    chat = Conversation(stack)

    reply = chat.say("how much is membership for a student")

    assert "Student membership is £" in reply, chat
    assert "check who you are" not in reply and "membership number" not in reply, chat


def _latest_change(stack: Assistant, number: str) -> dict:
    with stack.api.client() as client:
        return client.get(f"/members/{number}/history").json()[0]  # type: ignore[no-any-return]


def test_a_close_employer_name_is_offered_back_and_taken_only_with_a_yes(
    stack: Assistant,
) -> None:
    chat = Conversation(stack)
    chat.say("i've got a new job")
    chat.verify("1000045")

    offered = chat.say("sheffield teaching hospitals nhs trust")

    assert "Did you mean Sheffield Teaching Hospitals NHS Foundation Trust?" in offered, chat
    chat.say("yes")
    record = stack.api.member("1000045")
    assert record["employer"] != "sheffield teaching hospitals nhs trust", chat


def test_an_employer_new_to_the_register_is_recorded_as_new_not_swapped(
    stack: Assistant,
) -> None:
    chat = Conversation(stack)
    chat.say("I've changed employer")
    chat.verify("1000029")

    reply = chat.say("Harrogate and District NHS Foundation Trust")
    if "Did you mean" in reply:
        reply = chat.say("no, it's new")
    assert "record it as new" in reply, chat
    reply = chat.say("Harrogate District Hospital")
    if "Did you mean" in reply:
        reply = chat.say("none of these")
    for answer in ("Healthcare assistant", "Band 3"):
        reply = chat.say(answer)
    assert "Harrogate and District NHS Foundation Trust" in reply, chat
    chat.say("yes")
    latest = _latest_change(stack, "1000029")
    assert latest["field"] == "employment" and latest["status"] == "pending_review", chat
    assert "Harrogate and District NHS Foundation Trust" in str(latest), chat


def test_why_the_date_of_birth_is_needed_gets_a_real_answer_and_the_check_goes_on(
    stack: Assistant,
) -> None:
    born, postcode = _factors(stack, "1000045")
    chat = Conversation(stack)
    chat.say("how much do i pay")
    chat.say("1000045")

    why = chat.say("why do you need my date of birth?")

    assert "only you and we should know" in why and "date of birth" in why.lower(), chat
    assert "couldn't read" not in why, chat
    chat.say(born)
    assert "You pay" in chat.say(postcode), chat


def test_a_member_who_does_not_know_their_old_postcode_is_offered_a_person(
    stack: Assistant,
) -> None:
    born, _ = _factors(stack, "1000045")
    chat = Conversation(stack)
    chat.say("I've moved house")
    chat.say("1000045")
    chat.say(born)

    reply = chat.say("i dont know my old postcode")

    assert "check who you are another way" in reply, chat
    assert "reference" in reply.lower(), chat  # the case a person picks up
    assert "doesn't look like a UK postcode" not in reply, chat


def test_a_new_title_and_surname_said_as_the_request_are_both_sent_for_review(
    stack: Assistant,
) -> None:
    chat = Conversation(stack)
    chat.say("please update my name, I'm now Ms Doyle")

    done = chat.verify("1000028")

    assert "checked by our records team" in done, chat
    assert "which detail" not in done.lower() and "what should it say" not in done.lower(), chat
    latest = _latest_change(stack, "1000028")
    assert (latest["field"], latest["status"]) == ("personal_details", "pending_review"), chat
    assert latest["new_value"] == {"title": "Ms", "last_name": "Doyle"}, chat


def _a_workplace_of(stack: Assistant, employer: str) -> str:
    with stack.api.client() as client:
        register = client.get("/employers").json()
    return str(next(e for e in register if e["name"] == employer)["workplaces"][0])


def test_the_employer_said_with_the_details_is_taken_and_the_workplace_asked_next(
    stack: Assistant,
) -> None:
    born, postcode = _factors(stack, "1000029")
    workplace = _a_workplace_of(stack, "Leeds City Council")
    chat = Conversation(stack)

    asked = chat.say(f"1000029 dob {born} pc {postcode.lower()}. got a new job with leeds "
                     "city council")

    assert "Which workplace" in asked and "Who is your new employer" not in asked, chat
    chat.say(workplace)
    chat.say("skip")
    read_back = chat.say("skip")
    assert "Leeds City Council" in read_back, chat
    chat.say("yes")
    latest = _latest_change(stack, "1000029")
    assert latest["field"] == "employment", chat
    assert (latest["new_value"]["employer"], latest["new_value"]["workplace"]) == (
        "Leeds City Council", workplace), chat


def test_an_employer_and_workplace_in_one_answer_are_not_asked_for_again(
    stack: Assistant,
) -> None:
    workplace = _a_workplace_of(stack, "Sheffield City Council")
    chat = Conversation(stack)
    chat.say("I've changed jobs")
    chat.verify("1000045")

    asked = chat.say(f"sheffield city council - {workplace.lower()}")

    assert "job title" in asked.lower(), chat
    assert "Did you mean" not in asked and "Which workplace" not in asked, chat
    chat.say("Librarian")
    chat.say("skip")
    chat.say("yes")
    latest = _latest_change(stack, "1000045")
    assert (latest["new_value"]["employer"], latest["new_value"]["workplace"]) == (
        "Sheffield City Council", workplace), chat


def test_can_i_vote_and_a_missing_paper_in_one_message_get_both_answers(
    stack: Assistant,
) -> None:
    # Priya is in the open NHS ballot's constituency.
    chat = Conversation(stack)
    chat.say("am i allowed to vote in the strike ballot? my voting paper hasnt turned up")

    answered = chat.verify("1000001")

    assert "yes, you can vote" in answered and "scrutineer" in answered, chat
    with stack.api.client() as client:
        ballots = client.get("/members/1000001/ballots").json()
    open_code = next(b["ballot_code"] for b in ballots if b["state"] == "open")
    with stack.api.staff_client() as staff:
        asked = staff.get(f"/ballots/{open_code}/replacement-requests").json()
    assert any(r["membership_number"] == "1000001" for r in asked), chat
