"""The hand-off API for the channels (webchat, Telegram, email): service token only.

When the assistant escalates (POST /api/v1/cases with the conversation_id), the conversation is
*paused for a person* until staff hand it back or resolve the case. A channel does this with
every message a member sends, keyed by the channel's conversation id (the Rasa sender id):

1. ``GET /api/v1/conversations/{conversation_id}/handoff`` says who the member is talking to:

   - ``state`` ``assistant``: pass the message to Rasa as usual.
   - ``waiting_for_staff`` (escalated, nobody has taken it yet) or ``with_staff`` (a named
     person has it): ``paused`` is true. Do NOT pass the message to Rasa; post it with
     ``POST .../member-messages`` ``{"text": ...}`` so it appears in the console. The answer
     has ``case_reference``, ``team_name`` and (with_staff) ``staff_name``.
   - ``handed_back``: staff gave the conversation back. ``handback`` carries what they learned
     (``note``, ``intent``, ``identity_level``, ``collected_values``); give it to the
     assistant (for instance as slots), then confirm with ``POST .../handoff/resumed``, after
     which the state is ``assistant`` again. Pass the member's message to Rasa.

2. Staff messages reach the member on their own channel. Poll
   ``GET /api/v1/conversations/{conversation_id}/staff-messages`` (every couple of seconds for
   a live webchat; on each update and on a timer for Telegram): it lists staff messages not yet
   delivered, oldest first (``id``, ``text``, ``staff_name``, ``case_reference``,
   ``sent_at``). The first is "<name> from the <team> team has joined the conversation.", the
   last after a hand-back "<name> has passed you back to the membership assistant.". Show them
   as sent by ``staff_name``, then ``POST .../staff-messages/delivered``
   ``{"message_ids": [...]}``; a message stays in the list until it is marked, so a channel
   that crashes before marking delivers it again rather than losing it.

   Email cases need no polling: the records API puts staff messages on a case opened from the
   email channel straight into the outbox, addressed to the member, and marks them delivered.

3. ``POST /api/v1/conversations/{conversation_id}/turns`` ``{"channel", "intent",
   "fallback"}`` counts one member turn for the dashboard (conversations per day by channel,
   outcomes, escalation and misunderstanding rates). Send it for every member message the assistant
   handled; ``fallback`` true when the assistant did not understand. Words are never sent.

Every route answers 401 without a token and 403 to a member-scoped or staff token.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.conversations import service
from api.conversations.schemas import (
    Delivered,
    DeliveredCount,
    HandbackPublic,
    HandoffPublic,
    MemberMessage,
    MemberMessageAdded,
    StaffMessagePublic,
    StaffMessages,
    Turn,
    TurnCounted,
)
from api.deps import ChannelDep, ServiceCaller, SessionDep

router = APIRouter(tags=["conversations"])

ConversationId = Annotated[str, Path(min_length=1, max_length=200)]
_BASE = "/conversations/{conversation_id}"


def _handoff_public(db: SessionDep, conversation_id: str) -> HandoffPublic:
    """Who has the conversation now, as the channels are told it."""
    state = service.handoff(db_session=db, conversation_id=conversation_id)
    case = state.case
    handback = None
    if state.state == "handed_back" and case is not None:
        handback = HandbackPublic(
            note=case.handback_note,
            intent=case.intent,
            identity_level=case.identity_level,
            collected_values=case.collected_values or {},
            handed_back_at=case.handed_back_at,
        )
    return HandoffPublic(
        conversation_id=conversation_id,
        state=state.state,
        paused=state.paused,
        case_reference=case.reference if case is not None and state.state != "assistant" else None,
        team_name=state.team_name if state.state != "assistant" else None,
        staff_name=state.staff_name if state.state != "assistant" else None,
        handback=handback,
    )


@router.get(_BASE + "/handoff", response_model=HandoffPublic)
def get_handoff(
    conversation_id: ConversationId, _caller: ServiceCaller, db: SessionDep
) -> HandoffPublic:
    """Who the member is talking to: the assistant, or a person (paused)."""
    return _handoff_public(db, conversation_id)


@router.post(_BASE + "/handoff/resumed", response_model=HandoffPublic)
def confirm_resumed(
    conversation_id: ConversationId, caller: ServiceCaller, db: SessionDep
) -> HandoffPublic:
    """The assistant has taken what staff handed back; the conversation is its own again."""
    service.confirm_resumed(db_session=db, conversation_id=conversation_id, actor=caller.actor)
    return _handoff_public(db, conversation_id)


@router.get(_BASE + "/staff-messages", response_model=StaffMessages)
def staff_messages(
    conversation_id: ConversationId, _caller: ServiceCaller, db: SessionDep
) -> StaffMessages:
    """Staff messages waiting to be delivered to the member, oldest first."""
    return StaffMessages(
        messages=[
            StaffMessagePublic(
                id=message.id, case_reference=case.reference, staff_name=name,
                text=message.text, sent_at=message.sent_at,
            )
            for message, case, name in service.undelivered_staff_messages(
                db_session=db, conversation_id=conversation_id
            )
        ]
    )


@router.post(_BASE + "/staff-messages/delivered", response_model=DeliveredCount)
def staff_messages_delivered(
    conversation_id: ConversationId, body: Delivered, _caller: ServiceCaller, db: SessionDep
) -> DeliveredCount:
    """The channel delivered these staff messages to the member."""
    marked = service.mark_delivered(
        db_session=db, conversation_id=conversation_id, message_ids=body.message_ids
    )
    return DeliveredCount(marked=marked)


@router.post(_BASE + "/member-messages", response_model=MemberMessageAdded, status_code=201)
def member_message(
    conversation_id: ConversationId,
    body: MemberMessage,
    caller: ServiceCaller,
    channel: ChannelDep,
    db: SessionDep,
) -> MemberMessageAdded:
    """The member's message while a person has the conversation (409 when nobody has it)."""
    message = service.member_message(
        db_session=db, conversation_id=conversation_id, text=body.text, actor=caller.actor,
        channel=channel,
    )
    state = service.handoff(db_session=db, conversation_id=conversation_id)
    assert state.case is not None
    return MemberMessageAdded(
        id=message.id, case_reference=state.case.reference, sent_at=message.sent_at
    )


@router.post(_BASE + "/turns", response_model=TurnCounted, status_code=201)
def count_turn(
    conversation_id: ConversationId, body: Turn, _caller: ServiceCaller, db: SessionDep
) -> TurnCounted:
    """Count one member turn the assistant handled (for the dashboard)."""
    found = service.record_turn(
        db_session=db, conversation_id=conversation_id, channel=body.channel,
        intent=body.intent, fallback=body.fallback, misunderstood=body.misunderstood,
        request_started=body.request_started, resolved=body.resolved,
    )
    return TurnCounted(conversation_id=found.conversation_id, member_turns=found.member_turns)
