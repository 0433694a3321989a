"""The IMAP poller: new mail in the support mailbox is triaged once, and flagged when done.

Over TLS only (IMAPS). A message is fetched with BODY.PEEK (staff still see it unread), recorded
through the records API, and only then given the $MemberdeskTriaged keyword. The API records
each Message-ID once, so a crash between the two costs nothing: the next pass fetches the
message again, the API answers "seen before", and the flag is set. While the API is down (no
answer, 502, 503 or 504, or it refuses the poller itself) the pass stops and the rest of the
mail waits in the mailbox, however long that takes.

A message that fails on its own (the API refuses it or fails on it with a 500, or it cannot be
parsed) must not hold up the mail behind it: the pass goes on, the failure is counted on the
message itself (an IMAP keyword, so a restart remembers it), and after `max_failures` failed
passes the message is quarantined: flagged, logged, counted in the poll report and not tried
again until someone removes the keyword.
"""

from __future__ import annotations

import imaplib
import logging
import ssl
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from bot.records import RecordsApiFailed, RecordsApiRefused, RecordsApiUnavailable
from channels.email.settings import (
    FAILED_KEYWORD_PREFIX,
    PROCESSED_KEYWORD,
    QUARANTINED_KEYWORD,
    MailboxSettings,
)

log = logging.getLogger("memberdesk.email.imap")

# Triage a chunk of raw messages in one pass of the model; record one triaged message.
TriageChunk = Callable[[list[bytes]], list[Any]]
Record = Callable[[Any], dict[str, Any]]
# A chunk is cut at this many bytes as well as at the batch size, so a few 20 MB attachments
# never sit in memory together.
_CHUNK_BYTES = 32 * 1024 * 1024
# Answers that say the API is away, not that this message is at fault: the mail waits, and no
# message is counted toward quarantine for them.
_API_AWAY = frozenset({502, 503, 504})
# Refusals of the poller itself (its token, its rate), not of the message.
_POLLER_REFUSED = frozenset({401, 403, 408, 429})


class MailboxUnavailable(Exception):
    """The IMAP server could not be reached, or refused the login or the folder."""


@dataclass(frozen=True)
class PollReport:
    processed: int
    duplicates: int
    failed: int
    waiting: int
    # Messages given up on in this pass, after `max_failures` failed passes: not tried again.
    quarantined: int = 0


