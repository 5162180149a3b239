import subprocess
import sys
import threading

import orjson
import pytest
import sqlalchemy

from archive_base import (
    DAY,
    NOW,
    ODD_BODIES,
    OLD,
    RETENTION,
    ArchiveTestBase,
    archived_ids,
    archiver,
    deliver,
)
from batfriend import config
from batfriend.archive import store
from batfriend.archive.schema import archived_lobby_messages
from batfriend.archiver import Archiver
from batfriend.databases import SQL_DOWN, get_redis
from batfriend.keys import LobbyKeys, MsgKeys
from batfriend.lobby import Lobby
from batfriend.message import Message
from batfriend.messages import Messages
from helpers import ROOT, environment
from paging import page_all


def post(lobby_name, count, start, cap, bodies=("hello",)):
    lobby = Lobby(lobby_name, history_cap=cap, send_limit=10**9)
    lobby.join("alice", now=start)
    return [lobby.post("alice", bodies[n % len(bodies)], now=start + n) for n in range(count)]


def history_all(lobby, limit):
    seen, before = [], None
    while True:
        page, before = lobby.history("alice", before, limit, now=NOW)
        seen.extend(page)
        if before is None:
            return seen


def in_redis(key):
    return get_redis(key).zcard(key)


class TestInboxes(ArchiveTestBase):
    def test_only_messages_older_than_the_retention_leave_redis(self):
        old = deliver("bob", 3, OLD)
        edge = deliver("bob", 1, NOW - RETENTION)
        recent = deliver("bob", 2, NOW - 60)
        assert archiver().archive_pass(now=NOW) == 3
        assert archived_ids(where="bob") == [m.id for m in old]
        assert in_redis(MsgKeys.inbox("bob")) == 3
        assert page_all(Messages("bob"), 2) == [*reversed(recent), *edge, *reversed(old)]
        assert archiver().archive_pass(now=NOW) == 0
        assert archiver().archive_pass(now=NOW + 61) == 1
        assert archived_ids(where="bob") == [m.id for m in old + edge]

    def test_the_retention_defaults_to_the_configured_one(self, monkeypatch):
        monkeypatch.setattr(config, "BATFRIEND_RETENTION_SECONDS", 10.0)
        deliver("bob", 2, NOW - 11)
        deliver("bob", 1, NOW - 9)
        assert Archiver().archive_pass(now=NOW) == 2

    def test_read_state_and_the_unread_count_stay_exact(self):
        sent = deliver("bob", 6, OLD)
        inbox = Messages("bob")
        assert inbox.mark_read([sent[0].id, sent[1].id]) == 4
        archiver().archive_pass(now=NOW)
        assert in_redis(MsgKeys.inbox("bob")) == 0
        page, _, unread = inbox.page()
        assert unread == 4
        assert [m.read for m in page] == [False, False, False, False, True, True]
        assert inbox.mark_read([sent[5].id, "1000000000000-000000000000-0000000000"]) == 3
        page, _, unread = inbox.page()
        assert unread == 3 and [m.read for m in page][:2] == [True, False]

    def test_page_json_is_page_in_the_api_shape_on_both_sides_of_the_boundary(self):
        deliver("bob", 6, OLD, bodies=ODD_BODIES)
        inbox = Messages("bob")
        deliver("bob", 4, NOW - 60)
        inbox.mark_read([m.id for m in page_all(inbox, 3)[::3]])
        before = None
        for stage in ("redis only", "archived"):
            while True:
                page, cursor, unread = inbox.page(before, 3)
                array, json_cursor, json_unread = inbox.page_json(before, 3)
                assert orjson.loads(array) == [m.to_dict() for m in page], stage
                assert (json_cursor, json_unread) == (cursor, unread), stage
                if cursor is None:
                    break
                before = cursor
            archiver().archive_pass(now=NOW)
            before = None

    @pytest.mark.slow
    def test_5000_messages_page_across_the_boundary_each_once_newest_first(self):
        bodies = [*ODD_BODIES, *(f"message {n}" for n in range(20))]
        sent = deliver("bob", 4000, OLD, step=0.0004, bodies=bodies)
        sent += deliver("bob", 1000, NOW - 3600, step=0.0004, bodies=bodies)
        assert len({m.sent_at for m in sent}) < 5000
        assert archiver().archive_pass(now=NOW) == 4000
        assert in_redis(MsgKeys.inbox("bob")) == 1000
        assert len(archived_ids(where="bob")) == 4000
        newest_first = sorted(sent, key=lambda m: m.id, reverse=True)
        for limit in (100, 37):
            seen = page_all(Messages("bob"), limit)
            assert [m.id for m in seen] == [m.id for m in newest_first]
            assert [m.body.encode() for m in seen] == [m.body.encode() for m in newest_first]
            assert seen == [m.__class__(**{**m.to_dict(), "read": False}) for m in newest_first]

    def test_a_late_message_with_an_old_id_pages_in_its_place(self):
        early = Message.compose("alice", "sent long ago, delivered late", OLD - DAY, to="bob")
        archived = deliver("bob", 5, OLD)
        recent = deliver("bob", 5, NOW - 60)
        archiver().archive_pass(now=NOW)
        Messages("bob").deliver(early)
        expected = [*reversed(recent), *reversed(archived), early]
        for limit in (1, 3, 5, 6, 100):
            assert page_all(Messages("bob"), limit) == expected
        assert archiver().archive_pass(now=NOW) == 1
        assert page_all(Messages("bob"), 4) == expected

    def test_many_inboxes_share_each_batch(self):
        batches = []
        sent = [m for n in range(150) for m in deliver(f"agent{n}", 3, OLD + n)]
        moved = archiver(batch=100, after_insert=lambda b: batches.append(len(b)))
        assert moved.archive_pass(now=NOW) == 450
        assert batches == [100, 100, 100, 100, 50]
        assert sorted(archived_ids()) == sorted(m.id for m in sent)

    def test_a_budget_bounds_the_pass_and_the_next_pass_goes_on(self):
        deliver("bob", 300, OLD)
        assert archiver(batch=100).archive_pass(now=NOW, budget=0) == 100
        assert archiver(batch=100).archive_pass(now=NOW) == 200


