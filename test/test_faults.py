"""Fault injection under load, each bounded to a few seconds: nothing acknowledged is lost.

Redis killed (AOF on) while sends run, SCRIPT FLUSH while sends run, SQL refusing
in the middle of an archiving pass, a uWSGI worker killed while requests run.
"""

import json
import os
import signal
import subprocess
import threading
import time

import psutil
import pytest
import redis
import sqlalchemy
import test_archiver
from archive_base import ArchiveTestBase, archived_ids
from test_archiver import NOW, archiver
from test_uwsgi import request, start_uwsgi, wait_until_serving

from base_test import TEST_REDIS_URLS, TestBase
from batfriend import config, databases
from batfriend.api import create_app
from batfriend.archive import store
from batfriend.databases import SQL_DOWN
from batfriend.embedded import redis_server_binary
from batfriend.messages import Messages
from redis_server import PrivateRedis

pytestmark = pytest.mark.slow


class Load:
    """Senders posting messages alice -> bob through the app until stopped."""

    def __init__(self, client, headers, senders=3):
        self.acknowledged: list[str] = []
        self.statuses: list[tuple[float, int]] = []
        self._client, self._headers = client, headers
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._send, args=(n,)) for n in range(senders)]

    def _send(self, sender):
        n = 0
        while not self._stop.is_set():
            n += 1
            body = {"to": "bob", "body": f"{sender}-{n}"}
            response = self._client.post("/messages/send", json=body, headers=self._headers)
            with self._lock:
                self.statuses.append((time.monotonic(), response.status_code))
                if response.status_code == 201:
                    self.acknowledged.append(response.get_json()["id"])

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)


def inbox_ids(owner: str) -> set[str]:
    return {
        member.decode()
        for member in databases.get_redis("msg:").zrange(f"msg:inbox:{owner}", 0, -1)
    }


@pytest.fixture
def aof_redis(tmp_path, monkeypatch):
    """A private Redis with AOF on (appendfsync everysec), made the app's Redis."""
    server = PrivateRedis(
        redis_server_binary(), str(tmp_path / "aof"), "--appendonly", "yes"
    ).start()
    TEST_REDIS_URLS.add(server.url)
    monkeypatch.setattr(config, "REDIS_URL", server.url)
    monkeypatch.setattr(config, "BATFRIEND_SEND_LIMIT_PER_MINUTE", 1_000_000)
    databases.reset()
    yield server
    monkeypatch.undo()
    databases.reset()
    TEST_REDIS_URLS.discard(server.url)
    server.stop()


class TestRedisFaults(TestBase):
    def test_redis_killed_under_load_loses_no_acknowledged_send(self, aof_redis, signup, befriend):
        client = create_app().test_client()
        alice = signup("alice")
        signup("bob")
        befriend("alice", "bob")
        with Load(client, alice) as load:
            time.sleep(1.0)
            aof_redis.kill()
            killed = time.monotonic()
            time.sleep(0.5)
            aof_redis.start()
            back = time.monotonic()
            time.sleep(1.5)
        assert {status for _, status in load.statuses} <= {201, 503}
        refused = [at for at, status in load.statuses if status == 503]
        assert refused, "the kill was noticed"
        assert all(killed - 0.1 <= at <= back + 1.0 for at in refused), "503 only while down"
        assert set(load.acknowledged) <= inbox_ids("bob"), "an acknowledged send was lost"
        print(
            f"\nRedis killed: {len(load.acknowledged)} sends acknowledged, all kept; "
            f"{len(refused)} answered 503 while it was down"
        )

    def test_script_flush_under_load_fails_nothing(self, aof_redis, signup, befriend):
        client = create_app().test_client()
        alice = signup("alice")
        signup("bob")
        befriend("alice", "bob")
        flusher = redis.Redis.from_url(aof_redis.url)
        with Load(client, alice) as load:
            for _ in range(20):
                flusher.script_flush()
                time.sleep(0.05)
        assert {status for _, status in load.statuses} == {201}
        assert set(load.acknowledged) == inbox_ids("bob")
        assert len(load.acknowledged) == len(inbox_ids("bob"))


class TestSqlRefusedMidArchive(ArchiveTestBase):
    def test_nothing_is_lost_or_duplicated(self, monkeypatch):
        inbox, lobby = test_archiver.TestCrashes.setup_backlog(self)
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
        test_archiver.TestCrashes.assert_each_archived_once_and_none_left(self, inbox, lobby)


class TestUwsgiWorkerKilled(TestBase):
    def test_the_worker_is_respawned_and_nothing_is_inconsistent(self, tmp_path, befriend):
        master, port, _ = start_uwsgi(
            tmp_path,
            BATFRIEND_SEND_LIMIT_PER_MINUTE="1000000",
            UWSGI_PROCESSES="2",
            UWSGI_THREADS="2",
        )
        base = f"http://127.0.0.1:{port}"
        acknowledged, failures, stop = [], [], threading.Event()

        def send(sender):
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    status, _, body = request(
                        base + "/messages/send", {"to": "bob", "body": f"{sender}-{n}"}, token
                    )
                except OSError as error:  # the killed worker's connection
                    failures.append(error)
                    continue
                if status == 201:
                    acknowledged.append(json.loads(body)["id"])
                else:
                    failures.append(status)

        try:
            wait_until_serving(base + "/status", master, time.monotonic() + 30)
            for name in ("alice", "bob"):
                request(base + "/agents/register", {"username": name, "password": "long enough"})
            befriend("alice", "bob")
            _, _, body = request(base + "/login", {"username": "alice", "password": "long enough"})
            token = json.loads(body)["token"]
            senders = [threading.Thread(target=send, args=(n,)) for n in range(3)]
            for thread in senders:
                thread.start()
            time.sleep(1.0)
            workers = psutil_children(master.pid)
            assert len(workers) == 2
            os.kill(workers[0], signal.SIGKILL)
            deadline = time.monotonic() + 15
            while len(set(psutil_children(master.pid)) - {workers[0]}) < 2:
                assert time.monotonic() < deadline, "the worker was not respawned"
                time.sleep(0.1)
            before_end = len(acknowledged)
            time.sleep(1.0)
            stop.set()
            for thread in senders:
                thread.join(timeout=30)
            assert len(acknowledged) > before_end, "sends go on after the respawn"
        finally:
            stop.set()
            master.send_signal(signal.SIGTERM)
            try:
                master.wait(timeout=30)
            except subprocess.TimeoutExpired:
                master.kill()
                master.wait()
                raise
        messages = databases.get_redis("msg:")
        inbox = inbox_ids("bob")
        assert set(acknowledged) <= inbox, "an acknowledged send was lost"
        assert {m.decode() for m in messages.smembers("msg:unread:bob")} == inbox
        assert {m.decode() for m in messages.hkeys("msg:bodies:bob")} == inbox
        assert Messages("bob").page(None, 1)[2] == len(inbox)
        print(
            f"\nuWSGI worker killed: respawned; {len(acknowledged)} sends acknowledged and kept, "
            f"{len(failures)} lost with the worker's connections"
        )


def psutil_children(pid: int) -> list[int]:
    """Return the pids of ``pid``'s worker processes."""
    return [child.pid for child in psutil.Process(pid).children()]
