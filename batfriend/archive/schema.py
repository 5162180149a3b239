"""The SQL schema of the archive (SQLAlchemy Core tables) and its version record.

``ensure_schema()`` creates whatever is missing and records ``SCHEMA_VERSION``.
A later change adds a step to ``_MIGRATIONS`` that upgrades version N to N+1;
there is no migration tool yet because there is nothing to migrate.
"""

import threading
import time
from collections.abc import Callable

import sqlalchemy
from sqlalchemy import Boolean, Column, Double, Index, Integer, MetaData, String, Table, Text

SCHEMA_VERSION = 1

_TABLE_OPTIONS = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}

metadata = MetaData()

schema_versions = Table(
    "batfriend_schema_versions",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", Double, nullable=False),
    **_TABLE_OPTIONS,
)

archived_inbox_messages = Table(
    "archived_inbox_messages",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("owner", String(32), nullable=False),
    Column("sender", String(32), nullable=True),
    Column("body", Text, nullable=False),
    Column("sent_at", Double, nullable=False),
    Column("deliver_at", Double, nullable=False),
    Column("is_read", Boolean, nullable=False),
    Index("ix_archived_inbox_owner_order", "owner", "sent_at", "id"),
    **_TABLE_OPTIONS,
)

archived_lobby_messages = Table(
    "archived_lobby_messages",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("lobby", String(32), nullable=False),
    Column("sender", String(32), nullable=True),
    Column("body", Text, nullable=False),
    Column("sent_at", Double, nullable=False),
    Column("deliver_at", Double, nullable=False),
    Index("ix_archived_lobby_order", "lobby", "sent_at", "id"),
    **_TABLE_OPTIONS,
)

# version N -> the function that upgrades a database at version N - 1 to N.
_MIGRATIONS: dict[int, Callable[[sqlalchemy.Connection], None]] = {}

_ensured: set[str] = set()
_lock = threading.Lock()


def _current_version(connection: sqlalchemy.Connection) -> int:
    found = connection.execute(sqlalchemy.select(sqlalchemy.func.max(schema_versions.c.version)))
    return found.scalar() or 0


def _record_version(connection: sqlalchemy.Connection, version: int) -> None:
    """Record ``version``; another process recording it first is as good."""
    exists = connection.execute(
        sqlalchemy.select(schema_versions.c.version).where(schema_versions.c.version == version)
    ).first()
    if exists is None:
        connection.execute(
            schema_versions.insert(), {"version": version, "applied_at": time.time()}
        )


def ensure_schema(engine: sqlalchemy.Engine) -> int:
    """Create missing tables, run pending migrations, and return the schema version.

    A new database gets the current tables and is recorded at ``SCHEMA_VERSION``.
    """
    key = engine.url.render_as_string(hide_password=True)
    with _lock:
        if key in _ensured:
            return SCHEMA_VERSION
        metadata.create_all(engine, checkfirst=True)
        with engine.begin() as connection:
            version = _current_version(connection)
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"the database schema is version {version}, newer than this code's "
                    f"{SCHEMA_VERSION}: deploy the newer batfriend"
                )
            steps = range(version + 1, SCHEMA_VERSION + 1) if version else [SCHEMA_VERSION]
            for step in steps:
                if version:
                    _MIGRATIONS[step](connection)
                _record_version(connection, step)
        _ensured.add(key)
        return SCHEMA_VERSION
