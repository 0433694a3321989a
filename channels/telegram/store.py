"""What the Telegram channel keeps across restarts, in one small SQLite file.

- updates already handled, so a redelivered update is handled once (Telegram redelivers
  when a webhook call fails or times out, and keeps undelivered updates for 24 hours);
- Telegram accounts linked to a membership after a one-time code;
- link attempts in progress (which step, which membership number);
- button payloads too long for Telegram's 64-byte callback data.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# Longer than Telegram keeps an undelivered update.
UPDATE_MEMORY_SECONDS = 7 * 24 * 3600
BUTTON_MEMORY_SECONDS = 30 * 24 * 3600
_PRUNE_EVERY = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS handled_updates (
    update_id INTEGER PRIMARY KEY,
    handled_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS handled_updates_at ON handled_updates (handled_at);
CREATE TABLE IF NOT EXISTS linked_accounts (
    link_id INTEGER PRIMARY KEY AUTOINCREMENT,
    telegram_user_id INTEGER NOT NULL UNIQUE,
    membership_number TEXT NOT NULL,
    linked_at REAL NOT NULL,
    link_key TEXT
);
CREATE TABLE IF NOT EXISTS link_attempts (
    telegram_user_id INTEGER PRIMARY KEY,
    step TEXT NOT NULL,
    membership_number TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS button_payloads (
    token TEXT PRIMARY KEY,
    chat_id INTEGER NOT NULL,
    payload TEXT NOT NULL,
    kept_at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class LinkedAccount:
    link_id: int
    telegram_user_id: int
    membership_number: str
    # Random, and part of the verified conversation's id: a counter would let anyone who
    # knows a chat id name the conversation its link verified.
    link_key: str = ""


def new_link_key() -> str:
    return secrets.token_urlsafe(16)


@dataclass(frozen=True)
class LinkAttempt:
    telegram_user_id: int
    # "membership_number": waiting for the number; "code": a code has been emailed.
    step: str
    membership_number: str | None = None
    failures: int = 0


def _add_link_keys(connection: sqlite3.Connection) -> None:
    """A store from before link keys: add the column and give every link a key of its own."""
    columns = {row[1] for row in connection.execute("PRAGMA table_info(linked_accounts)")}
    if "link_key" not in columns:
        connection.execute("ALTER TABLE linked_accounts ADD COLUMN link_key TEXT")
    unkeyed = [row[0] for row in connection.execute(
        "SELECT link_id FROM linked_accounts WHERE link_key IS NULL"
    )]
    for link_id in unkeyed:
        connection.execute("UPDATE linked_accounts SET link_key = ? WHERE link_id = ?",
                           (new_link_key(), link_id))


class TelegramStore:
    """The channel's SQLite file, opened on first use."""

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._claims = 0

    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=10
            )
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.executescript(_SCHEMA)
            _add_link_keys(connection)
            self._connection = connection
        return self._connection

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def claim_update(self, update_id: int) -> bool:
        """True the first time `update_id` is seen; False for a redelivery."""
        now = self._clock()
        with self._lock:
            db = self._db()
            claimed = db.execute(
                "INSERT OR IGNORE INTO handled_updates (update_id, handled_at) VALUES (?, ?)",
                (update_id, now),
            ).rowcount
            self._claims += 1
            if self._claims % _PRUNE_EVERY == 0:
                db.execute(
                    "DELETE FROM handled_updates WHERE handled_at < ?",
                    (now - UPDATE_MEMORY_SECONDS,),
                )
                db.execute(
                    "DELETE FROM button_payloads WHERE kept_at < ?",
                    (now - BUTTON_MEMORY_SECONDS,),
                )
        return claimed == 1

    def linked_account(self, telegram_user_id: int) -> LinkedAccount | None:
        """The membership this Telegram account is linked to, if any."""
        with self._lock:
            row = self._db().execute(
                "SELECT link_id, membership_number, link_key FROM linked_accounts "
                "WHERE telegram_user_id = ?",
                (telegram_user_id,),
            ).fetchone()
        if row is None:
            return None
        return LinkedAccount(
            link_id=int(row[0]), telegram_user_id=telegram_user_id, membership_number=row[1],
            link_key=row[2],
        )

    def link(self, telegram_user_id: int, membership_number: str) -> LinkedAccount:
        """Link this Telegram account to a membership (replacing any earlier link)."""
        key = new_link_key()
        with self._lock:
            db = self._db()
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(
                    "DELETE FROM linked_accounts WHERE telegram_user_id = ?", (telegram_user_id,)
                )
                link_id = db.execute(
                    "INSERT INTO linked_accounts"
                    " (telegram_user_id, membership_number, linked_at, link_key)"
                    " VALUES (?, ?, ?, ?)",
                    (telegram_user_id, membership_number, self._clock(), key),
                ).lastrowid
                db.execute(
                    "DELETE FROM link_attempts WHERE telegram_user_id = ?", (telegram_user_id,)
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return LinkedAccount(
            link_id=int(link_id or 0),
            telegram_user_id=telegram_user_id,
            membership_number=membership_number,
            link_key=key,
        )

    def unlink(self, telegram_user_id: int) -> bool:
        """Remove this account's link; False when there was none."""
        with self._lock:
            removed = self._db().execute(
                "DELETE FROM linked_accounts WHERE telegram_user_id = ?", (telegram_user_id,)
            ).rowcount
        return removed > 0

    def link_attempt(self, telegram_user_id: int, *, max_age_seconds: float) -> LinkAttempt | None:
        """The link attempt in progress, unless it has been idle longer than `max_age_seconds`."""
        with self._lock:
            row = self._db().execute(
                "SELECT step, membership_number, failures, updated_at FROM link_attempts "
                "WHERE telegram_user_id = ?",
                (telegram_user_id,),
            ).fetchone()
        if row is None or row[3] < self._clock() - max_age_seconds:
            return None
        return LinkAttempt(
            telegram_user_id=telegram_user_id,
            step=row[0],
            membership_number=row[1],
            failures=int(row[2]),
        )

    def save_link_attempt(self, attempt: LinkAttempt) -> None:
        with self._lock:
            self._db().execute(
                "INSERT OR REPLACE INTO link_attempts "
                "(telegram_user_id, step, membership_number, failures, updated_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    attempt.telegram_user_id,
                    attempt.step,
                    attempt.membership_number,
                    attempt.failures,
                    self._clock(),
                ),
            )

    def end_link_attempt(self, telegram_user_id: int) -> bool:
        """Forget the attempt in progress; False when there was none."""
        with self._lock:
            removed = self._db().execute(
                "DELETE FROM link_attempts WHERE telegram_user_id = ?", (telegram_user_id,)
            ).rowcount
        return removed > 0

    def keep_button_payload(self, chat_id: int, payload: str) -> str:
        """A short token standing for `payload` on a button sent to `chat_id`."""
        token = secrets.token_urlsafe(12)
        with self._lock:
            self._db().execute(
                "INSERT INTO button_payloads (token, chat_id, payload, kept_at) "
                "VALUES (?, ?, ?, ?)",
                (token, chat_id, payload, self._clock()),
            )
        return token

    def button_payload(self, chat_id: int, token: str) -> str | None:
        """The payload behind `token`, if it was sent to this chat."""
        with self._lock:
            row = self._db().execute(
                "SELECT payload FROM button_payloads WHERE token = ? AND chat_id = ?",
                (token, chat_id),
            ).fetchone()
        return None if row is None else str(row[0])
