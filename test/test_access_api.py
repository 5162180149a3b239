import time

import pytest

from base_test import TestBase
from helpers import LOCKED_ENDPOINTS

GOOD_ID = "1700000000000-000000000001-0123456789"

BAD_INPUT = [
    ("/friends/request", {}, "username"),
    ("/friends/request", {"username": "Bob!"}, "username"),
    ("/friends/accept", {"username": 7}, "username"),
    ("/friends/remove", {"username": "x"}, "username"),
    ("/friends/list", {"username": "bob"}, "username"),
    ("/messages/send", {"body": "hi"}, "to"),
    ("/messages/send", {"to": "bob"}, "body"),
    ("/messages/send", {"to": "bob", "body": ""}, "body"),
    ("/messages/send", {"to": "bob", "body": "x" * 4001}, "body"),
    ("/messages/send", {"to": "bob", "body": "hi", "deliver_at": "soon"}, "deliver_at"),
    ("/messages/send", {"to": "bob", "body": "hi", "deliver_at": -5}, "deliver_at"),
    ("/messages/send", {"to": "bob", "body": "hi", "deliver_at": 1e300}, "deliver_at"),
    ("/messages/send", {"to": "bob", "body": "hi", "deliver_at": 4102444800 * 100}, "deliver_at"),
    ("/messages/send", {"to": "bob", "body": "hi", "cc": "carol"}, "cc"),
    ("/messages/inbox", {"limit": 0}, "limit"),
    ("/messages/inbox", {"limit": 101}, "limit"),
    ("/messages/inbox", {"limit": 5.5}, "limit"),
    ("/messages/inbox", {"before": "yesterday"}, "before"),
    ("/messages/inbox", {"before": None}, "before"),
    ("/messages/read", {}, "ids"),
    ("/messages/read", {"ids": "all"}, "ids"),
    ("/messages/read", {"ids": [GOOD_ID, 5]}, "ids"),
    ("/messages/read", {"ids": ["x" * 65]}, "ids"),
    ("/messages/read", {"ids": [GOOD_ID] * 1001}, "ids"),
    ("/messages/reschedule", {"deliver_at": 1.0}, "id"),
    ("/messages/reschedule", {"id": "not-an-id", "deliver_at": 1.0}, "id"),
    ("/messages/reschedule", {"id": 7, "deliver_at": 1.0}, "id"),
    ("/messages/reschedule", {"id": GOOD_ID}, "deliver_at"),
    ("/messages/reschedule", {"id": GOOD_ID, "deliver_at": "soon"}, "deliver_at"),
    ("/messages/reschedule", {"id": GOOD_ID, "deliver_at": -1}, "deliver_at"),
    ("/messages/reschedule", {"id": GOOD_ID, "deliver_at": None}, "deliver_at"),
    ("/messages/reschedule", {"id": GOOD_ID, "deliver_at": 1e300}, "deliver_at"),
    ("/messages/reschedule", {"id": GOOD_ID, "deliver_at": 1.0, "to": "bob"}, "to"),
    ("/lobbies/join", {}, "lobby"),
    ("/lobbies/join", {"lobby": "Bat Cave"}, "lobby"),
    ("/lobbies/leave", {"lobby": "x" * 33}, "lobby"),
    ("/lobbies/post", {"lobby": "bats"}, "body"),
    ("/lobbies/post", {"lobby": "bats", "body": ["hi"]}, "body"),
    ("/lobbies/history", {"lobby": "bats", "limit": 1000}, "limit"),
    ("/lobbies/history", {"lobby": "bats", "before": 12}, "before"),
    ("/lobbies/view", {"lobby": ""}, "lobby"),
]


class TestBadInput(TestBase):
    @pytest.mark.parametrize(("path", "body", "field"), BAD_INPUT)
    def test_bad_input_is_400_naming_the_field(self, client, signup, path, body, field):
        response = client.post(path, json=body, headers=signup("alice"))
        assert response.status_code == 400, response.get_json()
        error = response.get_json()["error"]
        assert error["code"] == "bad_request"
        assert field in error["message"]

    def test_every_locked_endpoint_has_a_bad_input_case(self):
        messaging = ("/friends/", "/messages/", "/lobbies/")
        locked = {path for path, _ in LOCKED_ENDPOINTS if path.startswith(messaging)}
        assert locked == {path for path, _, _ in BAD_INPUT}


