"""ArchiveTestBase: empty test Redis and empty archive tables, and helpers to read the tables."""

import sqlalchemy

from base_test import TestBase
from batfriend import databases
from batfriend.archive.schema import archived_inbox_messages, archived_lobby_messages, ensure_schema
from batfriend.archiver import Archiver
from batfriend.message import Message
from batfriend.messages import Messages

DAY = 86400.0
NOW = 1_700_000_000.0
RETENTION = 30 * DAY
OLD = NOW - RETENTION - DAY


# Bodies that must come back byte for byte: the longest allowed (in 4-byte characters
# too), emoji sequences, combining marks, right-to-left, control characters, spaces.
ODD_BODIES = [
    "🦇" * 4000,
    "x" * 4000,
    "👩‍👩‍👧 family, 🇫🇷 flag, e\u0301 combining, \u202eright to left\u202c",
    "tab\there\nnewline\r\nand a NUL \x00 in the middle",
    "  leading and trailing spaces  ",
    "中文, 日本語, 한국어, العربية, עברית",
]


def archived_ids(table=archived_inbox_messages, where=None):
    """Return every archived id of ``table`` (optionally of one owner or lobby), in id order."""
    query = sqlalchemy.select(table.c.id).order_by(table.c.id)
    if where is not None:
        column = table.c.owner if table is archived_inbox_messages else table.c.lobby
        query = query.where(column == where)
    with databases.get_engine().connect() as connection:
        return [row.id for row in connection.execute(query)]


class ArchiveTestBase(TestBase):
    """TestBase whose ``setUp`` also creates the archive tables if needed and empties them."""

    def setUp(self) -> None:
        super().setUp()
        engine = databases.get_engine()
        ensure_schema(engine)
        with engine.begin() as connection:
            for table in (archived_inbox_messages, archived_lobby_messages):
                connection.execute(table.delete())


def deliver(owner, count, start, step=0.001, bodies=("hello",)):
    """Deliver ``count`` messages to ``owner``, sent from ``start`` on, ``step`` s apart."""
    inbox = Messages(owner)
    sent = []
    for n in range(count):
        message = Message.compose("alice", bodies[n % len(bodies)], start + n * step, to=owner)
        inbox.deliver(message)
        sent.append(message)
    return sent


def archiver(**options):
    options.setdefault("retention", RETENTION)
    return Archiver(**options)
