"""The action server serves exactly the custom actions the domain names, and nothing breaks
at registration (an abstract base registered by mistake stops the whole server)."""

from __future__ import annotations

from rasa_sdk.executor import ActionExecutor

from tests.bot.trackers import domain


def test_every_domain_action_is_served_and_every_served_action_is_in_the_domain() -> None:
    executor = ActionExecutor()
    executor.register_package("actions")

    served = set(executor.actions)
    named = {a for a in domain()["actions"] if not a.startswith("utter_")}

    assert served == named
