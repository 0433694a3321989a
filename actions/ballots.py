"""Ballots and industrial action: can I vote, where is my paper, when does it close."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.api_client import RecordsApi
from actions.base import MemberAction
from actions.conversation import channel_of, member_api, verified_number
from actions.formatting import when, with_reference
from bot.records import RecordsApiRefused


def describe_ballot(ballot: dict[str, Any]) -> str:
    thresholds = ballot.get("thresholds") or {}
    parts = [
        f'{ballot["title"]} ({ballot["code"]}): "{ballot["question"]}"',
        f"{ballot['method'].capitalize()} ballot, open {when(ballot['opens_on'])} to "
        f"{when(ballot['closes_on'])}. Members employed by "
        f"{', '.join(ballot['employers'])} on {when(ballot['register_date'])} take part.",
    ]
    if thresholds.get("turnout_percent"):
        parts.append(
            f"For the result to count, at least {thresholds['turnout_percent']}% of "
            f"those entitled to vote must vote."
        )
    if thresholds.get("support_percent"):
        parts.append(
            f"Action also needs the support of at least {thresholds['support_percent']}% "
            f"of those entitled to vote."
        )
    if ballot.get("details"):
        parts.append(ballot["details"])
    return " ".join(parts)


async def current_ballots(tracker: Tracker) -> list[dict[str, Any]]:
    api = RecordsApi.as_service(channel=channel_of(tracker))
    ballots: list[dict[str, Any]] = await api.get("/ballots", state="open")
    ballots += await api.get("/ballots", state="upcoming")
    return ballots


class BallotInfo(MemberAction):
    def name(self) -> str:
        return "action_ballot_info"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        ballots = await current_ballots(tracker)
        if not ballots:
            dispatcher.utter_message(
                text="There are no ballots open at the moment. We'll "
                "write to every member who is entitled to vote "
                "when the next one opens."
            )
            return []
        dispatcher.utter_message(text="\n\n".join(describe_ballot(b) for b in ballots))
        return []


class IndustrialActionInfo(MemberAction):
    """Facts from each ballot's own configuration, never legal advice."""

    def name(self) -> str:
        return "action_industrial_action_info"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        ballots = await current_ballots(tracker)
        details = [f"{b['title']}: {b['details']}" for b in ballots if b.get("details")]
        text = (
            "\n".join(details) if details else "No industrial action has been called at the moment."
        )
        dispatcher.utter_message(
            text=text + "\nAction can only be called after a lawful ballot, and the union gives "
            "members written notice of any strike dates. For questions about your "
            "own position (strike pay, whether you must take part, protection from "
            "discipline) your local representative or the team can help: just ask "
            "for a person."
        )
        return []


class BallotEligibility(MemberAction):
    def name(self) -> str:
        return "action_ballot_eligibility"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        results = await member_api(tracker).get(f"/members/{verified_number(tracker)}/ballots")
        if not results:
            dispatcher.utter_message(text="There are no ballots open or coming up at the moment.")
            return []
        # Members ask about the ballot that is running; closed ones only when nothing runs.
        current = [r for r in results if r["state"] in ("open", "upcoming")] or results
        lines = [
            f"{r['ballot_title']}: "
            f"{'yes, you can vote' if r['eligible'] else 'you are not entitled to vote'}. "
            f"{r['reason']}"
            for r in current
        ]
        dispatcher.utter_message(text="\n".join(lines))
        return []


class BallotPaperMissing(MemberAction):
    """Check eligibility, show the address on file, and ask the scrutineer for a new paper."""

    def name(self) -> str:
        return "action_ballot_paper_missing"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        api = member_api(tracker)
        number = verified_number(tracker)
        results = await api.get(f"/members/{number}/ballots")
        open_ballots = [r for r in results if r["state"] == "open"]
        if not open_ballots:
            dispatcher.utter_message(
                text="There's no ballot open at the moment, so there's no paper to replace."
            )
            return []
        eligible = [r for r in open_ballots if r["eligible"]]
        if not eligible:
            dispatcher.utter_message(
                text="You're not entitled to vote in the open ballot, so no paper was sent: "
                + " ".join(r["reason"] for r in open_ballots)
            )
            return []
        events: list[EventType] = []
        for ballot in eligible:
            try:
                paper = await api.post(
                    f"/members/{number}/ballots/{ballot['ballot_code']}/replacement-paper"
                )
            except RecordsApiRefused as exc:
                if exc.status not in (409, 422):
                    raise
                dispatcher.utter_message(text=exc.detail)
                continue
            dispatcher.utter_message(
                text=f"{with_reference(paper['message'], paper['reference'])} If that "
                f"address is wrong, tell me you've moved and I'll update it."
            )
            events.append(SlotSet("last_reference", paper["reference"]))
        return events
