import time

from base_test import TestBase
from batfriend import config
from batfriend.watcher import MessageWatcher


class TestMessagesApi(TestBase):
    def test_send_page_and_mark_read(self, client, signup, befriend):
        alice, bob = signup("alice"), signup("bob")
        befriend("alice", "bob")
        ids = []
        for n in range(3):
            response = client.post(
                "/messages/send", json={"to": "bob", "body": f"m{n}"}, headers=alice
            )
            assert response.status_code == 201
            sent = response.get_json()
            assert set(sent) == {"id", "sent_at", "deliver_at"}
            assert sent["deliver_at"] == sent["sent_at"]
            ids.append(sent["id"])
        first = client.post("/messages/inbox", json={"limit": 2}, headers=bob).get_json()
        assert [m["id"] for m in first["messages"]] == [ids[2], ids[1]]
        assert first["unread"] == 3 and first["next_before"] == ids[1]
        assert first["messages"][0] == {
            "id": ids[2],
            "sender": "alice",
            "to": "bob",
            "lobby": None,
            "body": "m2",
            "sent_at": first["messages"][0]["sent_at"],
            "deliver_at": first["messages"][0]["sent_at"],
            "read": False,
        }
        rest = client.post(
            "/messages/inbox", json={"before": first["next_before"]}, headers=bob
        ).get_json()
        assert [m["id"] for m in rest["messages"]] == [ids[0]] and rest["next_before"] is None
        response = client.post("/messages/read", json={"ids": ids[:2]}, headers=bob)
        assert response.get_json() == {"unread": 1}
        page = client.post("/messages/inbox", json={}, headers=bob).get_json()
        assert [m["read"] for m in page["messages"]] == [False, True, True]

    def test_a_past_deliver_at_means_now(self, client, signup, befriend):
        alice = signup("alice")
        signup("bob")
        befriend("alice", "bob")
        response = client.post(
            "/messages/send", json={"to": "bob", "body": "hi", "deliver_at": 1.0}, headers=alice
        )
        sent = response.get_json()
        assert response.status_code == 201 and sent["deliver_at"] == sent["sent_at"] > 1.0

    def test_unknown_recipient_is_404(self, client, signup):
        alice = signup("alice")
        response = client.post("/messages/send", json={"to": "ghost", "body": "hi"}, headers=alice)
        assert response.status_code == 404

    def test_send_limit_answers_429_with_retry_after(self, client, signup, befriend, monkeypatch):
        monkeypatch.setattr(config, "BATFRIEND_SEND_LIMIT_PER_MINUTE", 2)
        alice = signup("alice")
        signup("bob")
        befriend("alice", "bob")
        statuses = [
            client.post("/messages/send", json={"to": "bob", "body": "hi"}, headers=alice)
            for _ in range(3)
        ]
        assert [r.status_code for r in statuses] == [201, 201, 429]
        assert statuses[2].get_json()["error"]["code"] == "too_many_requests"
        assert 1 <= int(statuses[2].headers["Retry-After"]) <= 60


class TestScheduledApi(TestBase):
    def test_a_future_deliver_at_waits_then_the_watcher_delivers_it(self, client, signup, befriend):
        alice, bob = signup("alice"), signup("bob")
        befriend("alice", "bob")
        deliver_at = time.time() + 1
        response = client.post(
            "/messages/send",
            json={"to": "bob", "body": "later", "deliver_at": deliver_at},
            headers=alice,
        )
        assert response.status_code == 201
        sent = response.get_json()
        assert set(sent) == {"id", "sent_at", "deliver_at"}
        assert sent["deliver_at"] == deliver_at > sent["sent_at"]
        assert client.post("/messages/inbox", json={}, headers=bob).get_json()["unread"] == 0
        # What runlocal's watcher thread runs: the production handlers, one pass.
        assert MessageWatcher().deliver_pass(now=deliver_at) == 1
        inbox = client.post("/messages/inbox", json={}, headers=bob).get_json()
        assert inbox["unread"] == 1
        assert [(m["id"], m["body"], m["deliver_at"]) for m in inbox["messages"]] == [
            (sent["id"], "later", deliver_at)
        ]

    def test_reschedule_postpones_or_expedites_for_the_sender_only(self, client, signup, befriend):
        alice, bob, carol = signup("alice"), signup("bob"), signup("carol")
        befriend("alice", "bob")
        later = time.time() + 3600
        sent = client.post(
            "/messages/send", json={"to": "bob", "body": "hi", "deliver_at": later}, headers=alice
        ).get_json()
        move = {"id": sent["id"], "deliver_at": later + 60}
        for someone in (bob, carol):
            response = client.post("/messages/reschedule", json=move, headers=someone)
            assert response.status_code == 404
            assert response.get_json()["error"]["code"] == "not_found"
        response = client.post("/messages/reschedule", json=move, headers=alice)
        assert response.status_code == 200
        assert response.get_json() == {"id": sent["id"], "deliver_at": later + 60}
        assert MessageWatcher().deliver_pass(now=later + 59) == 0
        before = time.time()
        response = client.post(
            "/messages/reschedule", json={"id": sent["id"], "deliver_at": 1.0}, headers=alice
        )
        assert response.status_code == 200
        assert before <= response.get_json()["deliver_at"] <= time.time()
        assert MessageWatcher().deliver_pass() == 1
        assert client.post("/messages/inbox", json={}, headers=bob).get_json()["unread"] == 1
        response = client.post("/messages/reschedule", json=move, headers=alice)
        assert response.status_code == 404, "delivered: nothing waits any more"
