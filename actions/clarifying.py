"""A message NLU reads two ways: do both when both only answer, otherwise ask which.

NLU gives up on a message when its two likeliest intents score alike ("there are two payments
to you on my statement, I only owe one": a refund at 0.50, a payment not recognised at 0.49).
Saying "Sorry, I didn't understand" then is wrong twice over: the assistant did understand
most of it, and the member must start again in other words. A good adviser does one of two
things:

- **Both asked, both done.** When the message has two parts and each of the two goals only
  answers or asks for something nobody would regret (`may_carry_on` in actions.goals: "got a
  letter saying my payment failed, I want to pay now"), the message is taken as the first
  request, and actions.second_request carries on with the other once it is done. The
  member's message is put back with that intent, as Rasa's own two-stage fallback does when a
  member confirms what they meant, so the dialogue rules run as if NLU had been sure.
- **Otherwise, ask.** "Just to be sure I help with the right thing: do you want to get a
  refund, or to ask about a payment you don't recognise?", with a button for each. Each
  button's label is written to be read as its intent when typed (Telegram and email members
  type), and its payload names the intent for a click.

Only goals (and a person) are offered: a message read as "yes" or "hello" half the time is not
a choice between requests.

A third reading is ruled out by the conversation itself. `inform` means "a value the assistant
asked for"; when nothing was asked, a message of values read as `inform` carries its request
beside them ("hi, postcode M14 5TQ, number 1000002, born 02/11/1979. moving to 3 castle street,
cardiff cf10 1bs": inform at 0.75, a change of address next at 0.19). The likeliest request is
then taken (`request_among_values`), rather than "What would you like me to do with that?".
"""

from __future__ import annotations

import copy
import re
import time
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, EventType, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions.goals import GOALS_BY_INTENT
from actions.parsing import without_identity
from actions.second_request import also_asked

FALLBACK = "nlu_fallback"
# Two intents are "alike" when together they hold at least this much of NLU's belief and the
# second at least SECOND_AT_LEAST: then the message is about one of them, and NLU cannot tell
# which. Below that the message is more likely about something else altogether.
PAIR_AT_LEAST = 0.6
SECOND_AT_LEAST = 0.25

# With nothing asked, the likeliest request beside `inform` is taken when NLU gives it at least
# this much. On validation rows (`python -m bench.nlu.inform_validation 0.05 0.1 0.15 0.2 0.3`,
# 2026-12-04), the rule applied to 74 of 5,744: 4 requests and 70 values, chitchat or out of
# scope. Bounds 0.05 to 0.2 started the same 4 requests the rows were not labelled with, two of
# them what an adviser would do with a value given unasked ("I work for Kent County Council":
# a change of employer); 0.3 started one, but recovered fewer requests. 0.1 is the floor
# actions.second_request found for a request NLU ranks at all: below it, any goal shows up.
REQUEST_AMONG_VALUES_AT_LEAST = 0.1
INFORM = "inform"
# A request takes at least this many words of the member's own beside the identity answers.
REQUEST_WORDS_AT_LEAST = 3
# Words that only introduce the identity check's answers ("hi, I'm member ..., born ...").
_INTRODUCING = frozenset({
    "hi", "hello", "hey", "dear", "good", "morning", "afternoon", "evening", "thanks",
    "i", "i'm", "im", "am", "it's", "its", "this", "is", "my", "me", "the", "and", "are",
    "details", "member", "membership", "mem", "number", "no", "num", "born", "on", "dob",
    "date", "of", "birth", "birthday", "bday", "postcode", "post", "code", "pc",
})
_WORDS = re.compile(r"[a-z0-9']+")

# What each choice is called: on its button, and in "do you want to ...?". The labels are
# worded as members ask for these things, so that a typed label is read as its intent.
CHOICES: dict[str, tuple[str, str]] = {
    "change_address": ("Change my address", "change your address"),
    "change_contact_details": ("Change my email or phone number",
                               "change your email address or phone number"),
    "change_employment": ("Update my employer or workplace",
                          "update your employer or workplace"),
    "change_personal_details": ("Change my name or date of birth",
                                "change your name or date of birth"),
    "change_circumstances": ("Tell you my circumstances have changed",
                             "tell us about a change in your circumstances"),
    "check_subscription": ("Check how much my subs are", "check how much you pay"),
    "payment_failed": ("Sort out a failed payment", "sort out a payment that failed"),
    "change_payment_method": ("Change how I pay", "change how you pay"),
    "request_refund": ("Get a refund", "get a refund"),
    "payment_not_recognised": ("Ask about a payment I don't recognise",
                               "ask about a payment you don't recognise"),
    "make_payment": ("Pay what I owe now", "pay what you owe"),
    "renew_membership": ("Renew my membership", "renew your membership"),
    "rejoin_membership": ("Rejoin", "rejoin"),
    "cancel_membership": ("Cancel my membership", "cancel your membership"),
    "membership_status": ("Check my membership status", "check your membership status"),
    "join_membership": ("Join", "join"),
    "ballot_eligibility": ("Check if I can vote", "check whether you can vote in a ballot"),
    "ballot_paper_missing": ("Get a replacement ballot paper", "get a replacement ballot paper"),
    "ballot_info": ("Ask about a ballot's dates or question",
                    "find out about a ballot's dates or question"),
    "industrial_action_info": ("Ask about industrial action", "ask about industrial action"),
    "opening_hours": ("When are you open?", "find out when the contact centre is open"),
    "data_protection_request": ("Ask about my data", "ask about the data we hold on you"),
    "complaint": ("Make a complaint", "make a complaint"),
    "request_human": ("Speak to a person", "speak to a person"),
}


