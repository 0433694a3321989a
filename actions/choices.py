"""Choices members make in words: the buttons' labels typed, or said their own way.

A question with buttons ("What's changing?", "How would you like to pay?") is answered by
typing on Telegram and email, and often in the webchat too: "Retiring", "I'm retiring on 31
December", "part time from January". Each option is found by its own words; an answer that
names two different options is no answer, so the question is asked again rather than guessed.
Start dates said without a year ("from January") are read here too. Text only: no API calls.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from dateutil import parser

from actions import parsing

Options = dict[str, re.Pattern[str]]


def options(**words: str) -> Options:
    """Options by name, each with the words (a regular expression) that mean it."""
    return {name: re.compile(rf"\b(?:{pattern})", re.IGNORECASE) for name, pattern in words.items()}


# "through my wages instead of direct debit": what follows names the option not wanted.
_NOT_WANTED = re.compile(r"\b(?:instead of|rather than|not by|no more|not)\b.*$", re.IGNORECASE)


def chosen(text: str, among: Options) -> str | None:
    """The one option `text` names, or None when it names none or several.

    An option named only after "instead of" or "rather than" is the one being left.
    """
    text = text or ""
    named = {name for name, words in among.items() if words.search(text)}
    if len(named) > 1:
        wanted = _NOT_WANTED.sub("", text)
        named = {name for name, words in among.items() if words.search(wanted)}
    return named.pop() if len(named) == 1 else None


CIRCUMSTANCES = options(
    retirement=r"retir|pension|stop(?:ping)? work",
    parental_leave=r"parental|maternity|paternity|adopt|mat leave|having a baby|new baby",
    unemployment=r"unemploy|redundan|lost my job|out of work|laid off|job ?seeker|jobless",
    career_break=r"career break|sabbatical|break from work|time out from work",
    part_time=r"part[- ]?time|(?:reduc\w*|fewer|less|cut\w*(?: down)?) (?:my )?hours|"
    r"\d days? a week",
    student=r"student|stud(?:y|ying|ies)\b|universit|\buni\b|college|full[- ]time education",
)
PAYMENT_METHODS = options(
    payroll=r"payroll|check[- ]?off|wages|pay ?slip|salary|from my pay|deduct|through work|"
    r"(?:via|through) (?:my )?employer",
    direct_debit=r"direct debit|\bdd\b|bank|debit|mandate",
)

_MONTH = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
# "May" is a month only with a day or after "in"/"from"/"on"/"of"/"by" ("I may retire" is not).
_MONTH_NAMED = re.compile(
    rf"\b(?:{_MONTH})\b|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?may\b|"
    r"\b(?:in|from|on|of|by|end of|start of)\s+may\b",
    re.IGNORECASE,
)
# Not parts of a date: "3 days a week", "25 hours".
_NOT_DATES = re.compile(r"\b\d+\s*(?:days?|hours?|hrs?|weeks?)\b", re.IGNORECASE)
_NOW = re.compile(r"\b(today|now|already|immediately|straight away|from tomorrow)\b", re.I)


def _first_of_next_month(today: date) -> date:
    return (today.replace(day=1) + timedelta(days=32)).replace(day=1)


def starting_date(text: str, *, today: date | None = None) -> date | None:
    """When a change starts, as members say it: 01/03/2027, 31 December, from January, next
    month, now. A day and month without a year is the next one to come."""
    today = today or date.today()
    text = text or ""
    if whole := parsing.parse_date(text, today=today):
        return whole
    if re.search(r"\bnext month\b", text, re.I):
        return _first_of_next_month(today)
    if re.search(r"\bend of (?:the |this )?year\b", text, re.I):
        return date(today.year, 12, 31)
    if _MONTH_NAMED.search(text):
        try:
            # The first of the month unless a day was given ("from January": 1 January).
            found = parser.parse(
                _NOT_DATES.sub(" ", text),
                fuzzy=True,
                dayfirst=True,
                default=datetime(today.year, 1, 1),
            ).date()
        except (ValueError, OverflowError):
            return None
        return found if found >= today else found.replace(year=found.year + 1)
    if _NOW.search(text):
        return today
    return None
