"""Redis out of memory (maxmemory reached, noeviction): 503s, no partial state, no growth.

A private Redis, each binary the machine has (the embedded 6.2 and any other
``redis-server`` on PATH), is filled through the API until it refuses; then every
endpoint is called. Each answer must be a success or a 503 ``unavailable`` with
``Retry-After``, a 503 must leave Redis exactly as it was, and used memory must
stay within a few KiB of the limit. Once memory is freed, everything works again.
"""

import logging
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import redis

from base_test import TestBase, as_the_apps_redis
from batfriend import config
from batfriend.api import create_app
from batfriend.embedded import redis_server_binary
from batfriend.keys import DELIVERY, WorkKeys, bucket_of
from batfriend.messages import Messages
from batfriend.scripts import UNGUARDED, get_script
from batfriend.watcher import MessageWatcher
from helpers import Running, inbox_ids, wait_until
from redis_server import PrivateRedis

pytestmark = pytest.mark.slow  # starts redis-server processes

LUA_DIR = Path(__file__).resolve().parent.parent / "batfriend" / "lua"
DAY = 86400.0
HEADROOM = 256 * 1024
# Past the limit: the last write let in (a 4000-character post) and client buffers.
OVER = 64 * 1024
# How far below the memory in use the limit is set once full, so it stays full.
TIGHTEN = 32 * 1024
BIG_BODY = "x" * 4000


def _binaries() -> list[str]:
    """Return the redis-server binaries to try: the embedded one, and another on PATH."""
    found = {}
    for binary in (redis_server_binary(), shutil.which("redis-server")):
        if binary:
            version = subprocess.run([binary, "--version"], capture_output=True, text=True)
            found.setdefault(version.stdout.split()[2], binary)
    return [found[version] for version in sorted(found)]


def snapshot(client: redis.Redis) -> dict:
    """Return every key's type and whole value, to tell whether a request changed anything."""
    state = {}
    for key in client.scan_iter(count=1000):
        kind = client.type(key).decode()
        if kind == "string":
            value = client.get(key)
        elif kind == "hash":
            value = client.hgetall(key)
        elif kind == "zset":
            value = client.zrange(key, 0, -1, withscores=True)
        elif kind == "set":
            value = client.smembers(key)
        else:
            value = client.lrange(key, 0, -1)
        state[key] = (kind, value)
    return state


@pytest.fixture(params=_binaries(), ids=lambda binary: binary.rsplit("/", 3)[-3])
def full_redis(request, tmp_path, monkeypatch):
    """A private Redis with noeviction, made the app's Redis; yields its client."""
    server = PrivateRedis(
        request.param, str(tmp_path / "redis"), "--maxmemory-policy", "noeviction"
    ).start()
    monkeypatch.setattr(config, "BATFRIEND_SEND_LIMIT_PER_MINUTE", 100000)
    with as_the_apps_redis(server.url, monkeypatch):
        yield redis.Redis.from_url(server.url)
    server.stop()


def _calls(tokens: dict[str, dict], scheduled_id: str, read_id: str) -> list[tuple]:
    """Every endpoint with a valid request: (method, path, headers, body)."""
    alice, bob, carol = tokens["alice"], tokens["bob"], tokens["carol"]
    return [
        ("GET", "/", {}, None),
        ("GET", "/status", {}, None),
        ("GET", "/ready", {}, None),
        ("POST", "/agents/register", {}, {"username": "newcomer", "password": "long enough pw"}),
        ("POST", "/login", {}, {"username": "alice", "password": "correct horse battery"}),
        ("POST", "/agents/view", alice, {"username": "bob"}),
        ("POST", "/phones/set", alice, {"phone": "+14155550199"}),
        ("POST", "/phones/discover", alice, {"phones": ["+14155550100", "+14155550199"]}),
        ("POST", "/friends/request", alice, {"username": "dave"}),
        ("POST", "/friends/accept", alice, {"username": "erin"}),
        ("POST", "/friends/list", alice, {}),
        ("POST", "/messages/send", alice, {"to": "bob", "body": "now"}),
        (
            "POST",
            "/messages/send",
            alice,
            {"to": "bob", "body": "later", "deliver_at": time.time() + 7 * DAY},
        ),
        (
            "POST",
            "/messages/reschedule",
            alice,
            {"id": scheduled_id, "deliver_at": time.time() + 8 * DAY},
        ),
        ("POST", "/messages/inbox", bob, {"limit": 10}),
        ("POST", "/messages/read", bob, {"ids": [read_id]}),
        ("POST", "/lobbies/join", carol, {"lobby": "hall"}),
        ("POST", "/lobbies/post", alice, {"lobby": "hall", "body": "hi"}),
        ("POST", "/lobbies/history", alice, {"lobby": "hall", "limit": 5}),
        ("POST", "/lobbies/view", alice, {"lobby": "hall"}),
        ("POST", "/sqs", {"X-Aws-Sqsd-Msgid": "m-1"}, {"type": "tick"}),
        ("POST", "/friends/remove", alice, {"username": "carol"}),
        ("POST", "/lobbies/leave", bob, {"lobby": "hall"}),
        ("POST", "/logout", tokens["frank"], {}),
    ]


