"""Redis faults under load, each bounded to a few seconds: nothing acknowledged is lost.

Redis killed (AOF on) while sends run, SCRIPT FLUSH while sends run. The other
fault experiments sit with their subjects: SQL refused mid-pass in
test_archiver.py, a hung SQL server in test_archive_api.py, a uWSGI worker
killed under load in test_uwsgi.py.
"""

import threading
import time

import pytest
import redis

from base_test import TestBase, as_the_apps_redis
from batfriend import config
from batfriend.api import create_app
from batfriend.embedded import redis_server_binary
from helpers import Threads, inbox_ids
from redis_server import PrivateRedis

pytestmark = pytest.mark.slow


class Load(Threads):
    """Senders posting messages alice -> bob through the app until stopped."""

    def __init__(self, client, headers, senders=3):
        super().__init__()
        self.acknowledged: list[str] = []
        self.statuses: list[tuple[float, int]] = []
        self._client, self._headers = client, headers
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


@pytest.fixture
def aof_redis(tmp_path, monkeypatch):
    """A private Redis with AOF on (appendfsync everysec), made the app's Redis."""
    server = PrivateRedis(
        redis_server_binary(), str(tmp_path / "aof"), "--appendonly", "yes"
    ).start()
    monkeypatch.setattr(config, "BATFRIEND_SEND_LIMIT_PER_MINUTE", 1_000_000)
    with as_the_apps_redis(server.url, monkeypatch):
        yield server
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
