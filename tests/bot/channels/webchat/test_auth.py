"""The webchat's identity rules: which member tokens and session tokens are believed."""

from __future__ import annotations

import base64
import json

import jwt
import pytest

from bot.settings import BotSettings, UnsafeSettings
from channels.webchat.auth import (
    DEVELOPMENT_JWT_SECRET,
    WebchatSession,
    WebchatSettings,
    member_from_token,
    new_session,
    read_session,
    resume_or_start,
    session_token,
    sign_member_token,
    webchat_settings,
)

SECRET = "website-and-webchat-share-this-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
NOW = 1_800_000_000.0


CHANNEL_SECRET = "channel-secret-" + "x" * 30


def _channel(environment: str = "test", secret: str = CHANNEL_SECRET) -> BotSettings:
    return BotSettings(
        environment=environment, api_url="http://127.0.0.1:9", service_token="service-token",
        api_timeout=5, channel_secret=secret,
    )


def _settings(channel_secret: str = CHANNEL_SECRET) -> WebchatSettings:
    return webchat_settings(_channel(secret=channel_secret), {"jwt_secret": SECRET})


def _token(claims: dict, *, secret: str = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


def test_a_token_the_website_signed_names_the_member() -> None:
    token = sign_member_token("1000001", secret=SECRET, now=NOW)

    assert member_from_token(token, secret=SECRET, now=NOW + 60) == "1000001"


@pytest.mark.parametrize(
    ("case", "token"),
    [
        ("signed with another secret", _token({"sub": "1000001", "exp": NOW + 300},
                                              secret="not-the-website-" + "y" * 32)),
        ("expired", _token({"sub": "1000001", "exp": NOW - 120})),
        ("no expiry", _token({"sub": "1000001"})),
        ("no subject", _token({"exp": NOW + 300})),
        ("a subject that is not a membership number", _token({"sub": "admin", "exp": NOW + 300})),
        ("a numeric subject", _token({"sub": 1000001, "exp": NOW + 300})),
        ("valid for a year", _token({"sub": "1000001", "exp": NOW + 365 * 86400})),
        ("HS512 instead of HS256", _token({"sub": "1000001", "exp": NOW + 300},
                                          algorithm="HS512")),
        ("not a token", "not.a.token"),
        ("empty", ""),
    ],
)
def test_a_member_token_that_does_not_hold_names_nobody(case: str, token: str) -> None:
    assert member_from_token(token, secret=SECRET, now=NOW) is None, case


def test_an_unsigned_token_names_nobody() -> None:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    claims = {"sub": "1000001", "exp": NOW + 300}
    unsigned = f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."

    assert member_from_token(unsigned, secret=SECRET, now=NOW) is None


def test_a_token_whose_payload_was_edited_names_nobody() -> None:
    header, _, signature = sign_member_token("1000001", secret=SECRET, now=NOW).split(".")
    edited = base64.urlsafe_b64encode(
        json.dumps({"sub": "1000002", "exp": int(NOW) + 300}).encode()
    ).decode().rstrip("=")

    assert member_from_token(f"{header}.{edited}.{signature}", secret=SECRET, now=NOW) is None


def test_a_session_token_resumes_its_own_conversation() -> None:
    settings = _settings()
    session = new_session(None, settings=settings, now=NOW)

    resumed, same = resume_or_start(
        session_token(session, settings=settings), None, settings=settings, now=NOW + 60
    )

    assert same is True
    assert resumed.conversation_id == session.conversation_id


def test_session_ids_are_long_random_and_never_repeat() -> None:
    settings = _settings()
    ids = {new_session(None, settings=settings).conversation_id for _ in range(500)}

    assert len(ids) == 500
    assert all(conversation.startswith("webchat:") for conversation in ids)
    assert all(len(conversation) >= len("webchat:") + 22 for conversation in ids)


@pytest.mark.parametrize(
    "presented",
    [
        # Another visitor's conversation id, sent as if it were a session.
        "webchat-AAAAAAAAAAAAAAAAAAAAAA",
        None,
        "",
        "v1.e30.AAAA",
        {"session_id": "webchat-AAAAAAAAAAAAAAAAAAAAAA"},
    ],
)
def test_anything_but_an_issued_session_token_starts_a_new_conversation(presented: object) -> None:
    settings = _settings()

    session, resumed = resume_or_start(presented, None, settings=settings, now=NOW)

    assert resumed is False
    assert session.conversation_id != "webchat-AAAAAAAAAAAAAAAAAAAAAA"


def test_a_session_token_edited_to_name_another_conversation_is_refused() -> None:
    settings = _settings()
    mine = session_token(new_session(None, settings=settings, now=NOW), settings=settings)
    victim = new_session(None, settings=settings, now=NOW)
    version, _, signature = mine.split(".")
    claims = {"c": victim.conversation_id, "m": None, "exp": victim.expires}
    forged_body = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")

    assert read_session(f"{version}.{forged_body}.{signature}", settings=settings, now=NOW) is None


def test_a_session_token_from_a_server_with_another_secret_is_refused() -> None:
    theirs = _settings(channel_secret="some-other-installation-" + "z" * 30)
    token = session_token(new_session(None, settings=theirs, now=NOW), settings=theirs)

    assert read_session(token, settings=_settings(), now=NOW) is None


def test_an_expired_session_starts_a_new_conversation() -> None:
    settings = _settings()
    old = WebchatSession("webchat-" + "B" * 22, None, expires=int(NOW) - 1)

    session, resumed = resume_or_start(
        session_token(old, settings=settings), None, settings=settings, now=NOW
    )

    assert resumed is False
    assert session.conversation_id != old.conversation_id


def test_a_members_conversation_resumes_only_for_that_member_signed_in() -> None:
    settings = _settings()
    priya = session_token(new_session("1000001", settings=settings, now=NOW), settings=settings)

    assert resume_or_start(priya, "1000001", settings=settings, now=NOW)[1] is True
    # Signed out (on a shared computer, say), or someone else signed in: a new conversation.
    assert resume_or_start(priya, None, settings=settings, now=NOW)[1] is False
    assert resume_or_start(priya, "1000002", settings=settings, now=NOW)[1] is False


def test_signing_in_starts_a_new_conversation_bound_to_the_member() -> None:
    settings = _settings()
    visitor = session_token(new_session(None, settings=settings, now=NOW), settings=settings)

    session, resumed = resume_or_start(visitor, "1000001", settings=settings, now=NOW)

    assert resumed is False
    assert session.member == "1000001"


def test_production_refuses_the_development_jwt_secret_and_the_demo_portal() -> None:
    production = _channel("production")

    with pytest.raises(UnsafeSettings):
        webchat_settings(production, {"jwt_secret": DEVELOPMENT_JWT_SECRET})
    with pytest.raises(UnsafeSettings):
        webchat_settings(production, {"jwt_secret": "short"})
    with pytest.raises(UnsafeSettings):
        webchat_settings(production, {"jwt_secret": SECRET, "demo_portal": True})
    settings = webchat_settings(production, {"jwt_secret": SECRET})
    assert settings.demo_portal is False


def test_origins_are_read_from_a_list_or_a_comma_separated_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEMBERDESK_WEBCHAT_ORIGINS", "https://members.example.org/, https://x.org")

    from_env = webchat_settings(_channel(), {})
    from_file = webchat_settings(_channel(), {"allowed_origins": ["https://www.example.org"]})

    assert from_env.allowed_origins == ("https://members.example.org", "https://x.org")
    assert from_file.allowed_origins == ("https://www.example.org",)


def test_the_session_key_is_not_the_channel_secret() -> None:
    # A session token must never verify as an identity assertion, or the other way round.
    assert CHANNEL_SECRET.encode() not in _settings().session_key
