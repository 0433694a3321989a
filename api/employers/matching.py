"""Matching the employer and workplace a member types to the names on our list.

Members write "st james hosp" for "St James's Hospital" and "northshire nhs" for "Northshire
NHS Trust". Employment decides ballot constituencies, so a guess is never applied silently:
the matcher says how sure it is and callers decide (an exact match may be used as it is, a
likely one is offered for confirmation, several choices are read back to the member).

Pure functions over plain names, so they are cheap to test with real misspellings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

MatchStatus = Literal["exact", "likely", "choices", "none"]

# Best score at or above which one candidate is offered on its own, if no other is close.
LIKELY_SCORE = 0.78
# How far ahead of the runner-up the best candidate must be to count as "likely".
LIKELY_MARGIN = 0.06
# Candidates scoring below this are not worth reading back to a member.
CHOICE_FLOOR = 0.45
MAX_CHOICES = 3
# Two tokens are the same word misspelt when difflib rates them at least this similar.
_TOKEN_SIMILARITY = 0.75

_STOP_WORDS = frozenset({"the", "of", "and", "at"})
# Spelled-out and abbreviated forms that mean the same word in employer names.
_SYNONYMS = {"saint": "st", "&": "and", "ft": "foundation trust", "univ": "university"}
_RANK = {"exact": 3, "likely": 2, "choices": 1, "none": 0}


@dataclass(frozen=True)
class Choice:
    """One candidate to read back to the member."""

    employer: str
    workplace: str | None = None


@dataclass(frozen=True)
class EmploymentMatch:
    """How the typed employer (and workplace) matched our list."""

    status: MatchStatus
    employer: str | None = None
    workplace: str | None = None
    choices: tuple[Choice, ...] = ()


def normalise_name(raw: str) -> tuple[str, ...]:
    """'St. James's Hospital' -> ('st', 'james', 'hospital')."""
    text = (raw or "").lower().replace("\u2019", "'").replace("&", " and ")
    # A possessive is not part of the name: "St James's" and "St James" are the same place.
    text = re.sub(r"'s\b", "", text).replace("'", "")
    words: list[str] = []
    for word in re.split(r"[^0-9a-z]+", text):
        if not word:
            continue
        words.extend(_SYNONYMS.get(word, word).split())
    return tuple(w for w in words if w not in _STOP_WORDS)


def _token_similarity(typed: str, known: str) -> float:
    if typed == known:
        return 1.0
    shorter, longer = sorted((typed, known), key=len)
    # "hosp" for "hospital", "gen" for "general": abbreviations, nearly as good as the word.
    if len(shorter) >= 3 and longer.startswith(shorter):
        return 0.9
    ratio = SequenceMatcher(None, typed, known).ratio()
    # Squared so that one misspelt word costs more than a missing generic word like "trust".
    return ratio * ratio if ratio >= _TOKEN_SIMILARITY else 0.0


def similarity(typed: str, known: str) -> float:
    """0..1: how likely `typed` is a member's rendering of the name `known`."""
    typed_tokens, known_tokens = normalise_name(typed), normalise_name(known)
    if not typed_tokens or not known_tokens:
        return 0.0
    if typed_tokens == known_tokens or "".join(typed_tokens) == "".join(known_tokens):
        return 1.0
    # Precision: is each word the member typed in the name? Recall: is the name's each word
    # covered? Members leave words out far more often than they add wrong ones.
    precision = sum(max(_token_similarity(t, k) for k in known_tokens) for t in typed_tokens)
    recall = sum(max(_token_similarity(t, k) for t in typed_tokens) for k in known_tokens)
    token_score = 0.7 * precision / len(typed_tokens) + 0.3 * recall / len(known_tokens)
    # The whole-string ratio catches words run together or split ("north shire").
    whole = SequenceMatcher(None, "".join(typed_tokens), "".join(known_tokens)).ratio()
    return 0.8 * token_score + 0.2 * whole


