"""`memberdesk email ...`: triage commands and the SMTP sender.

Triage needs the assistant's NLU model, which loads only in the bot environment, so
`classify`, `ingest` and `poll` run `python -m channels.email` in .venv/bot (or the interpreter
MEMBERDESK_BOT_PYTHON names) with the same arguments and environment. `send-outbox` runs
here: the outbox is a records API table.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import click

from api.config import Settings

ROOT = Path(__file__).resolve().parents[2]
BOT_PYTHON_ENV = "MEMBERDESK_BOT_PYTHON"


def bot_python() -> Path:
    """The bot environment's interpreter."""
    configured = os.environ.get(BOT_PYTHON_ENV)
    return Path(configured) if configured else ROOT / ".venv/bot/bin/python"


def run_in_bot(module: str, *arguments: str) -> None:
    """Run `python -m MODULE ARGUMENTS` in the bot environment, passing signals and .env on."""
    python = bot_python()
    if not python.exists():
        raise click.ClickException(
            f"this command runs in the bot environment and {python} does not exist; "
            f"run `make setup` or set {BOT_PYTHON_ENV}"
        )
    # The bot side reads only the environment: give it .env too, as the records API reads it
    # (the environment wins, as it does there).
    from dotenv import dotenv_values

    env = {k: v for k, v in dotenv_values(".env").items() if v is not None} | dict(os.environ)
    # Our own interpreter and module, with the operator's arguments as plain argv items.
    process = subprocess.Popen(  # noqa: S603
        [str(python), "-m", module, *arguments], cwd=ROOT, env=env
    )
    # A service manager stops `memberdesk email poll` with SIGTERM: pass it on, so the poller
    # finishes its message and stops too rather than being left running.
    previous = signal.signal(signal.SIGTERM, lambda signum, _frame: process.send_signal(signum))
    try:
        returncode = process.wait()
    except KeyboardInterrupt:
        # Ctrl-C reached the poller as well (same process group); let it stop cleanly.
        returncode = process.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
    if returncode:
        raise click.exceptions.Exit(returncode)


@click.group("email")
def email_group() -> None:
    """Email triage: classify, ingest and poll a support mailbox; send the outbox."""


_EML = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)


@email_group.command("classify")
@click.argument("files", nargs=-1, required=True, type=_EML)
def classify_command(files: tuple[Path, ...]) -> None:
    """Print the triage decision for each .eml FILE as JSON, without acting on it."""
    run_in_bot("channels.email", "classify", *(str(f.resolve()) for f in files))


@email_group.command("ingest")
@click.argument("files", nargs=-1, required=True, type=_EML)
def ingest_command(files: tuple[Path, ...]) -> None:
    """Triage each .eml FILE: record it, open or join its case, queue its reply."""
    run_in_bot("channels.email", "ingest", *(str(f.resolve()) for f in files))


@email_group.command("poll")
@click.option("--once", is_flag=True, help="One pass over the mailbox, then exit.")
def poll_command(once: bool) -> None:
    """Poll the support mailbox over IMAP (MEMBERDESK_IMAP_* settings) and triage new mail."""
    run_in_bot("channels.email", "poll", *(["--once"] if once else []))


@email_group.command("send-outbox")
@click.option("--loop", is_flag=True, help="Keep sending until stopped (SIGTERM or Ctrl-C).")
@click.option("--interval", default=10.0, show_default=True, type=click.FloatRange(0.5, 3600),
              help="Seconds between rounds with --loop.")
@click.option("--batch", default=100, show_default=True, type=click.IntRange(1, 10_000),
              help="Most emails sent per round.")
@click.pass_context
def send_outbox_command(ctx: click.Context, loop: bool, interval: float, batch: int) -> None:
    """Send queued emails over SMTP (MEMBERDESK_SMTP_* settings); failures are retried later."""
    from sqlalchemy.orm import Session

    from api.database import make_engine
    from api.mail.sender import send_due
    from api.mail.settings import EmailSettings

    settings: Settings = ctx.obj["settings"]
    try:
        email_settings = EmailSettings()
    except ValueError as exc:
        raise click.ClickException(f"the email settings are not valid: {exc}") from None
    if not email_settings.smtp_host:
        raise click.ClickException("set MEMBERDESK_SMTP_HOST to send email")
    stopping = False

    def _stop(*_args: object) -> None:
        nonlocal stopping
        stopping = True

    if loop:
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    engine = make_engine(settings.database_url)
    try:
        while True:
            with Session(engine, expire_on_commit=False) as session:
                report = send_due(db_session=session, email_settings=email_settings, batch=batch)
            if report.sent or report.failed or not loop:
                click.echo(
                    f"outbox: {report.sent} sent, {report.failed} failed, "
                    f"{report.waiting} waiting"
                )
            if not loop:
                if report.failed and not report.sent:
                    raise click.exceptions.Exit(1)
                return
            if report.sent >= batch:
                continue  # more are waiting: no pause
            slept = 0.0
            while not stopping and slept < interval:
                time.sleep(0.5)
                slept += 0.5
            if stopping:
                return
    finally:
        engine.dispose()
