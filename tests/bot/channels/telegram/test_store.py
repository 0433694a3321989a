"""The Telegram channel's store: links carry random keys, old stores gain them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from channels.telegram.channel import TelegramChannel
from channels.telegram.output import chat_id_of
from channels.telegram.store import TelegramStore


def test_each_link_gets_a_new_random_key(tmp_path: Path) -> None:
    store = TelegramStore(tmp_path / "telegram.sqlite3")
    keys = {store.link(4242, "1000001").link_key for _ in range(50)}
    assert len(keys) == 50 and all(len(key) >= 22 for key in keys)
    linked = store.linked_account(4242)
    assert linked is not None and linked.link_key in keys
    conversation = TelegramChannel.conversation_id(4242, linked)
    assert conversation == f"telegram:4242:linked-{linked.link_key}"
    assert chat_id_of(conversation) == 4242


def test_a_store_from_before_link_keys_gives_each_old_link_one(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE linked_accounts (link_id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " telegram_user_id INTEGER NOT NULL UNIQUE, membership_number TEXT NOT NULL,"
            " linked_at REAL NOT NULL)"
        )
        old.execute("INSERT INTO linked_accounts VALUES (1, 77, '1000002', 0)")
        old.execute("INSERT INTO linked_accounts VALUES (2, 78, '1000003', 0)")
    store = TelegramStore(path)
    first, second = store.linked_account(77), store.linked_account(78)
    assert first is not None and second is not None
    assert len(first.link_key) >= 22 and first.link_key != second.link_key
    # The old guessable conversation ("77:linked-1") is not the new one.
    assert TelegramChannel.conversation_id(77, first) != "77:linked-1"


def test_older_conversation_ids_still_name_their_chat() -> None:
    assert chat_id_of("4242") == 4242
    assert chat_id_of("4242:linked-7") == 4242
    assert chat_id_of("telegram:4242") == 4242
    assert chat_id_of("telegram:-100123:linked-abc") == -100123
