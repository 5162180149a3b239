"""Every script call keeps its KEYS in one hash slot: each area of the app, driven for real.

(conftest also checks every script call of every test; these name the scripts each
area must have called, so a check that saw nothing cannot pass.)
"""

import time

import pytest
from redis.exceptions import RedisClusterException

from archive_base import NOW, OLD, ArchiveTestBase, deliver
from batfriend.archiver import Archiver
from batfriend.databases import get_redis
from batfriend.passes import Delivery, sweep
from batfriend.rate_limiter import RateLimiter
from batfriend.scripts import get_script
from helpers import on_cluster


def post(client, path, headers, **body):
    response = client.post(path, json=body, headers=headers)
    assert response.status_code < 300, (path, response.get_json())
    return response.get_json()


class TestScriptSlots(ArchiveTestBase):
    def test_accounts(self, client, signup, script_slots):
        alice = signup("alice")
        post(client, "/phones/set", alice, phone="+15550100")
        post(client, "/agents/view", alice, username="alice")
        post(client, "/logout", alice)
        assert "agent_register" in script_slots.names()
        assert script_slots.crossing == []

    def test_friends(self, client, signup, script_slots):
        alice, bob = signup("alice"), signup("bob")
        post(client, "/friends/request", alice, username="bob")
        post(client, "/friends/accept", bob, username="alice")
        post(client, "/friends/list", alice)
        post(client, "/friends/remove", alice, username="bob")
        assert {"friends_change", "friends_side"} <= set(script_slots.names())
        assert script_slots.crossing == []

    def test_messages(self, client, signup, befriend, script_slots):
        alice, bob = signup("alice"), signup("bob")
        befriend("alice", "bob")
        sent = post(client, "/messages/send", alice, to="bob", body="hi")
        later = post(
            client, "/messages/send", alice, to="bob", body="later", deliver_at=time.time() + 60
        )
        post(client, "/messages/reschedule", alice, id=later["id"], deliver_at=time.time())
        post(client, "/messages/inbox", bob)
        post(client, "/messages/read", bob, ids=[sent["id"]])
        Delivery().run(budget=5)
        names = script_slots.names()
        assert {"messages_reserve", "messages_deliver", "messages_page", "worklist_claim"} <= set(
            names
        ), names
        assert script_slots.crossing == []

    def test_lobbies(self, client, signup, script_slots):
        alice = signup("alice")
        post(client, "/lobbies/join", alice, lobby="bats")
        post(client, "/lobbies/post", alice, lobby="bats", body="hi")
        post(client, "/lobbies/history", alice, lobby="bats")
        post(client, "/lobbies/view", alice, lobby="bats")
        post(client, "/lobbies/leave", alice, lobby="bats")
        assert {"lobby_post", "lobby_history"} <= set(script_slots.names())
        assert script_slots.crossing == []

    def test_archiving_and_sweeping(self, script_slots):
        deliver("bob", 3, OLD)
        assert Archiver().archive_pass(now=NOW) == 3
        sweep()
        assert "messages_forget" in script_slots.names()
        assert script_slots.crossing == []

    def test_the_check_sees_a_crossing_call(self, script_slots):
        RateLimiter("slots", limit=5, window=60).hit("alice")
        add = get_script(get_redis("work:"), "worklist_add")
        if on_cluster():  # the cluster client refuses it before sending
            with pytest.raises(RedisClusterException, match="same key slot"):
                add(keys=["work:a:due", "work:b:payloads"], args=["id", "payload", 1.0])
        else:
            add(keys=["work:a:due", "work:b:payloads"], args=["id", "payload", 1.0])
        assert script_slots.calls == [
            ("rate_limiter_hit", ["rate:slots:alice"]),
            ("worklist_add", ["work:a:due", "work:b:payloads"]),
        ]
        assert script_slots.crossing == [script_slots.calls[1]]
        script_slots.crossing.clear()  # seen: the fixture's own check must not fail this test
