"""Handing a conversation to a person: on request, after repeated misunderstandings, or when
a form cannot be completed. The case carries everything staff need, and the assistant stays
quiet until staff hand the conversation back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, ConversationPaused, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import clarifying, pending
from actions.answers import is_skip, is_stop
from actions.api_client import RecordsApi
from actions.base import MemberAction
from actions.conversation import (
    channel_of,
    collected_values,
    last_member_intent,
    transcript,
    verified_number,
)
from actions.goals import GOALS
from actions.register_names import last_offer, new_name_notice, read_offer_answer
from bot.records import RecordsApiRefused, RecordsApiUnavailable

FALLBACKS_BEFORE_ESCALATION = 2


def goal_in_progress(tracker: Tracker) -> str | None:
    """The goal whose form just ran: it says what a case is about better than the last
    message does (a form answer can be classified as anything)."""
    form = tracker.latest_action_name
    if form == "identity_form":
        return tracker.get_slot("goal")  # set when this identity check started
    goal = next((g for g in GOALS if g.form and g.form == form), None)
    return goal.intent if goal else None


def case_request(
    tracker: Tracker,
    *,
    reason: str,
    intent: str | None = None,
    summary: str | None = None,
    priority: str | None = None,
) -> dict[str, Any]:
    """The body of a new case for this conversation."""
    intent = intent or goal_in_progress(tracker) or last_member_intent(tracker)
    return {
        "membership_number": verified_number(tracker) or None,
        "channel": channel_of(tracker),
        "conversation_id": tracker.sender_id,
        "intent": intent,
        "summary": (summary or f"{reason} ({intent or 'no clear intent'})")[:500],
        "transcript": transcript(tracker),
        "collected_values": collected_values(tracker),
        "identity_level": tracker.get_slot("identity_level") or "none",
        "priority": priority,
    }


async def post_case(tracker: Tracker, body: dict[str, Any]) -> dict[str, Any]:
    """Open a case as the verified member when there is one, so the API links it to them.

    The service token cannot say who a case is about (the API keeps its number as a claim for
    staff to check). A member token that has run out falls back to that unverified case rather
    than losing the request.
    """
    token = tracker.get_slot("member_token")
    opened: dict[str, Any]
    if token:
        try:
            opened = await RecordsApi.as_member(token, channel=body["channel"]).post("/cases", body)
            return opened
        except RecordsApiRefused as exc:
            if exc.status != 401:
                raise
    opened = await RecordsApi.as_service(channel=body["channel"]).post("/cases", body)
    return opened


def keep_case(tracker: Tracker, body: dict[str, Any]) -> None:
    """Keep a case for replay while the API is down, with the member's token if verified."""
    pending.keep(method="POST", path="/cases", body=body, channel=body["channel"],
                 member_token=tracker.get_slot("member_token"))


def what_happens_next(case: dict[str, Any]) -> str:
    """Tell the member who has it and when to expect a reply, honestly."""
    team = case.get("team_name") or case.get("team") or "membership"
    reference = case.get("reference")
    if case.get("within_business_hours"):
        when = "Someone will join this conversation shortly."
    else:
        opens = case.get("next_business_open_text") or case.get("next_business_open")
        when = (
            f"Our team is away at the moment; they'll pick this up when we open"
            f"{' (' + str(opens) + ')' if opens else ''}."
        )
    return (
        f"I've passed this to our {team} team with everything you've told me, so you "
        f"won't need to repeat it. Your reference is {reference}. {when}"
    )


async def escalate(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    *,
    reason: str,
    intent: str | None = None,
    summary: str | None = None,
    priority: str | None = None,
) -> list[EventType]:
    """Open a case for this conversation and pause the assistant until staff hand it back.

    A change waiting for a yes is dropped (staff have its values in the case): when staff hand
    the conversation back, a "yes" must not make a change the member stopped answering about.
    """
    body = case_request(tracker, reason=reason, intent=intent, summary=summary, priority=priority)
    try:
        case = await post_case(tracker, body)
    except RecordsApiUnavailable:
        keep_case(tracker, body)
        dispatcher.utter_message(
            text="I can't reach the team's system right now, but I've saved your request "
            "with this conversation and it will reach them as soon as it's back. "
            "Nothing you've told me is lost."
        )
        return [ConversationPaused(), SlotSet("pending_change", None)]
    dispatcher.utter_message(text=what_happens_next(case))
    return [
        ConversationPaused(),
        SlotSet("pending_change", None),
        SlotSet("last_reference", case.get("reference")),
    ]


async def hand_over_if_form_gave_up(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    *,
    reason: str,
    clearing: Sequence[EventType] = (),
) -> list[EventType] | None:
    """A case instead of the action, when the form before it gave up; None to carry on.

    A form gives up after too many invalid answers, or when the API was down while it asked
    (`form_outcome`, set by actions.base.MemberForm); the action after it then hands over with
    what was collected, clearing `form_outcome` and the slots in `clearing`.
    """
    if not tracker.get_slot("form_outcome"):
        return None
    return [
        SlotSet("form_outcome", None),
        *clearing,
        *await escalate(dispatcher, tracker, reason=reason),
    ]


