"""The session check rides in the operation's round trip, and a dead session still fails at once."""

import hashlib
import time

import pytest

from base_test import TestBase
from batfriend import config, databases
from batfriend.databases import get_redis
from batfriend.keys import MsgKeys, SessionKeys
from batfriend.messages import Messages
from batfriend.phone_numbers import PhoneNumbers
from helpers import delivery_worklist, on_cluster

READS = [
    ("/agents/view", {"username": "bob"}, "HMGET"),
    ("/messages/inbox", {}, "EVALSHA"),
    ("/phones/discover", {"phones": ["+14155550100", "+14155550101"]}, "HMGET"),
]
# Commands queued before the read's own: discovery counts its quota before looking up.
COUNTED_FIRST = {"/phones/discover": ["EVALSHA"]}
PATHS = [path for path, _, _ in READS]


@pytest.fixture
def agents(signup, befriend):
    """alice's headers, with bob her friend owning a number and three messages in her inbox."""
    alice = signup("alice")
    signup("bob")
    befriend("alice", "bob")
    PhoneNumbers().assign("bob", "+14155550100")
    inbox = Messages("alice")
    for n in range(3):
        inbox.send("bob", f"m{n}")
    return alice


def session_key(headers):
    token = headers["Authorization"].removeprefix("Bearer ")
    return SessionKeys.session(hashlib.sha256(token.encode()).hexdigest())


class TestSessionInTheOperationsRoundTrip(TestBase):
    @pytest.mark.parametrize(("path", "body", "command"), READS, ids=PATHS)
    def test_a_known_token_costs_no_round_trip_of_its_own(
        self, client, agents, round_trips, path, body, command
    ):
        assert client.post(path, json=body, headers=agents).status_code == 200
        round_trips.clear()
        assert client.post(path, json=body, headers=agents).status_code == 200
        expected = [["GET", *COUNTED_FIRST.get(path, []), command]]
        assert round_trips.names_match(expected), round_trips.names()

    @pytest.mark.parametrize(("path", "body", "command"), READS, ids=PATHS)
    def test_logout_ends_a_known_token_at_once(self, client, agents, path, body, command):
        assert client.post(path, json=body, headers=agents).status_code == 200
        assert client.post("/logout", json={}, headers=agents).status_code == 200
        response = client.post(path, json=body, headers=agents)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "unauthorized"

    @pytest.mark.parametrize(("path", "body", "command"), READS, ids=PATHS)
    def test_a_session_ended_elsewhere_fails_on_the_next_request(
        self, client, agents, path, body, command
    ):
        # another process's logout, or the session's expiry: this process still knows the token
        assert client.post(path, json=body, headers=agents).status_code == 200
        assert get_redis(SessionKeys.PREFIX).delete(session_key(agents)) == 1
        response = client.post(path, json=body, headers=agents)
        assert response.status_code == 401
        assert "messages" not in response.get_json() and "matches" not in response.get_json()

    def test_an_unknown_token_is_refused_before_the_body_is_read(self, client, agents):
        headers = {"Authorization": "Bearer " + "x" * 43}
        response = client.post("/agents/view", json={"username": 3}, headers=headers)
        assert response.status_code == 401

    def test_sessions_on_another_redis_are_checked_first(
        self, client, agents, spare_redis, monkeypatch, round_trips
    ):
        session = get_redis(SessionKeys.PREFIX).get(session_key(agents))
        monkeypatch.setattr(config, "BATFRIEND_REDIS_SHARDS", {"session": spare_redis.url})
        databases.reset()
        try:
            get_redis(SessionKeys.PREFIX).set(session_key(agents), session)
            assert client.post("/messages/inbox", json={}, headers=agents).status_code == 200
            round_trips.clear()
            assert client.post("/messages/inbox", json={}, headers=agents).status_code == 200
            assert round_trips.names() == [["GET"], ["EVALSHA"]]
            get_redis(SessionKeys.PREFIX).delete(session_key(agents))
            assert client.post("/messages/inbox", json={}, headers=agents).status_code == 401
        finally:
            monkeypatch.undo()
            databases.reset()


class TestSendChecksTheSessionInItsScript(TestBase):
    @pytest.mark.parametrize("later", [False, True], ids=["now", "scheduled"])
    def test_a_known_token_sends_with_no_round_trip_of_its_own(
        self, client, agents, round_trips, later
    ):
        """The session is checked in the reserving call: then a delivery, or nothing more."""
        send = {"to": "bob", "body": "hi"} | ({"deliver_at": time.time() + 3600} if later else {})
        assert client.post("/messages/send", json=send, headers=agents).status_code == 201
        round_trips.clear()
        assert client.post("/messages/send", json=send, headers=agents).status_code == 201
        if on_cluster():  # reads the session first; delivers once the reservation answered
            expected = [["GET"], ["EVALSHA"]] + ([] if later else [["EVALSHA"]])
        else:  # the delivery rides with the reservation
            expected = [["EVALSHA"]] if later else [["EVALSHA", "EVALSHA"]]
        assert round_trips.names() == expected

    @pytest.mark.parametrize("later", [False, True], ids=["now", "scheduled"])
    def test_a_session_ended_elsewhere_sends_nothing(self, client, agents, later):
        send = {"to": "bob", "body": "hi"} | ({"deliver_at": time.time() + 3600} if later else {})
        assert client.post("/messages/send", json=send, headers=agents).status_code == 201
        inbox, pending = Messages("bob").page(), delivery_worklist().view()["pending"]
        sends = get_redis(MsgKeys.PREFIX).zcard(MsgKeys.sent("alice"))
        assert get_redis(SessionKeys.PREFIX).delete(session_key(agents)) == 1
        response = client.post("/messages/send", json=send, headers=agents)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "unauthorized"
        assert Messages("bob").page() == inbox
        assert delivery_worklist().view()["pending"] == pending
        assert get_redis(MsgKeys.PREFIX).zcard(MsgKeys.sent("alice")) == sends