class TestLobbies(ArchiveTestBase):
    def test_posts_past_the_cap_wait_in_redis_then_move_and_still_page(self):
        posted = post("bats", 12, NOW - 100, cap=5)
        lobby = Lobby("bats", history_cap=5)
        assert history_all(lobby, 5) == posted[::-1]
        assert archiver(history_cap=5).archive_pass(now=NOW) == 7
        assert in_redis(LobbyKeys.history("bats")) == 5
        assert archived_ids(archived_lobby_messages, "bats") == [m.id for m in posted[:7]]
        for limit in (1, 2, 5, 7, 50):
            assert history_all(lobby, limit) == posted[::-1]
        assert archiver(history_cap=5).archive_pass(now=NOW) == 0
        assert lobby.view("alice", now=NOW).messages == 12

    @pytest.mark.slow
    def test_5000_posts_page_across_the_boundary_each_once_newest_first(self):
        bodies = [*ODD_BODIES, *(f"post {n}" for n in range(20))]
        lobby = Lobby("bats", send_limit=5000)
        lobby.join("alice", now=NOW)
        posted = [lobby.post("alice", bodies[n % len(bodies)], now=NOW) for n in range(5000)]
        assert archiver().archive_pass(now=NOW) == 4000
        assert in_redis(LobbyKeys.history("bats")) == 1000
        for limit in (100, 37):
            seen = history_all(lobby, limit)
            assert seen == posted[::-1]
            assert [m.body.encode() for m in seen] == [m.body.encode() for m in posted[::-1]]

    def test_lobbies_and_inboxes_take_turns(self):
        post("bats", 250, OLD, cap=50)
        post("owls", 150, OLD, cap=50)
        deliver("bob", 200, OLD)
        kinds = []
        moved = archiver(
            history_cap=50,
            batch=100,
            after_insert=lambda batch: kinds.append("lobby" if batch[0].lobby else "inbox"),
        ).archive_pass(now=NOW)
        assert moved == 500
        assert kinds == ["inbox", "lobby", "inbox", "lobby", "lobby"]

    def test_archiving_makes_no_inbox_or_lobby_objects_to_learn_key_names(self, monkeypatch):
        post("bats", 150, OLD, cap=50)
        deliver("bob", 30, OLD)
        deliver("carol", 20, OLD)

        def refuse(self, *args, **kwargs):
            raise AssertionError("the archiver built a model object")

        monkeypatch.setattr(Messages, "__init__", refuse)
        monkeypatch.setattr(Lobby, "__init__", refuse)
        assert archiver(history_cap=50).archive_pass(now=NOW) == 150