def consecutive_fallbacks(tracker: Tracker) -> int:
    """How many of the member's latest messages in a row were not understood."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        intent = (event.get("parse_data") or {}).get("intent", {}).get("name")
        if intent != "nlu_fallback":
            break
        count += 1
    return count


class EscalateToHuman(MemberAction):
    def name(self) -> str:
        return "action_escalate_to_human"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events = await escalate(dispatcher, tracker, reason="member asked for a person")
        return [ActiveLoop(None), SlotSet("requested_slot", None), *events]


class HandleFallback(MemberAction):
    """Say so when the assistant did not understand; the second time in a row, hand over.

    A message NLU read as one of two requests is not "not understood" (actions.clarifying):
    both are done when both only answer, or the member is asked which they meant."""

    def name(self) -> str:
        return "action_handle_fallback"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        message = clarifying.latest_member_message(tracker) or {}
        # Two requests NLU could not choose between, both only answered: do both.
        if first := clarifying.both_asked(message):
            return clarifying.take_as(tracker, first)
        # A value or a request, with nothing asked: the request ("moving to 3 castle street").
        if nothing_asked(tracker) and (request := clarifying.request_among_values(message)):
            return clarifying.take_as(tracker, request)
        misunderstood = consecutive_fallbacks(tracker)
        if misunderstood >= FALLBACKS_BEFORE_ESCALATION:
            return await escalate(dispatcher, tracker, reason="assistant did not understand twice")
        # One of two requests: ask which, rather than have the member start again.
        if pair := clarifying.alike(message):
            clarifying.ask_which(dispatcher, pair)
            return []
        dispatcher.utter_message(
            text="Sorry, I didn't quite understand that. Could you put it another way? "
            "You can also ask to speak to a person."
        )
        return []


def nothing_asked(tracker: Tracker) -> bool:
    """No form is asking a question and no change waits for a yes: a value answers nothing."""
    return not (tracker.active_loop or {}).get("name") and not tracker.get_slot("pending_change")


WHAT_IS_IT_FOR = ("Thanks. What would you like me to do with that? For example, update your "
                  "details or check a payment.")


class ValueOutOfContext(MemberAction):
    """A message read as a value when nothing was asked: the request beside the values is
    taken when NLU saw one (actions.clarifying), otherwise the member is asked what it is for."""

    def name(self) -> str:
        return "action_value_out_of_context"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        message = clarifying.latest_member_message(tracker) or {}
        if request := clarifying.request_among_values(message):
            return clarifying.take_as(tracker, request)
        dispatcher.utter_message(text=WHAT_IS_IT_FOR)
        return []


def _kept_as_new(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """ "No" to "Did you mean ...?" keeps the member's own employer or workplace name: it
    answers the offer (actions.register_names), it does not stop the change."""
    asked = tracker.get_slot("requested_slot")
    offer = last_offer(tracker)
    if asked not in ("new_employer", "new_workplace") or offer is None:
        return []
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    text = str(tracker.latest_message.get("text") or "")
    answer = read_offer_answer(text, intent, offer)
    if not answer.new_name:
        return []
    dispatcher.utter_message(text=new_name_notice(answer.new_name))
    return [SlotSet(asked, answer.new_name), FollowupAction(tracker.active_loop["name"])]


# Questions whose prompt says "say 'skip'": a skip there answers, it does not stop the form.
# (actions.records validates them; "-" is its mark for "unchanged".)
SKIPPABLE_QUESTIONS = frozenset({"new_job_title", "new_grade"})


def _skipped(tracker: Tracker) -> list[EventType]:
    """ "skip" (read as a no) at a question that may be skipped: answered, the form goes on."""
    asked = tracker.get_slot("requested_slot")
    text = str(tracker.latest_message.get("text") or "")
    if asked not in SKIPPABLE_QUESTIONS or not tracker.active_loop.get("name"):
        return []
    if is_stop(text) or not is_skip(text):
        return []
    return [SlotSet(asked, "-"), FollowupAction(tracker.active_loop["name"])]


class StopForm(MemberAction):
    """The member changed their mind: stop asking, change nothing."""

    def name(self) -> str:
        return "action_stop_form"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events: list[EventType] = [
            ActiveLoop(None),
            SlotSet("requested_slot", None),
            SlotSet("form_failures", 0),
            SlotSet("form_outcome", None),
        ]
        if kept := _kept_as_new(dispatcher, tracker):
            return kept
        if skipped := _skipped(tracker):
            return skipped
        if tracker.active_loop.get("name") == "rating_form":
            from actions.feedback import store_rating

            await store_rating(tracker)
            dispatcher.utter_message(text="Thank you for your feedback. Goodbye!")
            return events
        dispatcher.utter_message(
            text="OK, I've stopped there and nothing has been changed. "
            "Is there anything else I can help with?"
        )
        return events
