"""Helpers shared by test modules: test modules import these, never one another."""

import os
import signal
import threading
import time
from pathlib import Path

from redis.cluster import RedisCluster

from batfriend import config, databases
from batfriend.keys import DELIVERY, MsgKeys, bucket_of
from batfriend.worklist import Worklist

ROOT = Path(__file__).resolve().parent.parent
SCHEDULED_BODY = "elasticbeanstalk scheduled job"


def wait_until(condition, timeout=10.0):
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


class Running:
    """A watcher's run() loop in a background thread, stopped and joined on exit."""

    def __init__(self, watcher):
        self.watcher = watcher
        self.thread = threading.Thread(target=watcher.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.watcher.stop()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive()


def environment(tmp_path):
    """The environment of a child process: the test Redis, a data directory of its own."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env.update(REDIS_URL=config.REDIS_URL, BATFRIEND_DATA_DIR=str(tmp_path))
    env.pop("BATFRIEND_REDIS_SHARDS", None)
    return env


def terminate(process):
    """SIGTERM ``process`` and return its exit status."""
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=20)


def assert_envelope(response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    error = response.get_json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    return error


# Every 🔒 endpoint, with a body it would accept: add each new one here.
LOCKED_ENDPOINTS = [
    ("/logout", {}),
    ("/agents/view", {"username": "alice"}),
    ("/phones/set", {"phone": "+14155550100"}),
    ("/phones/discover", {"phones": ["+14155550100"]}),
    ("/friends/request", {"username": "bob"}),
    ("/friends/accept", {"username": "bob"}),
    ("/friends/remove", {"username": "bob"}),
    ("/friends/list", {}),
    ("/messages/send", {"to": "bob", "body": "hi"}),
    ("/messages/inbox", {}),
    ("/messages/read", {"ids": ["1700000000000-000000000001-0123456789"]}),
    ("/messages/reschedule", {"id": "1700000000000-000000000001-0123456789", "deliver_at": 1.0}),
    ("/lobbies/join", {"lobby": "bats"}),
    ("/lobbies/leave", {"lobby": "bats"}),
    ("/lobbies/post", {"lobby": "bats", "body": "hi"}),
    ("/lobbies/history", {"lobby": "bats"}),
    ("/lobbies/view", {"lobby": "bats"}),
]
# Endpoints anyone may call.
OPEN_ENDPOINTS = {"/", "/status", "/ready", "/openapi.json", "/agents/register", "/login", "/sqs"}

LOCKED_PATHS = [path for path, _ in LOCKED_ENDPOINTS]


def sqsd_headers(msgid, task=None):
    headers = {
        "User-Agent": "aws-sqsd/3.0.4",
        "X-Aws-Sqsd-Msgid": msgid,
        "X-Aws-Sqsd-Receive-Count": "1",
        "X-Aws-Sqsd-First-Received-At": "2026-01-01T00:00:00Z",
        "X-Aws-Sqsd-Queue": "batfriend-worker",
    }
    if task is not None:
        headers["X-Aws-Sqsd-Taskname"] = task
        headers["X-Aws-Sqsd-Scheduled-At"] = "2026-01-01T00:00:00Z"
    return headers


def post_task(client, msgid, task):
    return client.post(
        "/sqs",
        data=SCHEDULED_BODY,
        content_type="application/json",
        headers=sqsd_headers(msgid, task),
    )


def delivery_worklist(sender="alice"):
    """The bucket of the delivery worklist holding ``sender``'s scheduled messages."""
    return Worklist(DELIVERY, bucket=bucket_of(sender))


def on_cluster():
    """Whether this run's Redis is a cluster (BATFRIEND_TEST_CLUSTER=1)."""
    return isinstance(databases.get_redis("msg:"), RedisCluster)


def inbox_ids(owner):
    """Return the ids in ``owner``'s inbox in Redis."""
    return {
        member.decode()
        for member in databases.get_redis("msg:").zrange(MsgKeys.inbox(owner), 0, -1)
    }


class Threads:
    """Load threads (``self._threads``) started on entry; on exit ``_stop`` is set and they join."""

    def __init__(self):
        self._stop = threading.Event()
        self._threads = []

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