def ranked(message: dict[str, Any]) -> list[tuple[str, float]]:
    """NLU's ranking of the message's intents, the fallback left out, likeliest first."""
    ranking = (message.get("parse_data") or {}).get("intent_ranking") or []
    pairs = [(str(r.get("name")), float(r.get("confidence") or 0.0)) for r in ranking
             if r.get("name") and r.get("name") != FALLBACK]
    return sorted(pairs, key=lambda pair: -pair[1])


def alike(message: dict[str, Any]) -> tuple[str, str] | None:
    """The two intents NLU could not choose between, when both are choices we can offer."""
    top = ranked(message)[:2]
    if len(top) < 2:
        return None
    (first, sure), (second, also) = top
    if first not in CHOICES or second not in CHOICES:
        return None
    if sure + also < PAIR_AT_LEAST or also < SECOND_AT_LEAST:
        return None
    return first, second


def words_beside_identity(text: str) -> list[str]:
    """The words of a message other than the identity check's answers and their labels."""
    return [word for word in _WORDS.findall(without_identity(text).lower())
            if word not in _INTRODUCING]


def request_among_values(message: dict[str, Any], *,
                         at_least: float = REQUEST_AMONG_VALUES_AT_LEAST) -> str | None:
    """The request a message read as a value (or between a value and a request) makes, when
    nothing was asked; None when NLU sees no request in it worth taking.

    Only goals count: "yes", "hello" or "out of scope" beside a value is not a request."""
    readings = ranked(message)
    if INFORM not in dict(readings[:2]):
        return None
    # The identity check's answers and the words introducing them explain the value reading;
    # a request needs words of its own ("moving to 3 castle street"), not "my number is ...".
    if len(words_beside_identity(str(message.get("text") or ""))) < REQUEST_WORDS_AT_LEAST:
        return None
    request = next(((intent, confidence) for intent, confidence in readings
                    if intent != INFORM), None)
    if request is None or request[0] not in GOALS_BY_INTENT:
        return None
    return request[0] if request[1] >= at_least else None


def as_intent(message: dict[str, Any], intent: str) -> dict[str, Any]:
    """The member's message event, as NLU would have given it had it been sure of `intent`."""
    event = copy.deepcopy(message)
    parse_data = event.setdefault("parse_data", {})
    confidence = dict(ranked(event)).get(intent, 1.0)
    parse_data["intent"] = {"name": intent, "confidence": confidence}
    parse_data["intent_ranking"] = [{"name": name, "confidence": value}
                                    for name, value in ranked(event)]
    event["timestamp"] = time.time()
    return event


def both_asked(message: dict[str, Any]) -> str | None:
    """The first of two answer-only goals a two-part message asks for, or None."""
    pair = alike(message)
    if pair is None:
        return None
    first, second = (GOALS_BY_INTENT.get(intent) for intent in pair)
    if first is None or second is None or not (first.may_carry_on and second.may_carry_on):
        return None
    # actions.second_request must find the second in the message put back as the first.
    if second not in also_asked(as_intent(message, first.intent)):
        return None
    return first.intent


def latest_member_message(tracker: Tracker) -> dict[str, Any] | None:
    return next((e for e in reversed(tracker.events) if e.get("event") == "user"), None)


def take_as(tracker: Tracker, intent: str) -> list[EventType]:
    """Puts the member's latest message back as `intent`: the rules then run on it."""
    message = latest_member_message(tracker)
    if message is None:
        return []
    return [UserUtteranceReverted(), ActionExecuted("action_listen"),
            as_intent(message, intent)]


def ask_which(dispatcher: CollectingDispatcher, pair: tuple[str, str]) -> None:
    """Asks which of the two the member wants, a button for each and for neither."""
    (first_label, first_words), (second_label, second_words) = (CHOICES[i] for i in pair)
    dispatcher.utter_message(
        text=f"Just to be sure I help with the right thing: do you want to {first_words}, or "
        f"to {second_words}? If it's something else, tell me in a few words.",
        buttons=[{"title": first_label, "payload": f"/{pair[0]}"},
                 {"title": second_label, "payload": f"/{pair[1]}"}],
    )
