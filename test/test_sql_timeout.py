"""A hung SQL server (accepts connections, never answers) is a 503 within BATFRIEND_SQL_TIMEOUT.

Meanwhile the endpoints that need only Redis keep answering at once.
"""

import socket
import sqlite3
import threading
import time

import pytest
from archive_base import ArchiveTestBase
from test_app import assert_envelope
from test_archive_api import DAY, deliver_to_bob

from batfriend import config, databases
from batfriend.archive.archiver import Archiver

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
