"""The REST channel's door, as each environment sets it (channels.rest.RestDoor)."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest

from bot.settings import UnsafeSettings, read_settings
from channels.rest import RestDoor, conversation_for

TOKEN = "rest-door-test-token-0123456789abcdefgh"  # noqa: S105


def _request(authorization: str | None) -> SimpleNamespace:
    headers = {} if authorization is None else {"authorization": authorization}
    return SimpleNamespace(headers=headers)


def _door(environment: str, token: str = "") -> RestDoor:
    return RestDoor(replace(read_settings(), environment=environment, rest_token=token))


def test_development_without_a_token_is_open() -> None:
    assert _door("development").refusal(_request(None)) is None


@pytest.mark.parametrize("environment", ["test", "staging", "production"])
def test_elsewhere_without_a_token_the_channel_is_off(environment: str) -> None:
    refused = _door(environment).refusal(_request(f"Bearer {TOKEN}"))
    assert refused is not None and refused.status == 404
    assert b"MEMBERDESK_REST_TOKEN" in refused.body


@pytest.mark.parametrize("environment", ["development", "production"])
@pytest.mark.parametrize(
    ("authorization", "allowed"),
    [
        (f"Bearer {TOKEN}", True),
        (f"bearer {TOKEN}", True),
        (None, False),
        ("", False),
        (f"Basic {TOKEN}", False),
        (f"Bearer {TOKEN[:-1]}", False),
        (f"Bearer {TOKEN}x", False),
        ("Bearer ", False),
    ],
)
def test_with_a_token_only_its_bearer_comes_in(
    environment: str, authorization: str | None, allowed: bool
) -> None:
    refused = _door(environment, TOKEN).refusal(_request(authorization))
    assert (refused is None) is allowed
    if refused is not None:
        assert refused.status == 401


def test_a_short_token_is_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMBERDESK_REST_TOKEN", "short")
    with pytest.raises(UnsafeSettings, match="MEMBERDESK_REST_TOKEN"):
        read_settings()


@pytest.mark.parametrize(
    ("sender", "conversation"),
    [
        ("abc", "rest:abc"),
        ("rest:abc", "rest:abc"),
        ("telegram:4242", "rest:telegram:4242"),
        ("4242:linked-1", "rest:4242:linked-1"),
        ("webchat:xyz", "rest:webchat:xyz"),
    ],
)
def test_every_rest_conversation_is_in_the_rest_namespace(sender: str, conversation: str) -> None:
    assert conversation_for(sender) == conversation
