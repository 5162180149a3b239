import threading

import pytest
import sqlalchemy

from archive_base import ArchiveTestBase
from batfriend import config, databases
from batfriend.archive.schema import (
    SCHEMA_VERSION,
    archived_inbox_messages,
    archived_lobby_messages,
    create_schema,
    metadata,
    schema_versions,
)

TABLES = {"batfriend_schema_versions", "archived_inbox_messages", "archived_lobby_messages"}
ON_MYSQL = (config.BATFRIEND_TEST_DATABASE_URL or "").startswith("mysql")


def versions(engine):
    with engine.connect() as connection:
        return [row.version for row in connection.execute(sqlalchemy.select(schema_versions))]


@pytest.fixture
def fresh_sqlite(tmp_path):
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path}/fresh.sqlite3")
    yield engine
    engine.dispose()


class TestSchema(ArchiveTestBase):
    def test_creates_missing_tables_and_records_the_version_once(self, fresh_sqlite):
        assert create_schema(fresh_sqlite) == SCHEMA_VERSION == 1
        assert TABLES <= set(sqlalchemy.inspect(fresh_sqlite).get_table_names())
        assert create_schema(fresh_sqlite) == 1
        assert versions(fresh_sqlite) == [1]

    def test_refuses_a_database_of_a_newer_version(self, fresh_sqlite):
        create_schema(fresh_sqlite)
        with fresh_sqlite.begin() as connection:
            connection.execute(schema_versions.insert(), {"version": 2, "applied_at": 0.0})
        with pytest.raises(RuntimeError, match="version 2, newer"):
            create_schema(fresh_sqlite)

    def test_processes_racing_to_create_it_all_succeed(self):
        """Against the suite's database (MariaDB when configured): drop, then 4 racers."""
        engine = databases.get_engine()
        metadata.drop_all(engine)
        start = threading.Barrier(4)
        results, errors = [], []

        def create():
            start.wait()
            try:
                results.append(create_schema(engine))
            except Exception as error:
                errors.append(error)

        threads = [threading.Thread(target=create) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == [] and results == [1, 1, 1, 1]
        assert versions(engine) == [1]
        inspector = sqlalchemy.inspect(engine)
        assert TABLES <= set(inspector.get_table_names())
        unique = inspector.get_unique_constraints("archived_inbox_messages")
        assert [c["column_names"] for c in unique] == [["owner", "id"]]

    @pytest.mark.parametrize(
        ("table", "column"),
        [(archived_inbox_messages, "owner"), (archived_lobby_messages, "lobby")],
    )
    def test_a_page_is_an_index_range_scan_without_a_sort(self, table, column):
        query = (
            sqlalchemy.select(table.c.id, table.c.body)
            .where(table.c[column] == "room7", table.c.id < "1700000000000")
            .order_by(table.c.id.desc())
            .limit(51)
        )
        engine = databases.get_engine()
        rows = [
            {"id": f"{1_699_999_000_000 + n:013d}-000000000000-0000000000", column: f"room{n % 40}"}
            | {"sender": None, "body": "hi", "sent_at": 0.0, "deliver_at": 0.0}
            for n in range(4000)
        ]
        with engine.begin() as connection:
            connection.execute(table.insert(), rows)
            if ON_MYSQL:
                connection.execute(sqlalchemy.text(f"ANALYZE TABLE {table.name}"))
        compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
        with engine.connect() as connection:
            if ON_MYSQL:
                plan = connection.execute(sqlalchemy.text(f"EXPLAIN {compiled}")).mappings().one()
                assert plan["key"] == f"ix_{table.name.removesuffix('_messages')}_{column}_id"
                assert "filesort" not in (plan["Extra"] or "")
            else:
                plan = " ".join(
                    row[-1]
                    for row in connection.execute(sqlalchemy.text(f"EXPLAIN QUERY PLAN {compiled}"))
                )
                assert "USING INDEX" in plan and "TEMP B-TREE" not in plan, plan

    @pytest.mark.skipif(not ON_MYSQL, reason="BATFRIEND_TEST_DATABASE_URL names no MySQL/MariaDB")
    def test_mysql_tables_are_utf8mb4_with_binary_ids(self):
        with databases.get_engine().connect() as connection:
            rows = connection.execute(
                sqlalchemy.text(
                    "SELECT TABLE_NAME, TABLE_COLLATION FROM information_schema.TABLES"
                    " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'archived_%'"
                )
            ).all()
        assert sorted(rows) == [
            ("archived_inbox_messages", "utf8mb4_bin"),
            ("archived_lobby_messages", "utf8mb4_bin"),
        ]
