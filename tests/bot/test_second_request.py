"""Further requests in the message that made the first, run as the action server runs them.

NLU's ranking is given here as Rasa would send it, so each test says which request came first
and how sure NLU was of the second; the records API is the real one.
"""

from __future__ import annotations

from typing import Any

import pytest

from actions.ballots import BallotEligibility, BallotInfo
from actions.second_request import SECOND_REQUEST_CONFIDENCE, also_asked
from tests.bot.servers import RecordsApi
from tests.bot.trackers import run, slots_set, texts, tracker, verified_slots


def _request(text: str, *ranking: tuple[str, float]) -> dict[str, Any]:
    """The member's message as the tracker holds it, with NLU's ranking of its intents."""
    ranked = [{"name": name, "confidence": confidence} for name, confidence in ranking]
    return {"event": "user", "text": text,
            "parse_data": {"text": text, "intent": ranked[0], "intent_ranking": ranked}}


SURE = SECOND_REQUEST_CONFIDENCE + 0.1
UNSURE = SECOND_REQUEST_CONFIDENCE - 0.05


@pytest.mark.parametrize(
    ("message", "further"),
    [
        (_request("can i vote in the pay ballot? i never got a paper",
                  ("ballot_eligibility", 0.6), ("ballot_paper_missing", SURE)),
         ["ballot_paper_missing"]),
        (_request("my direct debit bounced and I want to pay what I owe",
                  ("payment_failed", 0.5), ("make_payment", SURE)), ["make_payment"]),
        # Every goal NLU is sure enough of, most likely first.
        (_request("am i allowed to vote in the strike ballot? my paper hasnt turned up",
                  ("ballot_eligibility", 0.5), ("ballot_info", SURE + 0.05),
                  ("ballot_paper_missing", SURE)), ["ballot_info", "ballot_paper_missing"]),
        # One request, however its words rank: nothing further to carry on with.
        (_request("has my ballot paper been sent",
                  ("ballot_paper_missing", 0.6), ("ballot_eligibility", SURE)), []),
        # Two parts, but NLU was not sure enough the second asks anything of its own.
        (_request("can i vote? it's the pay ballot",
                  ("ballot_eligibility", 0.8), ("ballot_paper_missing", UNSURE)), []),
        # Not a goal at all, or one that changes the record or has a form: never from a guess.
        (_request("hi there, can i vote in the ballot",
                  ("ballot_eligibility", 0.6), ("greet", SURE)), []),
        (_request("ive left my job and started at the hospital",
                  ("change_employment", 0.6), ("change_circumstances", 0.39)), []),
        (_request("can i vote? and renew my membership",
                  ("ballot_eligibility", 0.6), ("renew_membership", SURE)), []),
    ],
)
def test_further_goals_are_read_only_from_a_message_of_two_parts_that_nlu_ranks_them_in(
    message: dict[str, Any], further: list[str]
) -> None:
    assert [goal.intent for goal in also_asked(message)] == further


def _after_the_check(request: dict[str, Any], *, number: str, api: RecordsApi,
                     events: list[dict[str, Any]] | None = None) -> Any:
    """The conversation when the goal's action runs: request, identity check, verified."""
    return tracker(
        slots={**verified_slots(api, number), "goal": request["parse_data"]["intent"]["name"]},
        intent="inform", text="01/01/1980",
        events=[request, {"event": "active_loop", "name": "identity_form"},
                {"event": "user", "text": "01/01/1980", "parse_data": {"intent": {
                    "name": "inform"}}}, *(events or [])],
    )


def test_can_i_vote_and_where_is_my_paper_are_both_answered(actions_env: RecordsApi) -> None:
    # Priya is in the open NHS ballot's constituency.
    request = _request("am I allowed to vote in the NHS ballot? also my voting paper hasn't come",
                       ("ballot_eligibility", 0.55), ("ballot_paper_missing", SURE))

    _, messages = run(BallotEligibility(),
                      _after_the_check(request, number="1000001", api=actions_env))

    shown = texts(messages)
    assert "yes, you can vote" in shown and "scrutineer" in shown, shown
    with actions_env.client() as client:
        open_code = next(b["ballot_code"] for b in client.get("/members/1000001/ballots").json()
                         if b["state"] == "open")
    with actions_env.staff_client() as staff:
        asked = staff.get(f"/ballots/{open_code}/replacement-requests").json()
    # Asked for now, or already by another test: either way the scrutineer has it.
    assert any(r["membership_number"] == "1000001" for r in asked)


def test_one_request_is_answered_alone(actions_env: RecordsApi) -> None:
    request = _request("can i vote in the ballot", ("ballot_eligibility", 0.7),
                       ("ballot_paper_missing", SURE))

    _, messages = run(BallotEligibility(),
                      _after_the_check(request, number="1000004", api=actions_env))

    assert "scrutineer" not in texts(messages) and "replacement" not in texts(messages)


def test_a_second_request_already_handled_is_not_carried_on_again(
    actions_env: RecordsApi,
) -> None:
    request = _request("can i vote? i never got a paper", ("ballot_eligibility", 0.55),
                       ("ballot_paper_missing", SURE))
    handled = [{"event": "action", "name": "action_ballot_paper_missing"}]

    _, messages = run(BallotEligibility(), _after_the_check(
        request, number="1000004", api=actions_env, events=handled))

    assert "scrutineer" not in texts(messages)


def test_a_second_request_for_a_member_not_yet_checked_starts_the_check(
    actions_env: RecordsApi,
) -> None:
    request = _request("when does the ballot close? my paper never came",
                       ("ballot_info", 0.5), ("ballot_paper_missing", SURE))

    state = tracker(intent="ballot_info", text=request["text"])
    # The request is the latest message, with its ranking.
    state.events[-1], state.latest_message = request, request["parse_data"]

    events, messages = run(BallotInfo(), state)

    assert "check who you are" in texts(messages)
    assert {"event": "followup", "name": "identity_form"} in [
        {k: e.get(k) for k in ("event", "name")} for e in events]
    assert slots_set(events)["goal"] == "ballot_paper_missing"
