"""Whether what a member typed is an answer at all, or a reply to the conversation.

A form that asks "which town?" takes whatever text comes back, so "yes", "cancel" or "I want
to change my address" would be stored as the town. These are refused before any value is.
"""

from __future__ import annotations

import re
from typing import Any

# Replies to a question rather than answers to it; compared lower-cased, punctuation dropped.
CONVERSATION_WORDS = frozenset(
    {
        "yes", "y", "yeah", "yep", "yup", "yes please", "ye", "yh", "no", "n", "nope", "nah",
        "no thanks", "ok", "okay", "k", "sure", "correct", "thats right", "right", "wrong",
        "cancel", "stop", "quit", "exit", "help", "back", "skip", "undo", "restart",
        "start again", "menu", "agent", "human", "hi", "hello", "hey", "thanks", "thank you",
        "cheers", "ta", "none", "na", "n a", "nothing", "same", "same as before", "idk",
        "dunno", "dont know", "i dont know", "not sure", "what", "why", "pardon", "sorry",
    }
)
# Words of a request about the record, never part of a town's or a street's name.
REQUEST_WORDS = frozenset(
    {
        "address", "postcode", "post code", "change", "changed", "update", "updated", "moved",
        "move", "moving", "want", "need", "please", "phone", "email", "number", "details",
        "membership", "member",
    }
)


def tidy_text(value: Any, *, max_length: int) -> str | None:
    """What the member typed with its spacing tidied, if it is not empty and not too long."""
    text = " ".join(str(value or "").split())
    return text if 0 < len(text) <= max_length else None


def _plain(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower().replace("'", "")).split())


def is_conversation_reply(text: str) -> bool:
    """'yes', 'no', 'ok', 'dunno'...: a reply to the conversation, not a value."""
    return _plain(text) in CONVERSATION_WORDS


def mentions_a_request(text: str) -> bool:
    """The text talks about changing the record ('change my address') rather than giving it."""
    words = _plain(text).split()
    return any(word in REQUEST_WORDS for word in words) or "post code" in " ".join(words)
