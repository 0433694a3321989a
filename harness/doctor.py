"""`memberdesk doctor`: what in a deployment's configuration is unsafe, and how to fix it.

Each process refuses a development placeholder when it starts (api/config.py, bot/settings.py,
channels/webchat/auth.py, actions/server.py), but one at a time, and only once it is running.
The doctor reads the whole configuration at once, from the environment and any env files
given (deploy/secrets.env), and lists every problem with its fix, before anything starts.
It never prints a secret's value.

Standard library only: both virtual environments import it (the `memberdesk` command runs in
the records API's).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from harness.commands import ACTIONS_SECRET, RASA_API_TOKEN

DEVELOPMENT = "development"
# Environments where members are served: every door locked, no placeholder accepted.
SERVING = ("staging", "production")
MIN_SECRET_LENGTH = 32
MAKE_ONE = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
# Words the development placeholders and the example files are made of.
_PLACEHOLDER_WORDS = ("development-only", "change-me", "changeme", "example", "placeholder")


@dataclass(frozen=True)
class Finding:
    """One thing the doctor noticed: `unsafe` stops a deployment, `advice` does not."""

    severity: str  # "unsafe" or "advice"
    setting: str
    problem: str
    fix: str


@dataclass(frozen=True)
class Secret:
    name: str
    what: str
    required: bool = True


# The secrets a serving deployment needs (deploy/secrets.env.example says what each is).
SECRETS = (
    Secret("MEMBERDESK_SECRET_KEY", "signs member and staff tokens (records API)"),
    Secret("MEMBERDESK_SERVICE_TOKEN", "lets the action server and the channels call the API"),
    Secret(ACTIONS_SECRET, "lets Rasa, and only Rasa, call the action server"),
    Secret("MEMBERDESK_CHANNEL_SECRET", "signs the identities the channels verified"),
    Secret("MEMBERDESK_WEBCHAT_JWT_SECRET", "checks the member tokens the website signs"),
    Secret(RASA_API_TOKEN, "guards Rasa's HTTP API (without it the API is not served)",
           required=False),
    Secret("MEMBERDESK_REST_TOKEN", "guards the REST channel (without it the channel is off)",
           required=False),
    Secret("TELEGRAM_WEBHOOK_SECRET", "proves a webhook call comes from Telegram",
           required=False),
)


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines; blank lines and # comments skipped, quotes around a value removed."""
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, equals, value = line.partition("=")
        if not equals or not name.strip():
            raise ValueError(f"{path}:{number}: expected KEY=value")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name.strip().removeprefix("export ").strip()] = value
    return values


def _looks_like_placeholder(value: str) -> bool:
    lowered = value.lower()
    return any(word in lowered for word in _PLACEHOLDER_WORDS)