class TestOutOfMemory(TestBase):
    def test_every_script_that_may_grow_is_refused_before_its_first_write(self, full_redis):
        full_redis.set("{k}sent", "x")  # a guard key of another type: WRONGTYPE is ignored
        full_redis.config_set("maxmemory", 1)
        names = sorted(p.stem for p in LUA_DIR.glob("*.lua") if p.stem not in UNGUARDED)
        for name in names:
            keys = ["{k}sent" if name == "messages_deliver" else "{k}1"] + ["{k}"] * 6
            with pytest.raises(redis.exceptions.OutOfMemoryError):
                get_script(full_redis, name)(keys=keys, args=["1"] * 8)
        assert full_redis.dbsize() == 1

    def test_every_endpoint_answers_and_nothing_is_half_done(self, full_redis, signup, befriend):
        client = create_app(expose_sqs=True).test_client()
        tokens = {name: signup(name) for name in ("alice", "bob", "carol")}
        erin = signup("erin")
        signup("dave")
        tokens["frank"] = signup("frank")
        befriend("alice", "bob")
        befriend("alice", "carol")
        assert client.post("/friends/request", headers=erin, json={"username": "alice"})
        assert client.post("/lobbies/join", headers=tokens["alice"], json={"lobby": "hall"})
        assert client.post("/lobbies/join", headers=tokens["bob"], json={"lobby": "hall"})
        sent = client.post(
            "/messages/send", headers=tokens["alice"], json={"to": "bob", "body": "read me"}
        ).get_json()
        scheduled = client.post(
            "/messages/send",
            headers=tokens["alice"],
            json={"to": "bob", "body": "wait", "deliver_at": time.time() + 6 * DAY},
        ).get_json()

        used = full_redis.info("memory")["used_memory"]
        limit = first_limit = used + HEADROOM
        full_redis.config_set("maxmemory", limit)
        fill = {"lobby": "hall", "body": BIG_BODY}
        statuses = []
        for _ in range(2 * HEADROOM // len(BIG_BODY)):
            statuses.append(
                client.post("/lobbies/post", headers=tokens["bob"], json=fill).status_code
            )
            if statuses[-1] == 503:
                break
        assert statuses[-1] == 503 and set(statuses) == {201, 503}
        at_refusal = full_redis.info("memory")["used_memory"]
        # Out of memory for good: client buffers shrinking must not bring it back under.
        limit = min(limit, at_refusal - TIGHTEN)
        full_redis.config_set("maxmemory", limit)
        full = snapshot(full_redis)
        for _ in range(50):  # a send trims the sender's log first: it must be refused all the same
            response = client.post(
                "/messages/send", headers=tokens["bob"], json={"to": "alice", "body": BIG_BODY}
            )
            assert response.status_code == 503, response.get_json()

        assert snapshot(full_redis) == full, "nothing was stored past the first refusal"
        seen = {}
        for method, path, headers, body in _calls(tokens, scheduled["id"], sent["id"]):
            before = snapshot(full_redis)
            response = client.open(path, method=method, headers=headers, json=body)
            seen[f"{method} {path}"] = response.status_code
            assert response.status_code in (200, 201, 503), (path, response.get_json())
            if response.status_code == 503:
                assert response.get_json()["error"]["code"] == "unavailable"
                if path != "/ready":
                    assert response.headers["Retry-After"].isdigit(), path
                    assert snapshot(full_redis) == before, f"{path} was refused half done"
        used = full_redis.info("memory")["used_memory"]
        print(
            f"\nout of memory, Redis {full_redis.info('server')['redis_version']}: {seen}; "
            f"used memory {at_refusal - first_limit:+d} B over the limit at the first refusal, "
            f"{used - at_refusal:+d} B since then (client buffers; a refused call changed no key)"
        )
        assert at_refusal - first_limit < OVER
        assert seen["GET /ready"] == 503
        for refused in ("/agents/register", "/login", "/phones/set", "/lobbies/join"):
            assert seen[f"POST {refused}"] == 503

        full_redis.config_set("maxmemory", 0)
        tokens["frank"] = signup("frank2")
        for method, path, headers, body in _calls(tokens, scheduled["id"], sent["id"]):
            response = client.open(path, method=method, headers=headers, json=body)
            assert response.status_code in (200, 201), (path, response.get_json())
        due = WorkKeys.due(DELIVERY, bucket_of("alice"))
        assert full_redis.zcard(due) == 2, "each scheduled send has its item"


class TestWatcherOutOfMemory(TestBase):
    def test_backs_off_then_delivers_once_memory_is_freed(self, full_redis, befriend, caplog):
        befriend("alice", "bob")
        message = Messages("bob").send("alice", "later", deliver_at=time.time() + 0.3)
        full_redis.config_set("maxmemory", 1)
        watcher = MessageWatcher(tick=0.05, max_backoff=0.2)
        with caplog.at_level(logging.INFO), Running(watcher):
            time.sleep(1.0)
            assert "maxmemory" in caplog.text, "the refusal is logged as an outage"
            assert "watcher pass failed" not in caplog.text, "no traceback every tick"
            assert inbox_ids("bob") == set()
            full_redis.config_set("maxmemory", 0)
            wait_until(lambda: inbox_ids("bob") == {message.id})
        assert "watcher resumed" in caplog.text