class TestCrashes(ArchiveTestBase):
    def setup_backlog(self):
        inbox = deliver("bob", 700, OLD)
        lobby = post("bats", 900, OLD, cap=200)
        return inbox, lobby

    def assert_each_archived_once_and_none_left(self, inbox, lobby):
        assert archived_ids(where="bob") == [m.id for m in inbox]
        assert archived_ids(archived_lobby_messages, "bats") == [m.id for m in lobby[:700]]
        assert in_redis(MsgKeys.inbox("bob")) == 0
        assert in_redis(LobbyKeys.history("bats")) == 200
        assert page_all(Messages("bob"), 100) == [
            m.__class__(**{**m.to_dict(), "read": False}) for m in inbox[::-1]
        ]
        assert history_all(Lobby("bats", history_cap=200), 100) == lobby[::-1]

    def test_a_fault_between_insert_and_removal_loses_and_repeats_nothing(self):
        inbox, lobby = self.setup_backlog()

        def crash(batch):
            raise RuntimeError("killed between the SQL commit and the Redis removal")

        with pytest.raises(RuntimeError):
            archiver(history_cap=200, after_insert=crash).archive_pass(now=NOW)
        assert len(archived_ids(where="bob")) == 500
        assert in_redis(MsgKeys.inbox("bob")) == 700
        assert [m.id for m in page_all(Messages("bob"), 64)] == [m.id for m in inbox[::-1]]
        assert archiver(history_cap=200).archive_pass(now=NOW) == 700 + 700
        self.assert_each_archived_once_and_none_left(inbox, lobby)

    @pytest.mark.slow
    def test_sql_refused_mid_pass_loses_and_repeats_nothing(self, monkeypatch):
        inbox, lobby = self.setup_backlog()
        real_insert, calls = store.insert_absent, []

        def refuse_the_second(connection, table, rows):
            calls.append(len(rows))
            if len(calls) == 2:
                raise sqlalchemy.exc.OperationalError("INSERT", {}, ConnectionRefusedError())
            return real_insert(connection, table, rows)

        monkeypatch.setattr(store, "insert_absent", refuse_the_second)
        with pytest.raises(SQL_DOWN):
            archiver(history_cap=200).archive_pass(now=NOW)
        assert 0 < len(archived_ids(where="bob")) < len(inbox)
        monkeypatch.setattr(store, "insert_absent", real_insert)
        assert archiver(history_cap=200).archive_pass(now=NOW) > 0
        self.assert_each_archived_once_and_none_left(inbox, lobby)

    @pytest.mark.slow
    def test_a_process_killed_between_insert_and_removal(self, tmp_path):
        inbox, lobby = self.setup_backlog()
        env = environment(tmp_path)
        env["DATABASE_URL"] = config.DATABASE_URL
        child = subprocess.run(
            [sys.executable, "test/archive_child.py", repr(NOW), repr(RETENTION), "200", "300"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            timeout=60,
        )
        assert child.returncode == -9, child.stderr
        assert len(archived_ids(where="bob")) == 300
        assert in_redis(MsgKeys.inbox("bob")) == 700
        assert archiver(history_cap=200).archive_pass(now=NOW) == 1400
        self.assert_each_archived_once_and_none_left(inbox, lobby)

    @pytest.mark.slow
    def test_two_archivers_at_once_archive_each_message_once(self):
        inbox = [m for n in range(20) for m in deliver(f"agent{n}", 150, OLD + n)]
        lobby = post("bats", 1500, OLD, cap=200)
        start = threading.Barrier(2)
        moved, errors = [], []

        def run():
            start.wait()
            try:
                moved.append(archiver(history_cap=200, batch=100).archive_pass(now=NOW))
            except Exception as error:
                errors.append(error)

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert sum(moved) == 3000 + 1300
        assert archived_ids() == sorted(m.id for m in inbox)
        assert archived_ids(archived_lobby_messages) == [m.id for m in lobby[:1300]]
        assert all(in_redis(MsgKeys.inbox(f"agent{n}")) == 0 for n in range(20))
        assert in_redis(LobbyKeys.history("bats")) == 200


class TestSqlDown(ArchiveTestBase):
    def test_the_pass_raises_and_every_message_stays_in_redis(self, sql_down):
        inbox = deliver("bob", 50, OLD)
        lobby = post("bats", 30, OLD, cap=10)
        sql_down()
        with pytest.raises(SQL_DOWN):
            archiver(history_cap=10).archive_pass(now=NOW)
        assert in_redis(MsgKeys.inbox("bob")) == 50 and in_redis(LobbyKeys.history("bats")) == 30
        assert page_all(Messages("bob"), 20) == [
            m.__class__(**{**m.to_dict(), "read": False}) for m in inbox[::-1]
        ]
        assert history_all(Lobby("bats", history_cap=10), 7) == lobby[::-1]

    def test_pages_needing_sql_fail_and_pages_that_do_not_still_work(self, sql_down):
        deliver("bob", 50, OLD)
        recent = deliver("bob", 50, NOW - 60)
        posted = post("bats", 30, OLD, cap=10)
        archiver(history_cap=10).archive_pass(now=NOW)
        sql_down()
        page, before, unread = Messages("bob").page(None, 50)
        assert page[-1].id == recent[0].id and unread == 100
        with pytest.raises(SQL_DOWN):
            Messages("bob").page(before, 50)
        page, before = Lobby("bats", history_cap=10).history("alice", None, 9, now=NOW)
        assert page == posted[:-10:-1]
        with pytest.raises(SQL_DOWN):
            Lobby("bats", history_cap=10).history("alice", before, 9, now=NOW)
