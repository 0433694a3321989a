"""Turn counting on its own: what the dashboard is told about a member's turn."""

from __future__ import annotations

from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from channels.handoff.turns import turn_of


def test_a_turn_is_a_fallback_when_the_assistant_fell_back() -> None:
    def tracker(intent: str, *actions: str) -> DialogueStateTracker:
        return DialogueStateTracker.from_events("t", [
            UserUttered("x", {"name": intent, "confidence": 0.9}),
            *(ActionExecuted(action) for action in actions),
        ])

    assert turn_of(tracker("greet", "utter_greet", "action_listen")) == ("greet", False)
    assert turn_of(tracker("nlu_fallback", "action_listen")) == ("nlu_fallback", True)
    assert turn_of(tracker("inform", "action_handle_fallback")) == ("inform", True)
