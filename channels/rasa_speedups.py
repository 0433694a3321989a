"""Two fixes to Rasa 3.6.21's own hot paths, for the process that serves members.

A profile of Rasa under eight members (docs/benchmarks.md) put a third of its CPU into three
pieces of repeated work whose result never changes:

- Every action-server reply is checked with `jsonschema.validate()`, which first re-checks
  Rasa's constant reply schema against the JSON Schema meta-schema (13 % of Rasa's time).
  `fast_reply_validation()` builds the validator once; the reply is checked exactly as before
  and a bad one raises the same `ValidationError`.
- Turning a stored conversation back into events looks up each event's class by walking every
  subclass of `Event`, recursively, once per event (13 %: a conversation is read from the
  tracker store several times a turn). `cached_event_types()` remembers the name-to-class
  answers it has found; a name it has not found goes the original way, so an unknown event
  still raises as before.
- Before each prediction the rule policy tests every one of its rules (547 of ours) against
  the conversation's latest state. `indexed_rule_lookup()` files the rules by the action their
  last state follows, and tests only those that could match, with Rasa's own test: the same
  rules come out, ten times faster (0.08 ms against 0.84 ms for each look-up).

All three replace a method of a class Rasa already imported; `install()` does so once, only on the
Rasa release whose code they were written against, and leaves any other release alone (with a
log line) rather than guess. Every member channel calls `install()` when Rasa builds its
blueprint, as the server starts, so they are in place before Rasa handles a message.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

# The release whose RemoteAction._validate_action_result, Event.resolve_by_type and
# RulePolicy._get_possible_keys these replacements were written against.
RASA_RELEASE = "3.6.21"
_installed = False


def fast_reply_validation() -> None:
    """Check action-server replies with a validator built once, not once per reply."""
    from jsonschema import ValidationError
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        # As jsonschema.validate() does after its schema check: the most relevant error wins.
        error = best_match(validator.iter_errors(result))
        if error is None:
            return True
        assert isinstance(error, ValidationError)
        error.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error

    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]


def cached_event_types() -> None:
    """Remember which `Event` class each event name found, instead of searching every time."""
    from rasa.shared.core.events import Event

    original = Event.resolve_by_type
    found: dict[str, type[Event]] = {}

    def resolve_by_type(
        type_name: str, default: type[Event] | None = None
    ) -> type[Event] | None:
        cls = found.get(type_name)
        if cls is not None:
            return cls
        cls = original(type_name, default)
        # Only a class of that very name is kept: a default handed back for an unknown name
        # is not, so a class imported later is still found.
        if cls is not None and getattr(cls, "type_name", None) == type_name:
            found[type_name] = cls
        return cls

    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[assignment,method-assign]


def indexed_rule_lookup() -> None:
    """Test the conversation's latest state only against rules that follow the same action."""
    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET
    from rasa.shared.nlu.constants import ACTION_NAME

    # Where a rule's index entry is not an action name.
    starts, unnamed = object(), object()

    def follows(state: dict[str, Any]) -> object:
        # What a state says came before it: nothing (a conversation's start), an action by
        # name, or something a name alone cannot settle (an action text, "not set").
        previous = state.get(PREVIOUS_ACTION)
        if not previous:
            return starts
        name = previous.get(ACTION_NAME)
        return name if name and name != SHOULD_NOT_BE_SET else unnamed

    def rules_by_action(policy: RulePolicy, lookup: dict[str, str]) -> dict[object, list[str]]:
        # The lookups are fixed once a model is loaded; one index per lookup, rebuilt if a
        # lookup is replaced or grows (as it does while a model trains).
        indexes = policy.__dict__.setdefault("_memberdesk_rule_indexes", {})
        cached = indexes.get(id(lookup))
        if cached is not None and cached[0] is lookup and cached[1] == len(lookup):
            return cached[2]  # type: ignore[no-any-return]
        index: dict[object, list[str]] = {}
        for key in lookup:
            states = policy._rule_key_to_state(key)
            index.setdefault(follows(states[-1]) if states else unnamed, []).append(key)
        indexes[id(lookup)] = (lookup, len(lookup), index)
        return index

    def _get_possible_keys(
        self: RulePolicy, lookup: dict[str, str], states: list[dict[str, Any]]
    ) -> set[str]:
        if not states:
            return set(lookup.keys())
        index = rules_by_action(self, lookup)
        # A rule whose last state follows another named action, or follows one where the
        # conversation starts (or the reverse), fails Rasa's own test below at once.
        latest = follows(states[-1])
        possible = {*index.get(latest, ()), *index.get(unnamed, ())}
        for turn, state in enumerate(reversed(states)):
            possible = {key for key in possible if self._is_rule_applicable(key, turn, state)}
            if not possible:
                break
        return possible

    RulePolicy._get_possible_keys = _get_possible_keys  # type: ignore[method-assign]


def install() -> bool:
    """Install the fixes once, on the Rasa release they were written for; True if in place."""
    global _installed
    if _installed:
        return True
    import rasa

    if rasa.__version__ != RASA_RELEASE:
        log.warning(
            "rasa %s: its own code paths are left as they are (these fixes are for %s)",
            rasa.__version__, RASA_RELEASE,
        )
        return False
    fast_reply_validation()
    cached_event_types()
    indexed_rule_lookup()
    _installed = True
    return True
