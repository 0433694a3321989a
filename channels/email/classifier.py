"""Classifying an email with the assistant's own NLU model, loaded once per process."""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MODEL = ROOT / "models/memberdesk.tar.gz"
# The NLU model was trained on chat turns: the opening of an email says what it is about, and
# the rest (history, detail, sign-off) mostly adds noise and time.
NLU_TEXT_CHARACTERS = 600
FALLBACK_INTENT = "nlu_fallback"
# Below this, even the best guess is left to the general membership team.
ROUTING_MIN_CONFIDENCE = 0.2

_MEMBERSHIP_NUMBER = re.compile(r"(?<![\d£])\d{7}(?!\d)")
_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE)
_PHONE = re.compile(
    r"(?<!\d)(?:\+44\s?|0)7\d{3}\s?\d{6}(?!\d)|(?<!\d)0[1-3]\d{2,3}\s?\d{3}\s?\d{3,4}(?!\d)"
)


class ModelMissing(RuntimeError):
    """There is no trained model where the classifier was told to look."""


@dataclass(frozen=True)
class Classification:
    intent: str | None
    confidence: float
    entities: dict[str, str]
    ranking: list[dict[str, Any]] = field(default_factory=list)


def model_path() -> Path:
    """MEMBERDESK_MODEL, or the model `make train` writes."""
    configured = os.environ.get("MEMBERDESK_MODEL")
    return Path(configured) if configured else DEFAULT_MODEL


def nlu_text(subject: str, body: str) -> str:
    """What the model reads: the subject, then the opening of the cleaned body."""
    subject = " ".join(subject.split())
    while subject[:3].lower() in ("re:", "fw:") or subject[:4].lower() == "fwd:":
        subject = subject.split(":", 1)[1].strip()
    opening = " ".join(body.split())[:NLU_TEXT_CHARACTERS]
    return f"{subject}. {opening}".strip(". ") if subject else opening


def pattern_entities(text: str) -> dict[str, str]:
    """Membership number, postcode and phone found by pattern (the model may miss them in long
    text)."""
    found: dict[str, str] = {}
    for name, pattern in (("membership_number", _MEMBERSHIP_NUMBER), ("postcode", _POSTCODE),
                          ("phone", _PHONE)):
        match = pattern.search(text)
        if match:
            found[name] = " ".join(match[0].split()).upper() if name == "postcode" else match[0]
    return found


class NluClassifier:
    """The trained assistant's NLU pipeline; `classify` takes ~10 ms once loaded."""

    def __init__(self, path: Path | None = None) -> None:
        path = path or model_path()
        if not path.exists():
            raise ModelMissing(f"no trained model at {path}; run `make train`")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        logging.getLogger("rasa").setLevel(logging.WARNING)
        import structlog

        # Rasa logs every parse, email text included, at debug level: members' words do not
        # belong in a log, and formatting them costs a third of the parse time.
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
        from rasa.core.agent import Agent

        self._agent = Agent.load(str(path))

    def close(self) -> None:
        """Nothing to release today; kept so callers do not depend on that."""

    def parse_many(self, texts: list[str]) -> list[dict[str, Any]]:
        """Rasa's parse of each text (intent, ranking, entities), in one pass of the graph.

        The graph's components all take a list of messages: a batch shares the per-run
        overhead and the vectorised featurisers, about a quarter faster than one at a time.
        """
        from rasa.core.channels.channel import UserMessage
        from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
        from rasa.shared.core.trackers import DialogueStateTracker

        if not texts:
            return []
        processor = self._agent.processor
        assert processor is not None  # Agent.load always makes one
        target = processor.model_metadata.nlu_target
        results = processor.graph_runner.run(
            inputs={
                PLACEHOLDER_MESSAGE: [UserMessage(text) for text in texts],
                PLACEHOLDER_TRACKER: DialogueStateTracker.from_events("email-triage", []),
            },
            targets=[target],
        )
        return [message.as_dict(only_output_properties=True) for message in results[target]]

    def classify(self, subject: str, body: str) -> Classification:
        """The intent of an email, with its confidence and the entities in it."""
        return self.classify_many([(subject, body)])[0]

    def classify_many(self, emails: list[tuple[str, str]]) -> list[Classification]:
        """classify() for a batch of (subject, body) pairs."""
        texts = [nlu_text(subject, body) for subject, body in emails]
        wanted = [text for text in texts if text]
        parsed = iter(self.parse_many(wanted))
        return [
            _classification(next(parsed), subject, body)
            if text else Classification(intent=None, confidence=0.0, entities={})
            for text, (subject, body) in zip(texts, emails, strict=True)
        ]


def _classification(parsed: dict[str, Any], subject: str, body: str) -> Classification:
    intent = parsed.get("intent") or {}
    entities: dict[str, str] = {}
    for entity in parsed.get("entities") or []:
        kind, value = str(entity.get("entity", "")), entity.get("value")
        if kind and value is not None and kind not in entities:
            entities[kind] = str(value)[:200]
    for kind, found in pattern_entities(f"{subject}\n{body}").items():
        entities.setdefault(kind, found)
    ranking = [
        {"intent": item.get("name"), "confidence": round(float(item.get("confidence", 0)), 4)}
        for item in (parsed.get("intent_ranking") or [])[:3]
    ]
    name: str | None = intent.get("name")
    confidence = float(intent.get("confidence") or 0.0)
    if name == FALLBACK_INTENT:
        # Chat falls back below the pipeline's threshold to ask again; an email cannot be
        # asked again, and the best guess still picks a better team than none (the answer
        # threshold in the records API keeps a guess from being answered automatically).
        best = next((item for item in ranking if item["intent"] != FALLBACK_INTENT), None)
        if best is not None and best["confidence"] >= ROUTING_MIN_CONFIDENCE:
            name, confidence = str(best["intent"]), float(best["confidence"])
    return Classification(
        intent=name,
        confidence=round(confidence, 4),
        entities=entities,
        ranking=ranking,
    )
