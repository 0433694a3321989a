"""The fixes to Rasa's hot paths keep Rasa's behaviour: same checks, same events, same errors."""

from __future__ import annotations

import json
import random
import tarfile

import jsonschema
import pytest
import rasa
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    ConversationPaused,
    Event,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa.shared.utils.common import all_subclasses

from channels import rasa_speedups
from tests.bot.servers import MODEL

GOOD_REPLY = {
    "events": [{"event": "slot", "name": "goal", "value": "change_address"}],
    "responses": [{"text": "Done: your address is now 1 Park Lane."}],
}


@pytest.fixture(scope="module", autouse=True)
def installed() -> None:
    assert rasa_speedups.install(), f"not installed on rasa {rasa.__version__}"


def remote_action() -> RemoteAction:
    return RemoteAction("action_submit_address", action_endpoint=None)


def test_install_is_idempotent() -> None:
    assert rasa_speedups.install() is True


def test_a_good_action_reply_passes_without_rechecking_the_schema(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = RemoteAction.action_response_format_spec()
    validator_class = jsonschema.validators.validator_for(spec)
    schema_checks = []
    original = validator_class.check_schema

    def counting(schema: dict) -> None:
        schema_checks.append(schema)
        original(schema)

    monkeypatch.setattr(validator_class, "check_schema", staticmethod(counting))
    for _ in range(5):
        assert remote_action()._validate_action_result(GOOD_REPLY) is True
    # jsonschema.validate() would have checked Rasa's constant schema five times.
    assert schema_checks == []


@pytest.mark.parametrize(
    "reply",
    [
        {"events": "not a list"},
        {"events": [{"no": "event key"}]},
        {"events": [], "responses": "not a list"},
        {"events": [{"event": "slot", "name": 7}]},
    ],
)
def test_a_bad_action_reply_raises_what_jsonschema_raises(reply: dict) -> None:
    with pytest.raises(ValidationError) as expected:
        jsonschema.validate(reply, RemoteAction.action_response_format_spec())
    with pytest.raises(ValidationError) as raised:
        remote_action()._validate_action_result(reply)
    assert raised.value.message.startswith(expected.value.message)
    assert "Failed to validate Action server response" in raised.value.message
    assert list(raised.value.path) == list(expected.value.path)


def _first_by_search(type_name: str) -> type[Event] | None:
    return next((cls for cls in all_subclasses(Event) if cls.type_name == type_name), None)


def test_every_event_name_resolves_to_the_class_rasa_would_find() -> None:
    names = {cls.type_name for cls in all_subclasses(Event)}
    assert {"slot", "user", "action", "pause", "active_loop"} <= names
    for name in sorted(names):
        assert Event.resolve_by_type(name) is _first_by_search(name)
        # Asked twice: the remembered answer is the same class.
        assert Event.resolve_by_type(name) is _first_by_search(name)


def test_unknown_event_names_behave_as_before() -> None:
    with pytest.raises(ValueError, match="Unknown event name 'no_such_event'"):
        Event.resolve_by_type("no_such_event")
    assert Event.resolve_by_type("no_such_event", SlotSet) is SlotSet
    # The default was not remembered for that name.
    with pytest.raises(ValueError):
        Event.resolve_by_type("no_such_event")
    assert Event.resolve_by_type("topic") is None


def test_a_stored_conversation_reads_back_the_same() -> None:
    domain = Domain.from_dict({"slots": {"goal": {"type": "any", "mappings": []}}})
    events = [
        ActionExecuted("action_listen"),
        UserUttered("I've moved house", {"name": "change_address", "confidence": 0.97}),
        SlotSet("goal", "change_address"),
        ActiveLoop("address_form"),
        ConversationPaused(),
    ]
    tracker = DialogueStateTracker.from_events("member-1", events, domain.slots)
    dumped = tracker.current_state(EventVerbosity.ALL)["events"]
    again = DialogueStateTracker.from_dict("member-1", dumped, domain.slots)
    assert list(again.events) == list(tracker.events)
    assert again.is_paused()
    assert again.get_slot("goal") == "change_address"


def _original_possible_keys(
    policy: RulePolicy, lookup: dict[str, str], states: list[dict]
) -> set[str]:
    # Rasa 3.6.21's RulePolicy._get_possible_keys, as it was before install().
    possible_keys = set(lookup.keys())
    for i, state in enumerate(reversed(states)):
        possible_keys = {key for key in possible_keys if policy._is_rule_applicable(key, i, state)}
    return possible_keys


@pytest.fixture(scope="module")
def trained_rules() -> dict[str, dict[str, str]]:
    """The rule policy's look-ups from the shipped model (make test trains it first)."""
    assert MODEL.exists(), "no trained model: run `make train`"
    with tarfile.open(MODEL) as archive:
        member = next(m for m in archive.getmembers()
                      if m.name.endswith("rule_policy.json") and "RulePolicy" in m.name)
        saved = archive.extractfile(member)
        assert saved is not None
        return json.load(saved)["lookup"]  # type: ignore[no-any-return]


def _conversations(lookup: dict[str, str]) -> list[list[dict]]:
    """Every rule's own states, each of their tails, and tails joined to other rules'
    latest states: states that match some rules, part of some, and none."""
    rules = [json.loads(key) for key in lookup]
    found = []
    for states in rules:
        found += [states[cut:] for cut in range(len(states))]
    chance = random.Random(7)
    for _ in range(400):
        found.append(chance.choice(found)[:-1] + chance.choice(found)[-1:])
    return [*found, []]


def test_the_indexed_rule_lookup_finds_exactly_the_rules_rasa_finds(
    trained_rules: dict[str, dict[str, str]],
) -> None:
    policy = RulePolicy.__new__(RulePolicy)
    for name in ("rules", "rules_for_loop_unhappy_path"):
        lookup = trained_rules[name]
        assert len(lookup) > 20, name
        matched = 0
        for states in _conversations(trained_rules["rules"]):
            expected = _original_possible_keys(policy, lookup, states)
            assert policy._get_possible_keys(lookup, states) == expected, states
            matched += bool(expected)
        # The comparison means something: many conversations match some rule.
        assert matched > 100, name


def test_a_new_lookup_gets_a_new_index() -> None:
    policy = RulePolicy.__new__(RulePolicy)
    listen = json.dumps([{"prev_action": {"action_name": "action_listen"},
                          "user": {"intent": "greet"}}])
    lookup = {listen: "utter_greet"}
    state = [{"prev_action": {"action_name": "action_listen"}, "user": {"intent": "greet"}}]
    assert policy._get_possible_keys(lookup, state) == {listen}
    lookup = {}
    assert policy._get_possible_keys(lookup, state) == set()
