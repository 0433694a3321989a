"""Reading a member's answer to a yes-or-no question, and their wish to stop.

Members answer "Shall I update your record?" in every way but "yes": "yeah go on", "no
thanks, please cancel it", "hang on, is the flat number in there?". The intent NLU gives a
message like that says little, so the words are read here, and an answer that says both yes
and no, or neither, is reported as such for the caller to ask again: never guessed.
This module reads text only; it never talks to the member or the records API.
"""

from __future__ import annotations

import re
from enum import Enum

_YES = re.compile(
    r"\b(y+e+s+|yeah|yea|yep|yup|ya|aye|ok|okay|k|sure|correct|please do|go ahead|go on|"
    r"do it|confirm(?:ed)?|sounds good|perfect|spot on|all good|that'?s (?:it|right|fine|"
    r"correct)|all right|alright|update it|change it|go for it|absolutely|definitely)\b",
    re.IGNORECASE,
)
_NO = re.compile(
    # "don't" is a no, but "I don't get it" is not an answer at all.
    r"\b(no|nope|nah|(?:don'?t|do not)(?! (?:get|know|understand|see|follow|think|mind)\b)|"
    r"not now|not yet|wrong|incorrect|not right|hold off)\b",
    re.IGNORECASE,
)
# A message that is only a wish to stop: "cancel", "oh forget it", "start again please".
# Whole messages only, so "stop sending me marketing" stays an answer to the question asked.
_STOP = re.compile(
    r"^(?:(?:oh|ok|okay|actually|no|sorry|please|just|erm|um)[\s,]*)*"
    r"(?:cancel(?: (?:it|that|this|everything))?|forget (?:it|that|this|about it)|"
    r"start (?:again|over)|never ?mind|scrap (?:it|that|this)|stop(?: (?:it|this|that))?|"
    r"leave it)"
    r"(?:[\s,]*(?:please|thanks|thank you|then|now))*[\s.!]*$",
    re.IGNORECASE,
)
# Not knowing is not a no: "no idea", "dunno", "not sure".
_UNSURE = re.compile(
    r"\b(dunno|not sure|unsure|no idea|don'?t (?:know|understand|get it)|confused|pardon|huh)\b",
    re.IGNORECASE,
)
_QUESTION = re.compile(
    r"\?|^\s*(?:is|are|does|do|can|will|would|what|why|how|where|when|which|did|has|have)\b",
    re.IGNORECASE,
)


# Answers that mean "leave this one as it is", at a question that says it can be skipped.
SKIP_WORDS = frozenset({"skip", "same", "no change", "unchanged", "n/a", "na", "none", "no",
                        "pass", "skip it", "skip that", "no idea", "dont know", "don't know",
                        "same as before", "hasn't changed", "hasnt changed", "not changed"})


def is_question(text: str) -> bool:
    """A question rather than a value: "will my subs change?", "do I need a certificate"."""
    words = " ".join((text or "").split())
    return "?" in words or (bool(_QUESTION.match(words)) and len(words.split()) >= 3)


def is_skip(text: str) -> bool:
    """The whole message says to skip the question ("skip", "same", "n/a")."""
    return " ".join((text or "").lower().strip(" .!").split()) in SKIP_WORDS


class Reading(Enum):
    """What an answer at a confirmation says."""

    YES = "yes"
    NO = "no"
    # Yes and no at once ("no thanks, please cancel it"): ask a question that cannot be
    # misread.
    MIXED = "mixed"
    STOP = "stop"
    # A value changed ("actually the postcode is BS1 4JP").
    CORRECTED = "corrected"
    # Neither yes nor no (a question, something else): ask again with the values.
    UNCLEAR = "unclear"


def is_stop(text: str) -> bool:
    """The whole message asks to stop what is going on ("cancel", "forget it")."""
    return bool(_STOP.match(" ".join((text or "").split())))


def read_answer(
    text: str,
    intent: str | None,
    *,
    corrected: bool = False,
    ambiguous_words: re.Pattern[str] | None = None,
) -> Reading:
    """Read an answer to "shall I ...?".

    `corrected` says the message changed a value; `ambiguous_words` are words that may ask
    for the change itself or for stopping it ("cancel" when the question is "shall I cancel
    your membership?"): alone, or beside a no, they make the answer one to check.
    """
    if corrected:
        return Reading.CORRECTED
    words = " ".join((text or "").replace("’", "'").split())
    yes, no = bool(_YES.search(words)), bool(_NO.search(words))
    both_ways = bool(ambiguous_words and ambiguous_words.search(words))
    if both_ways:
        return Reading.YES if yes and not no else Reading.MIXED
    if _QUESTION.search(words) or _UNSURE.search(words):
        return Reading.UNCLEAR
    if is_stop(words):
        return Reading.STOP
    if yes and no:
        return Reading.MIXED
    if yes or no:
        return Reading.YES if yes else Reading.NO
    # No word of either kind: a short message NLU read as a clear yes or no ("yh", "ys pls")
    # is taken as that; anything longer is not a guess worth making.
    if len(words.split()) <= 3 and intent in ("affirm", "deny"):
        return Reading.YES if intent == "affirm" else Reading.NO
    return Reading.UNCLEAR