def _secret_findings(env: Mapping[str, str], serving: bool) -> Iterable[Finding]:
    seen: dict[str, str] = {}
    for secret in SECRETS:
        value = env.get(secret.name, "")
        fix = f"set {secret.name} to 32+ random characters ({MAKE_ONE})"
        if not value:
            if secret.required and serving:
                yield Finding("unsafe", secret.name, f"not set; it {secret.what}", fix)
            continue
        if _looks_like_placeholder(value):
            yield Finding("unsafe" if serving else "advice", secret.name,
                          "left at a development or example placeholder", fix)
        elif len(value) < MIN_SECRET_LENGTH:
            yield Finding("unsafe" if serving else "advice", secret.name,
                          f"only {len(value)} characters; guessable", fix)
        if value in seen:
            yield Finding("unsafe" if serving else "advice", secret.name,
                          f"the same value as {seen[value]}: one leak would open both doors",
                          f"give {secret.name} a value of its own ({MAKE_ONE})")
        seen.setdefault(value, secret.name)
    if serving and env.get("TELEGRAM_BOT_TOKEN") and not env.get("TELEGRAM_WEBHOOK_SECRET"):
        yield Finding("unsafe", "TELEGRAM_WEBHOOK_SECRET",
                      "Telegram is configured without a webhook secret: anyone could post "
                      "updates as any Telegram user",
                      "set TELEGRAM_WEBHOOK_SECRET (32-256 of A-Z a-z 0-9 _ -)")


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _service_findings(env: Mapping[str, str], serving: bool) -> Iterable[Finding]:
    database = env.get("MEMBERDESK_DATABASE_URL", "")
    if serving and (not database or database.startswith("sqlite")):
        yield Finding("unsafe", "MEMBERDESK_DATABASE_URL",
                      "the embedded SQLite file: one writer at a time, on one machine's disk",
                      "point it at PostgreSQL (postgresql+psycopg2://USER:PASSWORD@HOST/DB)")
    # The action server's own store (actions/pending_store.py): a file there is lost with the
    # machine or pod, and other replicas never replay what it kept.
    pending = env.get("MEMBERDESK_PENDING_STORE_URL", "")
    if serving and (not pending or pending.startswith("sqlite")):
        yield Finding("unsafe", "MEMBERDESK_PENDING_STORE_URL",
                      "requests kept during a records API outage would be in a SQLite file on "
                      "one action server's disk" if pending else "not set: requests kept during "
                      "a records API outage would be in a file on one action server's disk",
                      "point it at PostgreSQL (postgresql+psycopg2://USER:PASSWORD@HOST/"
                      "memberdesk_pending)")
    public = env.get("MEMBERDESK_PUBLIC_URL", "")
    if serving and urlsplit(public).scheme != "https":
        yield Finding("unsafe", "MEMBERDESK_PUBLIC_URL",
                      "not an https:// address: payment links and the console would be sent "
                      "in clear" if public else "not set: links in emails would point at "
                      "127.0.0.1",
                      "set it to the https:// address members and staff reach")
    if serving and _truthy(env.get("MEMBERDESK_WEBCHAT_DEMO_PORTAL")):
        yield Finding("unsafe", "MEMBERDESK_WEBCHAT_DEMO_PORTAL",
                      "the demo portal signs anyone in as any member",
                      "remove MEMBERDESK_WEBCHAT_DEMO_PORTAL")
    if serving and not env.get("MEMBERDESK_WEBCHAT_ORIGINS"):
        yield Finding("advice", "MEMBERDESK_WEBCHAT_ORIGINS",
                      "not set: only pages served by the assistant itself may open the webchat",
                      "list the website's origins (https://www.example.org,...)")
    if env.get("MEMBERDESK_IMAP_HOST") and env.get("MEMBERDESK_IMAP_PORT") == "143":
        yield Finding("unsafe" if serving else "advice", "MEMBERDESK_IMAP_PORT",
                      "143 is plain IMAP: the mailbox password and members' emails in clear",
                      "use IMAPS on 993")


def examine(env: Mapping[str, str]) -> list[Finding]:
    """Everything unsafe or worth changing in this configuration."""
    environment = (env.get("MEMBERDESK_ENV") or DEVELOPMENT).strip().lower()
    findings: list[Finding] = []
    if environment not in (DEVELOPMENT, "test", *SERVING):
        findings.append(Finding("unsafe", "MEMBERDESK_ENV", f"unknown environment {environment!r}",
                                "set MEMBERDESK_ENV to production, staging or development"))
    serving = environment not in (DEVELOPMENT, "test")
    if not serving:
        findings.append(Finding(
            "advice", "MEMBERDESK_ENV",
            f"{environment}: development placeholders are accepted and Rasa's HTTP API and the "
            "REST channel are open to anyone who reaches them",
            "set MEMBERDESK_ENV=production (or staging) wherever real members are served"))
    findings += _secret_findings(env, serving)
    findings += _service_findings(env, serving)
    return findings


def report(findings: list[Finding], *, as_json: bool = False) -> str:
    """The findings as the operator reads them (or as JSON, for a pipeline)."""
    if as_json:
        return json.dumps({"unsafe": sum(f.severity == "unsafe" for f in findings),
                           "findings": [asdict(f) for f in findings]}, indent=2)
    if not findings:
        return "memberdesk doctor: nothing unsafe found."
    lines = []
    for finding in sorted(findings, key=lambda f: (f.severity != "unsafe", f.setting)):
        lines.append(f"{finding.severity.upper():7} {finding.setting}: {finding.problem}")
        lines.append(f"        fix: {finding.fix}")
    unsafe = sum(f.severity == "unsafe" for f in findings)
    lines.append(f"memberdesk doctor: {unsafe} unsafe, {len(findings) - unsafe} advice.")
    return "\n".join(lines)
