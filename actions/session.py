"""Session start: a member the channel has already verified starts the session verified."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.api_client import RecordsApi
from actions.base import MemberAction
from actions.conversation import channel_of
from actions.identity import verified_events
from bot.identity import channel_of_conversation, identity_in, signed_identity
from bot.records import RecordsApiError
from bot.settings import get_settings


class SessionStart(MemberAction):
    def name(self) -> str:
        return "action_session_start"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events: list[EventType] = [SessionStarted()]
        metadata = tracker.get_slot("session_started_metadata")
        # The conversation's own namespace says its channel: at the start of a session the
        # member's first message, which carries the input channel, is not in the tracker yet.
        channel = channel_of_conversation(tracker.sender_id)
        number = signed_identity(metadata, secret=get_settings().channel_secret,
                                 conversation_id=tracker.sender_id, channel=channel)
        if number:
            # The API checks the channel's signature itself: the service token alone never
            # gets a member's token.
            try:
                answer = await RecordsApi.as_service(channel=channel or channel_of(tracker)).post(
                    "/identity/signed-in", {
                        "membership_number": number,
                        "assertion": identity_in(metadata),
                        "conversation_id": tracker.sender_id,
                        "channel": channel,
                    }
                )
                events += verified_events(answer)
            except RecordsApiError:
                # Not fatal: the member is asked the identity questions instead.
                pass
        return [*events, ActionExecuted("action_listen")]
