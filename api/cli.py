"""The `memberdesk` command line: schema upgrades, demo seed, imports, exports, staff accounts.

Every command reads the database URL from settings (MEMBERDESK_DATABASE_URL) and reports
failures as one plain sentence with exit code 1 (2 for a mistyped command), never a traceback.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.orm import Session

from api.config import DatabaseSettings, Settings, get_settings
from api.database import make_engine
from api.errors import DomainError

PASSWORD_ENV = "MEMBERDESK_STAFF_PASSWORD"  # noqa: S105 - a variable name, not a secret
DEBUG_ENV = "MEMBERDESK_CLI_DEBUG"


class _Commands(click.Group):
    """Turns the errors an operator can meet into one clear line instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except DomainError as exc:
            raise click.ClickException(exc.message) from None
        except (OperationalError, ProgrammingError) as exc:
            text = str(exc.orig).lower() if exc.orig is not None else ""
            if "no such table" in text or ("relation" in text and "does not exist" in text):
                raise click.ClickException(
                    "the database has no memberdesk tables yet; run `memberdesk db upgrade` first"
                ) from None
            if isinstance(exc, OperationalError) and (
                "connect" in text or "unable to open" in text or "could not translate" in text
            ):
                raise click.ClickException(
                    f"could not connect to the database at {_safe_url(ctx)}; "
                    "check MEMBERDESK_DATABASE_URL and that the server is running"
                ) from None
            raise click.ClickException(
                f"the database refused the operation ({exc.__class__.__name__}); "
                "nothing was written"
            ) from None
        except SQLAlchemyError as exc:
            raise click.ClickException(
                f"the database refused the operation ({exc.__class__.__name__}); "
                "nothing was written"
            ) from None
        except OSError as exc:
            raise click.ClickException(
                f"{exc.strerror or exc.__class__.__name__}: {exc.filename}"
            ) from None
        except Exception as exc:
            if os.environ.get(DEBUG_ENV) == "1":
                raise
            raise click.ClickException(
                f"an unexpected {exc.__class__.__name__} stopped the command; nothing was written. "
                f"Set {DEBUG_ENV}=1 to see the details."
            ) from None


def _safe_url(ctx: click.Context) -> str:
    database_url: str | None = (
        (ctx.obj or {}).get("database_url") if isinstance(ctx.obj, dict) else None
    )
    if database_url is None:
        return "(unknown)"
    return make_url(database_url).render_as_string(hide_password=True)