def _tls_context(settings: MailboxSettings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=settings.ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _ok(result: tuple[str, Any], what: str) -> Any:
    status, data = result
    if status != "OK":
        raise MailboxUnavailable(f"{what}: {status}")
    return data


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _failed_passes(data: list[Any]) -> int:
    """How many failed passes a message's keywords record (from a FETCH of its FLAGS)."""
    passes = 0
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        for flag in imaplib.ParseFlags(line) if isinstance(line, bytes) else ():
            number = flag.decode(errors="replace").removeprefix(FAILED_KEYWORD_PREFIX)
            if number.isdigit() and flag.startswith(FAILED_KEYWORD_PREFIX.encode()):
                passes = max(passes, int(number))
    return passes


def _raw_message(data: list[Any]) -> bytes | None:
    for item in data:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None


class MailboxPoller:
    """One pass, or a bounded loop of passes, over the support mailbox."""

    def __init__(self, settings: MailboxSettings, *, triage_chunk: TriageChunk, record: Record,
                 delete_card_numbers: bool = True, record_workers: int = 4) -> None:
        self.settings = settings
        self._record_workers = record_workers
        self._triage_chunk = triage_chunk
        self._record = record
        self._delete_card_numbers = delete_card_numbers
        # For one pass: each message's Message-ID by UID (for the log), and the messages the
        # API failed on (a 500), counted at the end of the pass (_count_500s).
        self._message_ids: dict[str, str] = {}
        self._server_failures: list[tuple[str, str]] = []

    def _connect(self) -> imaplib.IMAP4_SSL:
        settings = self.settings
        try:
            client = imaplib.IMAP4_SSL(settings.host, settings.port,
                                       ssl_context=_tls_context(settings),
                                       timeout=settings.timeout)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise MailboxUnavailable(f"connect to {settings.host}:{settings.port}: {exc}") from exc
        try:
            _ok(client.login(settings.user, settings.password), "login")
            _ok(client.select(_quoted(settings.folder)), f"select {settings.folder}")
        except (OSError, imaplib.IMAP4.error) as exc:
            client.shutdown()
            raise MailboxUnavailable(f"login or select: {exc}") from exc
        return client

    def poll_once(self) -> PollReport:
        """Triage up to `batch` unprocessed messages, oldest first.

        Chunks are pipelined: while one chunk is being recorded by the records API (a few
        requests at once, from worker threads), the next is fetched and classified here. Flags
        are set from this thread only, each after its own message was recorded.
        """
        client = self._connect()
        counts = {"processed": 0, "duplicates": 0, "failed": 0, "quarantined": 0}
        self._message_ids, self._server_failures = {}, []
        expunge = api_down = False
        in_flight: list[tuple[str, Future[dict[str, Any]]]] = []
        try:
            with ThreadPoolExecutor(max_workers=self._record_workers,
                                    thread_name_prefix="email-record") as pool:
                found = _ok(client.uid("SEARCH", "UNKEYWORD", PROCESSED_KEYWORD, "UNKEYWORD",
                                       QUARANTINED_KEYWORD, "NOT", "DELETED"), "search")
                uids = [uid.decode() for uid in (found[0] or b"").split() if uid.isdigit()]
                todo = uids[: self.settings.batch]
                chunk: list[tuple[str, bytes]] = []
                size = 0
                for position, uid in enumerate(todo):
                    data = _ok(client.uid("FETCH", uid, "(BODY.PEEK[])"), f"fetch {uid}")
                    raw = _raw_message(data)
                    if raw is not None:
                        chunk.append((uid, raw))
                        size += len(raw)
                    last = position == len(todo) - 1
                    if not chunk or not (last or size >= _CHUNK_BYTES or len(chunk) >= 20):
                        continue
                    triaged = self._triage(client, chunk, counts)
                    expunged, api_down = self._flag_recorded(client, in_flight, counts)
                    expunge = expunge or expunged
                    in_flight = [] if api_down else self._record_in_order(pool, [
                        (chunk_uid, email)
                        for (chunk_uid, _), email in zip(chunk, triaged, strict=True)
                        if email is not None
                    ])
                    chunk, size = [], 0
                    if api_down:
                        break
                expunged, down = self._flag_recorded(client, in_flight, counts)
                expunge, api_down = expunge or expunged, api_down or down
            self._count_500s(client, counts)
            if expunge:
                client.expunge()
            waiting = max(0, len(uids) - counts["processed"] - counts["duplicates"]
                          - counts["quarantined"])
        except (OSError, imaplib.IMAP4.error) as exc:
            raise MailboxUnavailable(f"during the pass: {exc}") from exc
        finally:
            try:
                client.logout()
            except (OSError, imaplib.IMAP4.error):
                client.shutdown()
        return PollReport(waiting=waiting, **counts)

    def _record_in_order(
        self, pool: ThreadPoolExecutor, emails: list[tuple[str, Any]]
    ) -> list[tuple[str, Future[dict[str, Any]]]]:
        """Record a chunk: one conversation's emails one after another, in the order they
        arrived; different conversations side by side.

        A reply must be recorded after the email it answers, or it finds no case to join and
        opens a second one. A conversation here is a sender, joined with any email in the
        chunk that another one's In-Reply-To or References names (a colleague replying in
        the thread).
        """
        thread_of: dict[str, int] = {}
        threads: list[list[tuple[str, Any, Future[dict[str, Any]]]]] = []
        in_flight: list[tuple[str, Future[dict[str, Any]]]] = []
        for uid, email in emails:
            parsed = email.parsed
            self._message_ids[uid] = parsed.message_id or "(no Message-ID)"
            keys = [f"from:{(parsed.from_address or '').lower()}", f"id:{parsed.message_id}"]
            named = [f"id:{m}" for m in [parsed.in_reply_to, *parsed.references] if m]
            known = [thread_of[key] for key in keys + named if key in thread_of]
            thread = known[0] if known else len(threads)
            if not known:
                threads.append([])
            for key in keys:
                thread_of.setdefault(key, thread)
            future: Future[dict[str, Any]] = Future()
            threads[thread].append((uid, email, future))
            in_flight.append((uid, future))
        for thread_emails in threads:
            pool.submit(self._record_each, thread_emails)
        return in_flight

    def _record_each(self, emails: list[tuple[str, Any, Future[dict[str, Any]]]]) -> None:
        for _uid, email, future in emails:
            try:
                future.set_result(self._record(email))
            except BaseException as exc:  # noqa: BLE001 - handed to the flagging thread
                future.set_exception(exc)

    def _triage(self, client: imaplib.IMAP4_SSL, chunk: list[tuple[str, bytes]],
                counts: dict[str, int]) -> list[Any]:
        """The chunk triaged in one pass; one by one if that fails (None for an unreadable one,
        whose failure is counted on it)."""
        try:
            return self._triage_chunk([raw for _, raw in chunk])
        except Exception:  # noqa: BLE001 - one unreadable email must not hold up the rest
            triaged: list[Any] = []
            for uid, raw in chunk:
                try:
                    triaged.extend(self._triage_chunk([raw]))
                except Exception as exc:  # noqa: BLE001
                    log.exception("message uid %s could not be triaged", uid)
                    self._count_failure(client, uid, counts,
                                        f"it could not be parsed ({exc.__class__.__name__})")
                    triaged.append(None)
            return triaged

    def _flag_recorded(self, client: imaplib.IMAP4_SSL,
                       in_flight: list[tuple[str, Future[dict[str, Any]]]],
                       counts: dict[str, int]) -> tuple[bool, bool]:
        """Wait for each recording and flag its message; (anything to expunge, API down)."""
        expunge = api_down = False
        for uid, recording in in_flight:
            try:
                outcome = recording.result()
            except RecordsApiFailed as exc:
                if exc.status in _API_AWAY:
                    log.warning("records API unavailable, mail waits: %s", exc)
                    counts["failed"] += 1
                    api_down = True
                else:
                    self._server_failures.append((uid, f"the records API failed on it ({exc})"))
                continue
            except RecordsApiUnavailable as exc:
                log.warning("records API unavailable, mail waits: %s", exc)
                counts["failed"] += 1
                api_down = True
                continue
            except RecordsApiRefused as exc:
                if exc.status in _POLLER_REFUSED:
                    log.error("records API refused the poller itself, mail waits: %s", exc)
                    counts["failed"] += 1
                    api_down = True
                else:
                    # About this email (a value the API will never accept): counted on it, the
                    # rest carry on.
                    self._count_failure(client, uid, counts,
                                        f"the records API refused it ({exc})")
                continue
            except Exception as exc:  # noqa: BLE001 - one message's fault, e.g. its payload
                log.exception("message uid %s could not be recorded", uid)
                self._count_failure(client, uid, counts,
                                    f"it could not be recorded ({exc.__class__.__name__})")
                continue
            flags = PROCESSED_KEYWORD
            # An email with a card number in it is deleted once its masked copy is on the
            # case (PCI DSS: the number must not be stored anywhere).
            if self._delete_card_numbers and outcome.get("card_number_removed"):
                flags += " \\Deleted"
                expunge = True
            _ok(client.uid("STORE", uid, "+FLAGS.SILENT", f"({flags})"), f"flag {uid}")
            counts["duplicates" if outcome.get("duplicate") else "processed"] += 1
        return expunge, api_down

    def _count_500s(self, client: imaplib.IMAP4_SSL, counts: dict[str, int]) -> None:
        """Count the messages the API failed on, if it recorded others in this pass.

        A 500 for one message, while others are recorded, is about that message. A 500 for
        every message is the API's own trouble (its database away, say): the mail waits, and
        nothing is counted toward quarantine.
        """
        failures, self._server_failures = self._server_failures, []
        if failures and not (counts["processed"] or counts["duplicates"]):
            log.warning("records API failed on every message of the pass, mail waits: %s",
                        failures[0][1])
            counts["failed"] += len(failures)
            return
        for uid, reason in failures:
            self._count_failure(client, uid, counts, reason)

    def _count_failure(self, client: imaplib.IMAP4_SSL, uid: str, counts: dict[str, int],
                       reason: str) -> None:
        """Count a failed pass on the message; quarantine it at `max_failures`."""
        counts["failed"] += 1
        message_id = self._message_ids.get(uid, "(not parsed)")
        passes = 1 + _failed_passes(_ok(client.uid("FETCH", uid, "(FLAGS)"), f"flags {uid}"))
        limit = self.settings.max_failures
        if passes < limit:
            _ok(client.uid("STORE", uid, "+FLAGS.SILENT", f"({FAILED_KEYWORD_PREFIX}{passes})"),
                f"count failure {uid}")
            log.error("message uid %s %s failed (%d of %d passes before quarantine): %s",
                      uid, message_id, passes, limit, reason)
            return
        # \Flagged as well, so staff reading the mailbox see it stand out.
        _ok(client.uid("STORE", uid, "+FLAGS.SILENT", f"({QUARANTINED_KEYWORD} \\Flagged)"),
            f"quarantine {uid}")
        counts["quarantined"] += 1
        log.error("message uid %s %s QUARANTINED after %d failed passes, not tried again until "
                  "%s is removed: %s", uid, message_id, passes, QUARANTINED_KEYWORD, reason)

    def run(self, *, should_stop: Callable[[], bool], max_passes: int | None = None) -> None:
        """Poll every `poll_seconds` until `should_stop()` (or `max_passes`)."""
        passes = 0
        while not should_stop() and (max_passes is None or passes < max_passes):
            passes += 1
            try:
                report = self.poll_once()
                if report.processed or report.failed or report.quarantined:
                    log.info("email: %s", report)
                if report.waiting and not report.failed:
                    continue  # more than a batch waiting: straight on
            except MailboxUnavailable as exc:
                log.warning("mailbox unavailable, retrying later: %s", exc)
            deadline = time.monotonic() + self.settings.poll_seconds
            while not should_stop() and time.monotonic() < deadline:
                time.sleep(0.5)

