"""Turn counting on its own: what the dashboard is told about a member's turn."""

from __future__ import annotations

from rasa.shared.core.events import ActionExecuted, ActiveLoop, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from actions.goals import GOALS
from channels.handoff.turns import ANSWERING_ACTIONS, TurnSeen, turn_of


def _tracker(intent: str, *after: object) -> DialogueStateTracker:
    events = [
        UserUttered("x", {"name": intent, "confidence": 0.9}),
        *(ActionExecuted(a) if isinstance(a, str) else a for a in after),
    ]
    return DialogueStateTracker.from_events("t", events)  # type: ignore[arg-type]


def test_a_turn_is_a_fallback_when_the_assistant_fell_back() -> None:
    assert turn_of(_tracker("greet", "utter_greet", "action_listen")) == TurnSeen("greet", False)
    assert turn_of(_tracker("nlu_fallback", "action_listen")).fallback
    fell_back = turn_of(_tracker("inform", "action_handle_fallback"))
    assert fell_back.fallback and fell_back.misunderstood


def test_a_reply_that_leaves_the_member_where_they_were_is_a_misunderstanding() -> None:
    # Not a fallback, but the member got nowhere: "what would you like me to do with that?",
    # or an answer refused and asked again.
    assert turn_of(_tracker("inform", "action_value_out_of_context")).misunderstood
    refused = turn_of(_tracker("inform", SlotSet("form_failures", 1), "address_form"))
    assert refused.misunderstood and not refused.fallback
    assert not turn_of(_tracker("inform", SlotSet("form_failures", 0))).misunderstood


def test_a_request_starts_with_its_goal_and_is_resolved_by_a_reference_or_an_answer() -> None:
    asked = turn_of(_tracker("change_address", SlotSet("goal", "change_address"),
                             "action_start_identity_check", ActiveLoop("identity_form")))
    assert asked.request_started and not asked.resolved
    changed = turn_of(_tracker("affirm", "action_submit_address",
                               SlotSet("last_reference", "CR-123")))
    assert changed.resolved
    answered = turn_of(_tracker("ballot_info", "action_ballot_info"))
    assert answered.request_started and answered.resolved
    # A check of who they are is no request of its own.
    assert not turn_of(_tracker("inform", ActiveLoop("identity_form"))).request_started


def test_the_answering_actions_are_the_goals_answered_without_a_form() -> None:
    assert {goal.action for goal in GOALS if goal.form is None} == set(ANSWERING_ACTIONS)