def is_same_name(typed: str, known: str) -> bool:
    """True when the two differ only in case, punctuation, spacing or possessives."""
    typed_tokens = normalise_name(typed)
    return bool(typed_tokens) and (
        typed_tokens == normalise_name(known)
        or "".join(typed_tokens) == "".join(normalise_name(known))
    )


@dataclass(frozen=True)
class _Ranked:
    status: MatchStatus
    best: str | None
    candidates: tuple[str, ...]


def _rank(typed: str, names: Sequence[str]) -> _Ranked:
    exact = [name for name in names if is_same_name(typed, name)]
    if len(exact) == 1:
        return _Ranked("exact", exact[0], (exact[0],))
    scored = sorted(
        ((similarity(typed, name), name) for name in names), key=lambda s: (-s[0], s[1])
    )
    scored = [(score, name) for score, name in scored if score >= CHOICE_FLOOR]
    if not scored:
        return _Ranked("none", None, ())
    best_score, best = scored[0]
    runner_up = scored[1][0] if len(scored) > 1 else 0.0
    if best_score >= LIKELY_SCORE and best_score - runner_up >= LIKELY_MARGIN:
        return _Ranked("likely", best, (best,))
    return _Ranked("choices", None, tuple(name for _, name in scored[:MAX_CHOICES]))


def _weaker(a: MatchStatus, b: MatchStatus) -> MatchStatus:
    return a if _RANK[a] <= _RANK[b] else b


def match_employment(
    *, employer: str | None, workplace: str | None, known: Mapping[str, Sequence[str]]
) -> EmploymentMatch:
    """Match a typed employer and/or workplace against `known` (employer -> its workplaces)."""
    employer = (employer or "").strip()
    workplace = (workplace or "").strip()
    if not employer and not workplace:
        return EmploymentMatch("none")
    if not employer:
        return _match_workplace_anywhere(workplace, known)

    by_employer = _rank(employer, list(known))
    if by_employer.status == "none":
        return EmploymentMatch("none")
    if by_employer.status == "choices":
        return EmploymentMatch(
            "choices",
            choices=tuple(
                Choice(name, _best_workplace(workplace, known[name]))
                for name in by_employer.candidates
            ),
        )
    matched_employer = by_employer.best
    assert matched_employer is not None
    if not workplace:
        return EmploymentMatch(by_employer.status, employer=matched_employer)

    by_workplace = _rank(workplace, known[matched_employer])
    status = _weaker(by_employer.status, by_workplace.status)
    if by_workplace.status in ("exact", "likely"):
        return EmploymentMatch(status, employer=matched_employer, workplace=by_workplace.best)
    return EmploymentMatch(
        status,
        employer=matched_employer,
        choices=tuple(Choice(matched_employer, w) for w in by_workplace.candidates),
    )


def _best_workplace(typed: str, workplaces: Sequence[str]) -> str | None:
    if not typed:
        return None
    ranked = _rank(typed, workplaces)
    return ranked.best if ranked.status in ("exact", "likely") else None


def _match_workplace_anywhere(typed: str, known: Mapping[str, Sequence[str]]) -> EmploymentMatch:
    # A member may name only where they work ("I'm at St James's"); the same workplace name
    # can exist under two employers, so a pair is only certain when it is unique.
    pairs = [(employer, workplace) for employer, places in known.items() for workplace in places]
    ranked = _rank(typed, sorted({workplace for _, workplace in pairs}))
    if ranked.status in ("exact", "likely"):
        owners = [employer for employer, workplace in pairs if workplace == ranked.best]
        if len(owners) == 1:
            return EmploymentMatch(ranked.status, employer=owners[0], workplace=ranked.best)
        return EmploymentMatch(
            "choices", choices=tuple(Choice(e, ranked.best) for e in owners[:MAX_CHOICES])
        )
    choices: list[Choice] = []
    for name in ranked.candidates:
        choices.extend(Choice(e, w) for e, w in pairs if w == name)
    return EmploymentMatch(ranked.status, choices=tuple(choices[:MAX_CHOICES]))
