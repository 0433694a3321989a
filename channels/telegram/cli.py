"""Tell Telegram where the webhook is: `python -m channels.telegram.cli set-webhook URL`.

    set-webhook URL      register URL (https) with the secret token, for the update kinds
                         the channel handles
    delete-webhook       stop Telegram sending updates
    webhook-info         what Telegram has registered, and its last delivery error

The bot token and secret token come from the Telegram section of the Rasa credentials file
(`--credentials`, default bot/credentials.yml), where `${VARIABLES}` are expanded as Rasa
expands them; without that section, from TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET, as
`make run` uses them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from rasa.shared.exceptions import RasaException
from telegram.error import TelegramError

from channels.telegram.bot_api import ALLOWED_UPDATES, TelegramConfigError, TelegramCredentials

CREDENTIALS_KEY = "channels.telegram.TelegramChannel"
DEFAULT_CREDENTIALS = "bot/credentials.yml"
TOKEN_VARIABLE = "TELEGRAM_BOT_TOKEN"  # noqa: S105 - a variable name
SECRET_VARIABLE = "TELEGRAM_WEBHOOK_SECRET"  # noqa: S105 - a variable name
BASE_URL_VARIABLE = "TELEGRAM_API_BASE_URL"


def read_credentials(path: str) -> TelegramCredentials:
    """The Telegram section of a Rasa credentials file, read as `rasa run` reads it."""
    from rasa.shared.utils.io import read_config_file

    section = (read_config_file(path) or {}).get(CREDENTIALS_KEY)
    if not isinstance(section, dict):
        # `make run` turns the channel on from these two variables (scripts/supervise.py).
        token, secret = os.environ.get(TOKEN_VARIABLE), os.environ.get(SECRET_VARIABLE)
        if not (token and secret):
            raise TelegramConfigError(
                f"{path} has no '{CREDENTIALS_KEY}:' section, and {TOKEN_VARIABLE} and "
                f"{SECRET_VARIABLE} are not both set."
            )
        section = {"access_token": token, "secret_token": secret}
        if os.environ.get(BASE_URL_VARIABLE):  # a self-hosted Bot API server
            section["base_url"] = os.environ[BASE_URL_VARIABLE]
    return TelegramCredentials.parse(section)


async def set_webhook(credentials: TelegramCredentials, url: str, *, drop_pending: bool) -> str:
    """Register `url` with Telegram, with the secret token it must present on every call."""
    async with credentials.bot() as bot:
        await bot.set_webhook(
            url,
            secret_token=credentials.secret_token,
            allowed_updates=list(ALLOWED_UPDATES),
            drop_pending_updates=drop_pending,
        )
    return f"Telegram will now send updates to {url}"


async def delete_webhook(credentials: TelegramCredentials) -> str:
    async with credentials.bot() as bot:
        await bot.delete_webhook()
    return "Telegram will no longer send updates to a webhook."


async def webhook_info(credentials: TelegramCredentials) -> str:
    async with credentials.bot() as bot:
        info = await bot.get_webhook_info()
    lines = [
        f"url: {info.url or '(none)'}",
        f"pending updates: {info.pending_update_count}",
        f"allowed updates: {', '.join(info.allowed_updates or ()) or '(all)'}",
    ]
    if info.last_error_message:
        lines.append(f"last error: {info.last_error_message} at {info.last_error_date}")
    return "\n".join(lines)


def _https_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc:
        raise argparse.ArgumentTypeError("Telegram only calls https:// webhook URLs")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m channels.telegram.cli", description="Manage the Telegram webhook."
    )
    parser.add_argument(
        "--credentials",
        default=DEFAULT_CREDENTIALS,
        help=f"Rasa credentials file with a '{CREDENTIALS_KEY}:' section",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    set_command = commands.add_parser("set-webhook", help="register the webhook URL")
    set_command.add_argument("url", type=_https_url, help="e.g. https://bot.example.org"
                             "/webhooks/telegram/webhook")
    set_command.add_argument(
        "--drop-pending-updates", action="store_true", help="discard updates not yet delivered"
    )
    commands.add_parser("delete-webhook", help="stop webhook delivery")
    commands.add_parser("webhook-info", help="show what Telegram has registered")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; 0 on success, 1 when Telegram or the configuration says no."""
    arguments = _parser().parse_args(argv)
    try:
        credentials = read_credentials(arguments.credentials)
        work: Any
        if arguments.command == "set-webhook":
            work = set_webhook(
                credentials, arguments.url, drop_pending=arguments.drop_pending_updates
            )
        elif arguments.command == "delete-webhook":
            work = delete_webhook(credentials)
        else:
            work = webhook_info(credentials)
        print(asyncio.run(work))
    except (RasaException, OSError) as exc:
        # A missing or unreadable file, bad YAML, or a missing or weak token.
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except TelegramError as exc:
        print(f"error: Telegram refused: {exc.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
