"""``Archive``: the messages moved from Redis to SQL, written in batches and read a page at a time.

Rows are inserted only if absent (by id), so writing a batch twice stores it
once: that is what makes archiving safe to repeat after a crash. Pages are
newest first and exclusive of the cursor, like the Redis pages they continue.
The schema is created on the first use of the database in each process, not at
start-up, so the app starts, and serves everything that needs only Redis, while
SQL is down.
"""

from collections.abc import Iterator
from typing import Any

import sqlalchemy

from batfriend.archive.schema import (
    archived_inbox_messages,
    archived_lobby_messages,
    ensure_schema,
    insert_absent,
)
from batfriend.databases import get_engine
from batfriend.message import Message

# Bodies per INSERT statement, at worst 4 bytes a character: far under MySQL's
# max_allowed_packet (4 MiB in MySQL 5.7, 16 MiB in MariaDB, 64 MiB in MySQL 8).
MAX_STATEMENT_BYTES = 2 * 1024 * 1024

_COLUMNS = ("id", "sender", "body", "sent_at", "deliver_at")


def _row(message: Message, where: str, name: str) -> dict[str, Any]:
    """Return the archive row of ``message``; ``where`` is "owner" or "lobby"."""
    row = {column: getattr(message, column) for column in _COLUMNS}
    row[where] = name
    return row


def _statements(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Split rows into INSERTs of at most ``MAX_STATEMENT_BYTES`` of bodies (one, usually)."""
    chunk: list[dict[str, Any]] = []
    size = 0
    for row in rows:
        weight = 4 * len(row["body"]) + 256
        if chunk and size + weight > MAX_STATEMENT_BYTES:
            yield chunk
            chunk, size = [], 0
        chunk.append(row)
        size += weight
    if chunk:
        yield chunk


class Archive:
    """Archived inbox and lobby messages, in the SQL database of ``get_engine()``."""

    def __init__(self) -> None:
        self._engine = get_engine()

    def _ready(self) -> sqlalchemy.Engine:
        """Return the engine, creating the schema on this process's first use."""
        ensure_schema(self._engine)
        return self._engine

    def add(self, messages: list[Message]) -> None:
        """Store the messages not stored yet, in one transaction: one multi-row INSERT per table."""
        inbox = [_row(m, "owner", m.to) for m in messages if m.to is not None]
        lobbies = [_row(m, "lobby", m.lobby) for m in messages if m.lobby is not None]
        with self._ready().begin() as connection:
            for table, rows in (
                (archived_inbox_messages, inbox),
                (archived_lobby_messages, lobbies),
            ):
                for chunk in _statements(rows):
                    insert_absent(connection, table, chunk)

    def _page(
        self, table: sqlalchemy.Table, where: str, name: str, before: str | None, limit: int
    ) -> list[sqlalchemy.Row]:
        """Return up to ``limit`` rows of one inbox or lobby, ids below ``before``, newest first."""
        conditions = [table.c[where] == name]
        if before is not None:
            conditions.append(table.c.id < before)
        query = (
            sqlalchemy.select(*(table.c[column] for column in _COLUMNS))
            .where(*conditions)
            .order_by(table.c.id.desc())
            .limit(limit)
        )
        with self._ready().connect() as connection:
            return list(connection.execute(query))

    def inbox_page(self, owner: str, before: str | None, limit: int) -> list[Message]:
        """Return ``owner``'s archived messages older than cursor ``before``, newest first.

        Their ``read`` is False here: read state lives in Redis, and the caller sets it.
        """
        rows = self._page(archived_inbox_messages, "owner", owner, before, limit)
        return [
            Message(r.id, r.sender, owner, None, r.body, r.sent_at, r.deliver_at, False)
            for r in rows
        ]

    def lobby_page(self, lobby: str, before: str | None, limit: int) -> list[Message]:
        """Return ``lobby``'s archived messages older than cursor ``before``, newest first."""
        rows = self._page(archived_lobby_messages, "lobby", lobby, before, limit)
        return [
            Message(r.id, r.sender, None, lobby, r.body, r.sent_at, r.deliver_at, None)
            for r in rows
        ]
