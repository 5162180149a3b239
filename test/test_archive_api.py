import socket
import sqlite3
import threading
import time

import pytest

from archive_base import ODD_BODIES, ArchiveTestBase
from batfriend import config, databases
from batfriend.archiver import Archiver
from batfriend.lobby import Lobby
from batfriend.message import Message
from batfriend.messages import Messages
from helpers import assert_envelope

DAY = 86400.0
UNLIMITED = 10**9


def inbox_pages(client, headers, limit):
    pages, before = [], None
    while True:
        body = {"limit": limit} if before is None else {"limit": limit, "before": before}
        response = client.post("/messages/inbox", json=body, headers=headers)
        assert response.status_code == 200, response.get_json()
        pages.append(response.get_json())
        before = pages[-1]["next_before"]
        if before is None:
            return pages


def history_pages(client, headers, limit):
    pages, before = [], None
    while True:
        body = {"lobby": "bats", "limit": limit}
        if before is not None:
            body["before"] = before
        response = client.post("/lobbies/history", json=body, headers=headers)
        assert response.status_code == 200, response.get_json()
        pages.append(response.get_json())
        before = pages[-1]["next_before"]
        if before is None:
            return pages


def deliver_to_bob(count, at, bodies=("hi",)):
    messages = []
    for n in range(count):
        message = Message.compose("alice", bodies[n % len(bodies)], at + n / 1000, to="bob")
        Messages("bob").deliver(message)
        messages.append(message)
    return messages


class TestArchivedInbox(ArchiveTestBase):
    def test_the_inbox_pages_into_the_archive_with_exact_read_state(self, client, signup):
        bob = signup("bob")
        now = time.time()
        old = deliver_to_bob(250, now - 40 * DAY, ODD_BODIES)
        recent = deliver_to_bob(30, now - 60)
        Messages("bob").mark_read([old[0].id, old[-1].id, recent[0].id])
        assert Archiver().archive_pass() == 250
        pages = inbox_pages(client, bob, 40)
        seen = [m for page in pages for m in page["messages"]]
        expected = sorted(old + recent, key=lambda m: m.id, reverse=True)
        assert [m["id"] for m in seen] == [m.id for m in expected]
        assert [m["body"] for m in seen] == [m.body for m in expected]
        assert {m["id"] for m in seen if m["read"]} == {old[0].id, old[-1].id, recent[0].id}
        assert {page["unread"] for page in pages} == {277}
        response = client.post("/messages/read", json={"ids": [old[5].id]}, headers=bob)
        assert response.get_json() == {"unread": 276}
        last = inbox_pages(client, bob, 100)[-1]
        assert [m["read"] for m in last["messages"] if m["id"] == old[5].id] == [True]

    def test_sql_down_fails_only_the_pages_that_need_it(self, client, signup, sql_down):
        bob = signup("bob")
        now = time.time()
        deliver_to_bob(20, now - 40 * DAY)
        recent = deliver_to_bob(20, now - 60)
        Archiver().archive_pass()
        sql_down()
        first = client.post("/messages/inbox", json={"limit": 20}, headers=bob)
        assert first.status_code == 200
        assert first.get_json()["next_before"] == recent[0].id
        more = client.post(
            "/messages/inbox", json={"limit": 20, "before": recent[0].id}, headers=bob
        )
        assert_envelope(more, 503, "unavailable")
        response = client.post("/messages/read", json={"ids": [recent[0].id]}, headers=bob)
        assert response.get_json() == {"unread": 39}


