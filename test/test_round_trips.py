import time

import pytest

from base_test import TestBase
from batfriend.databases import get_redis
from batfriend.errors import Forbidden, TooManyRequests
from batfriend.keys import BUCKETS, MsgKeys
from batfriend.lobby import Lobby
from batfriend.message import Message
from batfriend.messages import Messages
from batfriend.scripts import get_script
from helpers import delivery_worklist, on_cluster


class TestRoundTrips(TestBase):
    def test_a_send_is_one_round_trip_with_the_auth_check(
        self, client, signup, befriend, round_trips
    ):
        alice = signup("alice")
        signup("bob")
        befriend("alice", "bob")
        send = {"to": "bob", "body": "hi"}
        assert client.post("/messages/send", json=send, headers=alice).status_code == 201
        round_trips.clear()
        assert client.post("/messages/send", json=send, headers=alice).status_code == 201
        # a cluster reads the session first, and delivers once the reservation answered
        expected = [["GET"], ["EVALSHA"], ["EVALSHA"]] if on_cluster() else [["EVALSHA"] * 2]
        assert round_trips.names() == expected

    def test_a_send_refused_in_its_reservation_delivers_nothing(self, befriend, round_trips):
        """The delivery rides in the reservation's round trip: only the reservation's id in
        the sender's send log lets it write (refused: over the limit, or the sender's copy
        of the friendship is gone while the recipient's still holds)."""
        befriend("alice", "bob")
        inbox = Messages("bob", send_limit=1)
        inbox.send("alice", "first")
        with pytest.raises(TooManyRequests):
            inbox.send("alice", "over the limit")
        get_redis(MsgKeys.PREFIX).zrem(MsgKeys.friends("alice"), "bob")
        with pytest.raises(Forbidden):
            Messages("bob", send_limit=10).send("alice", "not friends on alice's side")
        assert [m.body for m in inbox.page()[0]] == ["first"]
        assert inbox.unread() == 1

    def test_a_scheduled_send_is_one_script_call_with_the_auth_check(
        self, client, signup, befriend, round_trips
    ):
        alice = signup("alice")
        signup("bob")
        befriend("alice", "bob")
        send = {"to": "bob", "body": "hi", "deliver_at": time.time() + 3600}
        assert client.post("/messages/send", json=send, headers=alice).status_code == 201
        round_trips.clear()
        assert client.post("/messages/send", json=send, headers=alice).status_code == 201
        assert 1 <= len(round_trips.sent) <= 2
        assert ["EVALSHA"] in round_trips.names(), "record and worklist item in the one call"
        assert delivery_worklist().view()["pending"] == 2

    def test_an_inbox_page_of_100_is_three_round_trips_with_the_auth_check(
        self, client, signup, befriend, round_trips
    ):
        signup("alice")
        bob = signup("bob")
        befriend("alice", "bob")
        inbox = Messages("bob", send_limit=1000)
        for n in range(150):
            inbox.send("alice", f"m{n}")
        client.post("/messages/inbox", json={"limit": 1}, headers=bob)
        round_trips.clear()
        response = client.post("/messages/inbox", json={"limit": 100}, headers=bob)
        assert len(response.get_json()["messages"]) == 100
        assert 1 <= len(round_trips.sent) <= 3
        round_trips.clear()
        assert len(inbox.page(limit=100)[0]) == 100
        assert len(round_trips.sent) == 1

    def test_a_lobby_post_is_three_round_trips_with_the_auth_check(
        self, client, signup, round_trips
    ):
        alice = signup("alice")
        client.post("/lobbies/join", json={"lobby": "bats"}, headers=alice)
        post = {"lobby": "bats", "body": "hi"}
        assert client.post("/lobbies/post", json=post, headers=alice).status_code == 201
        round_trips.clear()
        assert client.post("/lobbies/post", json=post, headers=alice).status_code == 201
        # The token, the send limit (msg: family, counted first), the post (lobby: family).
        assert round_trips.names() == [["GET"], ["EVALSHA"], ["EVALSHA"]]

    def test_a_lobby_page_of_100_from_redis_is_one_round_trip(self, round_trips):
        lobby = Lobby("bats", send_limit=150)
        lobby.join("alice")
        for n in range(150):
            lobby.post("alice", f"m{n}")
        lobby.history("alice", limit=1)
        round_trips.clear()
        assert len(lobby.history("alice", limit=100)[0]) == 100
        assert round_trips.names() == [["EVALSHA"]]

    def test_an_archiver_batch_takes_the_same_round_trips_for_1_or_50_inboxes(self, round_trips):
        for n in range(51):
            Messages(f"agent{n}").deliver(Message.compose("alice", "hi", 1000.0, to=f"agent{n}"))
        Messages.forget(Messages.archivable(2000.0, 1))
        redis = get_redis(MsgKeys.PREFIX)
        redis.script_load(get_script(redis, "messages_forget").script)  # on every node
        round_trips.clear()
        assert len(Messages.archivable(2000.0, 500)) == 50
        assert round_trips.names() == [
            ["ZRANGEBYSCORE"] * BUCKETS,  # one wave over every bucket's index
            ["ZRANGEBYLEX"] * 50,
            ["HMGET"] * 50,
        ]
        batch = Messages.archivable(2000.0, 500)
        round_trips.clear()
        assert Messages.forget(batch) == 50
        assert round_trips.names() == [["EVALSHA"] * 50]
