"""The command lines of the action server and Rasa, and what keeps each answering only its own.

`make run` (scripts/supervise.py), the bot-side tests and the serving benchmark start them with
these, so a test exercises the doors `make run` leaves open or shut:

- the action server runs actions on whatever tracker it is sent, so it answers only a caller
  with its secret (actions/server.py), which Rasa sends from its endpoints file;
- Rasa's HTTP API reads and rewrites any conversation (the member's token, the identity
  factors typed in it) and replaces the model, so outside development it needs a token, and
  without one it is not served at all.

Standard library only: both virtual environments import it.
"""

from __future__ import annotations

from pathlib import Path

ACTIONS_SECRET = "MEMBERDESK_ACTIONS_SECRET"  # noqa: S105 - the variable's name
RASA_API_TOKEN = "MEMBERDESK_RASA_API_TOKEN"  # noqa: S105 - the variable's name
# The header the action server checks (actions/server.py); Rasa fills the value in from the
# environment, so the secret is never written to an endpoints file.
ACTION_ENDPOINT = """action_endpoint:
  url: "{url}"
  headers:
    X-Memberdesk-Action-Secret: ${{MEMBERDESK_ACTIONS_SECRET}}
"""


def action_endpoint(url: str) -> str:
    """The `action_endpoint` section of an endpoints file, sending the action server's secret."""
    return ACTION_ENDPOINT.format(url=url)


def actions_command(python: str | Path, port: int | str) -> list[str]:
    """The action server, guarded by its secret (it binds to MEMBERDESK_ACTIONS_HOST)."""
    return [str(python), "-m", "actions.server", "--actions", "actions", "--port", str(port)]


def rasa_api_options(environment: str, token: str | None) -> list[str]:
    """Rasa's HTTP API: behind `token` when there is one, open only in development, else off."""
    if token:
        return ["--enable-api", "--auth-token", token]
    if environment == "development":
        return ["--enable-api"]
    return []


def rasa_command(python: str | Path, *, model: str | Path, host: str, port: int | str,
                 endpoints: str | Path, credentials: str | Path,
                 api_options: list[str]) -> list[str]:
    """Rasa serving `model` on host:port, its HTTP API as `api_options` say."""
    return [str(python), "-m", "rasa", "run", "--model", str(model), *api_options,
            "--interface", host, "--port", str(port), "--endpoints", str(endpoints),
            "--credentials", str(credentials)]


def shown(command: list[str]) -> str:
    """A command line fit to print: the value after `--auth-token` is hidden."""
    hidden = [
        "***" if index and command[index - 1] == "--auth-token" else part
        for index, part in enumerate(command)
    ]
    return " ".join(hidden)