@contextmanager
def _session(ctx: click.Context) -> Iterator[Session]:
    """A session on the configured database; the engine is closed afterwards."""
    settings: Settings = ctx.obj["settings"]
    engine: Engine = make_engine(settings.database_url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session
    finally:
        engine.dispose()


@click.group(cls=_Commands)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """memberdesk: the records API's command line."""
    if ctx.invoked_subcommand == "doctor":
        return  # it reports unsafe settings itself, all of them, rather than stop at one
    try:
        if ctx.invoked_subcommand == "db":
            # The schema commands touch no token: they run with the database URL alone.
            ctx.obj = {"database_url": DatabaseSettings().database_url}
            return
        settings = get_settings()
    except ValueError as exc:
        raise click.ClickException(f"the settings are not valid: {exc}") from None
    ctx.obj = {"settings": settings, "database_url": settings.database_url}


# -- db ---------------------------------------------------------------------------------------


@cli.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Bring the database schema up to date (Alembic migrations, one upgrade at a time)."""
    from api.migrate import upgrade

    upgrade(ctx.obj["database_url"])
    click.echo(f"database at {_safe_url(ctx)} is up to date")


# How often `db check --wait` reads the revision again: a pod waits at most this long after
# the migration commits, and the database sees one short query per interval.
SCHEMA_POLL_SECONDS = 2.0


@db.command("check")
@click.option(
    "--wait",
    "wait_seconds",
    type=click.FloatRange(min=0),
    default=0,
    show_default=True,
    help="Seconds to keep reading until the schema is at head.",
)
@click.pass_context
def db_check(ctx: click.Context, wait_seconds: float) -> None:
    """Exit 0 if the schema is at this release's head, 1 if not. Changes nothing.

    The api pods run it before they serve (`--wait`), so a new version never serves on the
    schema before its migration, and never migrates the database itself.
    """
    from api.migrate import schema_state

    deadline = time.monotonic() + wait_seconds
    said = ""
    while True:
        state = schema_state(ctx.obj["database_url"])
        if state.at_head:
            click.echo(state.explain())
            return
        # Waiting cannot bring an older release's code up to a later release's schema.
        if state.unknown or time.monotonic() + SCHEMA_POLL_SECONDS > deadline:
            raise click.ClickException(state.explain())
        if state.explain() != said:
            said = state.explain()
            click.echo(f"waiting: {said}", err=True)
        time.sleep(SCHEMA_POLL_SECONDS)


# -- import / export --------------------------------------------------------------------------


@cli.group("import")
def import_group() -> None:
    """Import members.csv or ballots.csv (all or nothing; re-importing changes nothing)."""


def _run_import(ctx: click.Context, path: Path, kind: str) -> None:
    from api.imports.ballots_csv import import_ballots
    from api.imports.members_csv import import_members
    from api.imports.reader import ImportFailed

    with _session(ctx) as session, path.open("rb") as stream:
        try:
            if kind == "members":
                summary = import_members(db_session=session, stream=stream, source_name=path.name)
            else:
                summary = import_ballots(db_session=session, stream=stream, source_name=path.name)
        except ImportFailed as exc:
            session.rollback()
            raise click.ClickException(f"{path.name}: {exc}. Nothing was imported.") from None
        except BaseException:
            session.rollback()
            raise
        session.commit()
    click.echo(
        f"{kind}: {summary.created} created, {summary.updated} updated, "
        f"{summary.unchanged} unchanged"
    )
    if summary.employers_created or summary.workplaces_created:
        click.echo(
            f"employers: {summary.employers_created} created; "
            f"workplaces: {summary.workplaces_created} created"
        )


_READABLE_FILE = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)
_WRITABLE_FILE = click.Path(dir_okay=False, writable=True, path_type=Path)


@import_group.command("members")
@click.argument("file", type=_READABLE_FILE)
@click.pass_context
def import_members_command(ctx: click.Context, file: Path) -> None:
    """Import members from FILE (members.csv format)."""
    _run_import(ctx, file, "members")


@import_group.command("ballots")
@click.argument("file", type=_READABLE_FILE)
@click.pass_context
def import_ballots_command(ctx: click.Context, file: Path) -> None:
    """Import ballots from FILE (ballots.csv format)."""
    _run_import(ctx, file, "ballots")


@cli.group("export")
def export_group() -> None:
    """Export members.csv or ballots.csv in the import format."""


def _run_export(ctx: click.Context, path: Path, kind: str) -> None:
    from api.imports.export import export_ballots, export_members

    # Written beside the target and renamed at the end, so a failed export never leaves a
    # half-written file where the last good one was.
    partial = path.with_name(path.name + ".partial")
    try:
        with _session(ctx) as session, partial.open("w", encoding="utf-8", newline="") as out:
            if kind == "members":
                count = export_members(db_session=session, out=out)
            else:
                count = export_ballots(db_session=session, out=out)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    click.echo(f"{kind}: {count} exported to {path}")


@export_group.command("members")
@click.argument("file", type=_WRITABLE_FILE)
@click.pass_context
def export_members_command(ctx: click.Context, file: Path) -> None:
    """Export every member to FILE."""
    _run_export(ctx, file, "members")


@export_group.command("ballots")
@click.argument("file", type=_WRITABLE_FILE)
@click.pass_context
def export_ballots_command(ctx: click.Context, file: Path) -> None:
    """Export every ballot to FILE."""
    _run_export(ctx, file, "ballots")


# -- seed -------------------------------------------------------------------------------------


@cli.command("seed")
@click.option(
    "--members",
    "member_count",
    default=2000,
    show_default=True,
    type=click.IntRange(5, 200_000),
    help="How many demo members.",
)
@click.option("--reset", is_flag=True, help="Delete ALL existing data first.")
@click.option(
    "--if-empty",
    is_flag=True,
    help="Do nothing when the database already has members (what `make run` uses).",
)
@click.option(
    "--staff-password",
    default=None,
    help="Password for the demo staff users (default: memberdesk-demo-password).",
)
@click.pass_context
def seed_command(
    ctx: click.Context,
    member_count: int,
    reset: bool,
    if_empty: bool,
    staff_password: str | None,
) -> None:
    """Fill the database with a deterministic demo organisation."""
    from api.seed.demo import DEFAULT_STAFF_PASSWORD, has_members, seed_demo

    if reset and if_empty:
        raise click.UsageError("--reset and --if-empty contradict each other; give one.")
    settings: Settings = ctx.obj["settings"]
    password = staff_password or DEFAULT_STAFF_PASSWORD
    with _session(ctx) as session:
        if if_empty and has_members(session):
            click.echo("seed: the database already has members; left as it is")
            return
        try:
            result = seed_demo(
                db_session=session,
                member_count=member_count,
                staff_password=password,
                reset=reset,
                environment=settings.env,
            )
        except BaseException:
            session.rollback()
            raise
    click.echo(
        f"seeded {result.members} members, {result.employers} employers, "
        f"{result.collections} collections, ballots {', '.join(result.ballots)}"
    )
    click.echo(f"staff users: {', '.join(result.staff)} (password: {password})")
    click.echo("demo members:")
    for demo in result.demo_members:
        click.echo(f"  {demo.membership_number}  {demo.name}: {demo.shows}")


# -- staff ------------------------------------------------------------------------------------


@cli.group()
def staff() -> None:
    """Staff accounts."""


@staff.command("create")
@click.option("--username", required=True)
@click.option("--display-name", required=True)
@click.option("--email", required=True)
@click.option(
    "--role", required=True, type=click.Choice(["agent", "team_lead", "data_team", "admin"])
)
@click.option("--team", "team_code", default=None, help="Team code, e.g. payments.")
@click.pass_context
def staff_create(
    ctx: click.Context,
    username: str,
    display_name: str,
    email: str,
    role: str,
    team_code: str | None,
) -> None:
    """Create a staff account; the password comes from MEMBERDESK_STAFF_PASSWORD or a prompt."""
    from api.staff.service import create_staff, validate_password

    password = os.environ.get(PASSWORD_ENV) or click.prompt(
        "Password (at least 12 characters)", hide_input=True, confirmation_prompt=True
    )
    validate_password(password)
    with _session(ctx) as session:
        try:
            user = create_staff(
                db_session=session,
                username=username,
                display_name=display_name,
                email=email,
                password=password,
                role=role,
                team_code=team_code,
            )
        except BaseException:
            session.rollback()
            raise
        click.echo(f"created staff user {user.username} ({user.role.value})")


# -- cases ------------------------------------------------------------------------------------


@cli.group()
def cases() -> None:
    """The teams' case emails."""


@cases.command("sla-digest")
@click.pass_context
def cases_sla_digest(ctx: click.Context) -> None:
    """Queue today's email to each team listing its cases past their SLA (once a day; cron)."""
    from api.cases.handoff import queue_sla_digest

    with _session(ctx) as session:
        emails = queue_sla_digest(db_session=session, settings=ctx.obj["settings"])
        click.echo(f"queued {len(emails)} SLA digest email(s)")


# -- retention --------------------------------------------------------------------------------


@cli.group()
def retention() -> None:
    """Conversation data kept no longer than MEMBERDESK_RETENTION_DAYS (docs/data-protection.md)."""


@retention.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what is past its retention; delete nothing.")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 10_000),
              help="Rows removed per transaction.")