class TestArchivedLobby(ArchiveTestBase):
    def test_lobby_history_pages_into_the_archive(self, client, signup):
        alice = signup("alice")
        client.post("/lobbies/join", json={"lobby": "bats"}, headers=alice)
        lobby = Lobby("bats", send_limit=UNLIMITED)
        posted = [lobby.post("alice", ODD_BODIES[n % 6] + str(n)) for n in range(1150)]
        assert Archiver().archive_pass() == 150
        seen = [m for page in history_pages(client, alice, 100) for m in page["messages"]]
        assert seen == [m.to_dict() for m in reversed(posted)]

    def test_sql_down_fails_only_the_pages_that_need_it(self, client, signup, sql_down):
        alice = signup("alice")
        client.post("/lobbies/join", json={"lobby": "bats"}, headers=alice)
        lobby = Lobby("bats", send_limit=UNLIMITED)
        for n in range(1010):
            lobby.post("alice", f"post {n}")
        Archiver().archive_pass()
        sql_down()
        body = {"lobby": "bats", "limit": 100}
        first = client.post("/lobbies/history", json=body, headers=alice)
        assert first.status_code == 200 and len(first.get_json()["messages"]) == 100
        bob = signup("bob")  # alice's 1010 posts used up her send limit
        client.post("/lobbies/join", json={"lobby": "bats"}, headers=bob)
        post = client.post("/lobbies/post", json={"lobby": "bats", "body": "hi"}, headers=bob)
        assert post.status_code == 201
        body["before"] = "1000000000000-000000000000-0000000000"
        assert_envelope(
            client.post("/lobbies/history", json=body, headers=alice), 503, "unavailable"
        )


BUDGET = 2.0


@pytest.fixture
def stalling_server():
    """A TCP server that accepts every connection and never sends a byte; yields its port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


def archived_inbox(signup, count):
    """Sign bob up with ``count`` archived messages and ``count`` recent ones; return
    his headers and the oldest recent message (a page before it reads SQL)."""
    bob = signup("bob")
    now = time.time()
    deliver_to_bob(count, now - 40 * DAY)
    recent = deliver_to_bob(count, now - 60)
    Archiver().archive_pass()
    return bob, recent[0]


@pytest.mark.slow  # waits out SQL timeouts
class TestHungSql(ArchiveTestBase):
    def test_archive_pages_are_503_within_the_budget_and_redis_pages_keep_answering(
        self, client, signup, stalling_server, monkeypatch
    ):
        bob, oldest_recent = archived_inbox(signup, 20)
        monkeypatch.setattr(config, "BATFRIEND_SQL_TIMEOUT", BUDGET)
        monkeypatch.setattr(
            config, "DATABASE_URL", f"mysql+pymysql://root@127.0.0.1:{stalling_server}/hung"
        )
        databases.reset()
        try:
            answers = {}

            def archive_page(n):
                started = time.monotonic()
                response = client.post(
                    "/messages/inbox", json={"limit": 20, "before": oldest_recent.id}, headers=bob
                )
                answers[n] = (response, time.monotonic() - started)

            threads = [threading.Thread(target=archive_page, args=(n,)) for n in range(3)]
            for thread in threads:
                thread.start()
            time.sleep(0.2)
            started = time.monotonic()
            redis_page = client.post("/messages/inbox", json={"limit": 20}, headers=bob)
            assert redis_page.status_code == 200
            assert client.post("/friends/list", json={}, headers=bob).status_code == 200
            assert time.monotonic() - started < 0.5, "Redis-only endpoints are not held up"
            for thread in threads:
                thread.join()
            for response, took in answers.values():
                assert_envelope(response, 503, "unavailable")
                assert took < BUDGET
            print(f"\nhung SQL: 503 after {sorted(round(t, 2) for _, t in answers.values())} s")
            again = time.monotonic()
            response = client.post(
                "/messages/inbox", json={"limit": 20, "before": oldest_recent.id}, headers=bob
            )
            assert_envelope(response, 503, "unavailable")
            assert time.monotonic() - again < BUDGET + 0.5
        finally:
            monkeypatch.undo()
            databases.reset()

    def test_a_locked_sqlite_file_is_503_within_the_budget(self, client, signup, monkeypatch):
        url = databases.database_url()
        if not url.startswith("sqlite:///"):
            pytest.skip("the test database is not SQLite")
        bob, oldest_recent = archived_inbox(signup, 5)
        monkeypatch.setattr(config, "BATFRIEND_SQL_TIMEOUT", BUDGET)
        databases.reset()
        holder = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            started = time.monotonic()
            response = client.post(
                "/messages/inbox", json={"limit": 5, "before": oldest_recent.id}, headers=bob
            )
            assert_envelope(response, 503, "unavailable")
            assert time.monotonic() - started < BUDGET
        finally:
            holder.execute("ROLLBACK")
            holder.close()
            monkeypatch.undo()
            databases.reset()
