import time

from archive_base import ODD_BODIES, ArchiveTestBase
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