class TestScheduleBound(TestBase):
    def test_deliver_at_up_to_365_days_ahead(self, client, signup, befriend):
        alice, _ = signup("alice"), signup("bob")
        befriend("alice", "bob")
        year = 365 * 24 * 3600

        def send(ahead):
            body = {"to": "bob", "body": "hi", "deliver_at": time.time() + ahead}
            return client.post("/messages/send", json=body, headers=alice)

        assert send(year - 60).status_code == 201
        refused = send(year + 60)
        assert refused.status_code == 400 and "365 days" in refused.get_json()["error"]["message"]


class TestAuthorisation(TestBase):
    def test_nobody_reads_another_agents_inbox(self, client, signup, befriend):
        alice, bob, carol = signup("alice"), signup("bob"), signup("carol")
        befriend("alice", "bob")
        sent = client.post("/messages/send", json={"to": "alice", "body": "secret"}, headers=bob)
        response = client.post(
            "/messages/inbox",
            json={"before": "9999999999999-000000000000-0000000000"},
            headers=carol,
        )
        assert response.get_json() == {"messages": [], "unread": 0, "next_before": None}
        response = client.post("/messages/inbox", json={"username": "alice"}, headers=carol)
        assert response.status_code == 400
        mine = client.post("/messages/inbox", json={}, headers=alice).get_json()
        assert [m["id"] for m in mine["messages"]] == [sent.get_json()["id"]]

    def test_nobody_marks_another_agents_inbox_read(self, client, signup, befriend):
        alice, bob, carol = signup("alice"), signup("bob"), signup("carol")
        befriend("bob", "alice")
        sent = client.post("/messages/send", json={"to": "alice", "body": "hi"}, headers=bob)
        response = client.post(
            "/messages/read", json={"ids": [sent.get_json()["id"]]}, headers=carol
        )
        assert response.get_json() == {"unread": 0}
        assert client.post("/messages/inbox", json={}, headers=alice).get_json()["unread"] == 1

    @pytest.mark.parametrize(
        "stranger", ["not-an-id", "msg:unread:alice", "*", "9" * 64, "1700000000000-0-0"]
    )
    def test_read_ignores_ids_that_are_not_yours_whatever_their_form(
        self, client, signup, befriend, stranger
    ):
        alice, bob = signup("alice"), signup("bob")
        befriend("bob", "alice")
        client.post("/messages/send", json={"to": "alice", "body": "one"}, headers=bob)
        inbox = client.post("/messages/inbox", json={}, headers=alice).get_json()
        ids = [stranger, inbox["messages"][0]["id"]]
        response = client.post("/messages/read", json={"ids": ids}, headers=alice)
        assert response.status_code == 200, response.get_json()
        assert response.get_json() == {"unread": 0}

    def test_only_friends_can_be_messaged(self, client, signup):
        alice, bob = signup("alice"), signup("bob")
        client.post("/friends/request", json={"username": "bob"}, headers=alice)
        response = client.post("/messages/send", json={"to": "bob", "body": "hi"}, headers=alice)
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "forbidden"
        assert client.post("/messages/inbox", json={}, headers=bob).get_json()["unread"] == 0

    def test_only_members_post_to_a_lobby(self, client, signup):
        client.post("/lobbies/join", json={"lobby": "bats"}, headers=signup("alice"))
        carol = signup("carol")
        response = client.post("/lobbies/post", json={"lobby": "bats", "body": "hi"}, headers=carol)
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "forbidden"

    def test_only_members_read_a_lobby(self, client, signup):
        alice = signup("alice")
        client.post("/lobbies/join", json={"lobby": "bats"}, headers=alice)
        client.post("/lobbies/post", json={"lobby": "bats", "body": "members only"}, headers=alice)
        carol = signup("carol")
        response = client.post("/lobbies/history", json={"lobby": "bats"}, headers=carol)
        assert response.status_code == 403
        assert "messages" not in response.get_json()
