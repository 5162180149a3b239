import pytest

from archive_base import ODD_BODIES, ArchiveTestBase, archived_ids
from batfriend.archive import store
from batfriend.archive.schema import archived_lobby_messages
from batfriend.archive.store import Archive
from batfriend.databases import SQL_DOWN
from batfriend.message import Message

T = 1_700_000_000.0


def inbox_message(n, owner="bob", body=None):
    return Message.compose("alice", body or f"m{n}", T + n, to=owner)


class TestArchive(ArchiveTestBase):
    def test_adding_a_batch_twice_stores_each_message_once(self):
        batch = [inbox_message(n) for n in range(5)]
        batch += [Message.compose("alice", f"l{n}", T + n, lobby="bats") for n in range(3)]
        Archive().add(batch)
        late = inbox_message(9)
        Archive().add([*batch[2:], late])
        assert archived_ids(where="bob") == sorted([*(m.id for m in batch[:5]), late.id])
        assert archived_ids(archived_lobby_messages, "bats") == sorted(m.id for m in batch[5:])

    def test_messages_come_back_identical(self):
        sent = [inbox_message(n, body=body) for n, body in enumerate(ODD_BODIES)]
        system = Message.compose(None, "from the system", T + 99, to="bob")
        posted = [
            Message.compose("carol", b, T + n, lobby="bats") for n, b in enumerate(ODD_BODIES)
        ]
        Archive().add([*sent, system, *posted])
        page = Archive().inbox_page("bob", None, 100)
        assert page == sorted([*sent, system], key=lambda m: m.id, reverse=True)
        assert [m.body.encode() for m in reversed(page[1:])] == [b.encode() for b in ODD_BODIES]
        assert Archive().lobby_page("bats", None, 100) == posted[::-1]

    def test_pages_are_one_owner_newest_first_below_the_cursor(self):
        mine = [inbox_message(n) for n in range(10)]
        Archive().add(mine + [inbox_message(n, owner="carol") for n in range(10)])
        first = Archive().inbox_page("bob", None, 4)
        assert first == mine[:-5:-1]
        assert Archive().inbox_page("bob", first[-1].id, 100) == mine[-5::-1]
        assert Archive().inbox_page("bob", mine[0].id, 100) == []
        assert Archive().inbox_page("dave", None, 100) == []

    def test_a_batch_too_big_for_one_statement_is_split_in_one_transaction(self, monkeypatch):
        statements = []
        original = store.insert_absent
        monkeypatch.setattr(
            store,
            "insert_absent",
            lambda connection, table, rows: (
                statements.append(len(rows)) or original(connection, table, rows)
            ),
        )
        batch = [inbox_message(n, body="🦇" * 4000) for n in range(300)]
        Archive().add(batch)
        assert statements == [129, 129, 42]
        assert len(archived_ids(where="bob")) == 300

    def test_small_messages_take_one_statement_per_table(self, monkeypatch):
        statements = []
        original = store.insert_absent
        monkeypatch.setattr(
            store,
            "insert_absent",
            lambda connection, table, rows: (
                statements.append((table.name, len(rows))) or original(connection, table, rows)
            ),
        )
        Archive().add(
            [inbox_message(n) for n in range(500)]
            + [Message.compose("a", "x", T + n, lobby="bats") for n in range(500)]
        )
        assert statements == [("archived_inbox_messages", 500), ("archived_lobby_messages", 500)]

    def test_an_unreachable_database_raises_a_database_down_error(self, sql_down):
        sql_down()
        with pytest.raises(SQL_DOWN):
            Archive().add([inbox_message(1)])
        with pytest.raises(SQL_DOWN):
            Archive().lobby_page("bats", None, 10)
