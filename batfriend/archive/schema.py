"""The archive's SQL schema (SQLAlchemy Core tables), its version record and its one INSERT.

Each table's (owner or lobby, id) index is declared as a unique constraint, so
it is part of the table's one ``CREATE TABLE IF NOT EXISTS`` and processes
racing at first use cannot leave a table without it. A database recorded at a
newer version is refused.
"""

import time
from typing import Any

import sqlalchemy
from sqlalchemy import Column, Double, Integer, MetaData, String, Table, Text, UniqueConstraint
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.schema import CreateTable

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
    UniqueConstraint("owner", "id", name="ix_archived_inbox_owner_id"),
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
    UniqueConstraint("lobby", "id", name="ix_archived_lobby_lobby_id"),
    **_TABLE_OPTIONS,
)

_ensured: set[str] = set()


def insert_absent(
    connection: sqlalchemy.Connection, table: Table, rows: list[dict[str, Any]]
) -> None:
    """Insert ``rows`` in one multi-row INSERT, skipping any whose id is already there."""
    dialect = connection.dialect.name
    if dialect in ("mysql", "mariadb"):
        key = table.primary_key.columns[0]
        statement = mysql.insert(table).values(rows).on_duplicate_key_update({key.name: key})
    elif dialect == "sqlite":
        statement = sqlite.insert(table).values(rows).on_conflict_do_nothing()
    else:
        raise ValueError(f"the archive needs SQLite or MySQL/MariaDB, not {dialect}")
    connection.execute(statement)


def create_schema(engine: sqlalchemy.Engine) -> int:
    """Create the tables that are missing and record this code's version; return it.

    Safe to run from many processes at once: every statement is a no-op when its
    effect is already there.
    """
    with engine.begin() as connection:
        for table in metadata.sorted_tables:
            connection.execute(CreateTable(table, if_not_exists=True))
        newest = connection.execute(
            sqlalchemy.select(sqlalchemy.func.max(schema_versions.c.version))
        ).scalar()
        if newest is not None and newest > SCHEMA_VERSION:
            raise RuntimeError(
                f"the archive schema is at version {newest}, newer than this code's "
                f"{SCHEMA_VERSION}: deploy the newer batfriend"
            )
        insert_absent(
            connection, schema_versions, [{"version": SCHEMA_VERSION, "applied_at": time.time()}]
        )
    return SCHEMA_VERSION


def ensure_schema(engine: sqlalchemy.Engine) -> None:
    """Create the schema on this process's first use of ``engine``'s database.

    Threads of a first use race without a lock (create_schema is safe to run at
    once), so none waits behind another's attempt while SQL hangs.
    """
    key = engine.url.render_as_string(hide_password=True)
    if key not in _ensured:
        create_schema(engine)
        _ensured.add(key)