@click.pass_context
def retention_purge(ctx: click.Context, dry_run: bool, batch_size: int) -> None:
    """Remove transcripts, emails and trackers past their retention; print a JSON report."""
    import json

    from api.data_protection.retention import purge

    with _session(ctx) as session:
        report = purge(db_session=session, settings=ctx.obj["settings"], dry_run=dry_run,
                       batch_size=batch_size)
    click.echo(json.dumps(report.as_dict(), indent=2))


# -- email ------------------------------------------------------------------------------------

from api.mail.cli import email_group, run_in_bot  # noqa: E402 - beside the other groups

cli.add_command(email_group)


# -- telegram ---------------------------------------------------------------------------------


@cli.group("telegram")
def telegram_group() -> None:
    """The Telegram webhook (channels/TELEGRAM.md): the bot runs in the bot environment."""


@telegram_group.command("set-webhook")
@click.argument("url")
@click.option("--drop-pending-updates", is_flag=True, help="Discard updates not yet delivered.")
def telegram_set_webhook(url: str, drop_pending_updates: bool) -> None:
    """Register URL (https) with Telegram, with the webhook secret."""
    run_in_bot("channels.telegram.cli", "set-webhook", url,
               *(["--drop-pending-updates"] if drop_pending_updates else []))


@telegram_group.command("webhook-info")
def telegram_webhook_info() -> None:
    """What Telegram has registered, and its last delivery error."""
    run_in_bot("channels.telegram.cli", "webhook-info")


@telegram_group.command("delete-webhook")
def telegram_delete_webhook() -> None:
    """Stop Telegram delivering updates."""
    run_in_bot("channels.telegram.cli", "delete-webhook")


@cli.command("doctor")
@click.option("--env-file", "env_files", multiple=True, type=_READABLE_FILE,
              help="A KEY=value file (deploy/secrets.env) read over the environment; repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def doctor_command(env_files: tuple[Path, ...], as_json: bool) -> None:
    """Check a deployment's configuration: what is unsafe, and the fix (exit 1 if anything)."""
    from harness import doctor

    env = dict(os.environ)
    for path in env_files:
        try:
            env.update(doctor.read_env_file(path))
        except (ValueError, UnicodeDecodeError) as exc:
            raise click.ClickException(str(exc)) from None
    findings = doctor.examine(env)
    click.echo(doctor.report(findings, as_json=as_json))
    if any(finding.severity == "unsafe" for finding in findings):
        raise click.exceptions.Exit(1)


def main() -> None:
    """Entry point for the `memberdesk` console script."""
    cli(prog_name="memberdesk")


if __name__ == "__main__":
    main()
