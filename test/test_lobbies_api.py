from base_test import TestBase
from batfriend import config
from batfriend.databases import get_redis
from batfriend.keys import LobbyKeys


class TestLobbiesApi(TestBase):
    def test_join_post_history_view_leave(self, client, signup):
        alice, bob = signup("alice"), signup("bob")
        response = client.post("/lobbies/join", json={"lobby": "bat-cave"}, headers=alice)
        assert response.status_code == 200
        assert response.get_json() == {
            "lobby": "bat-cave",
            "members": 1,
            "online": ["alice"],
            "messages": 0,
        }
        client.post("/lobbies/join", json={"lobby": "bat-cave"}, headers=bob)
        ids = []
        for n in range(3):
            response = client.post(
                "/lobbies/post", json={"lobby": "bat-cave", "body": f"m{n}"}, headers=alice
            )
            assert response.status_code == 201 and set(response.get_json()) == {"id", "sent_at"}
            ids.append(response.get_json()["id"])
        page = client.post(
            "/lobbies/history", json={"lobby": "bat-cave", "limit": 2}, headers=bob
        ).get_json()
        assert [m["id"] for m in page["messages"]] == [ids[2], ids[1]]
        assert page["next_before"] == ids[1]
        message = page["messages"][0]
        assert (message["lobby"], message["to"], message["read"]) == ("bat-cave", None, None)
        rest = client.post(
            "/lobbies/history",
            json={"lobby": "bat-cave", "before": page["next_before"]},
            headers=bob,
        ).get_json()
        assert [m["id"] for m in rest["messages"]] == [ids[0]] and rest["next_before"] is None
        view = client.post("/lobbies/view", json={"lobby": "bat-cave"}, headers=bob).get_json()
        assert view["members"] == 2 and view["messages"] == 3
        assert sorted(view["online"]) == ["alice", "bob"]
        response = client.post("/lobbies/leave", json={"lobby": "bat-cave"}, headers=bob)
        assert response.status_code == 200 and response.get_json() == {}
        view = client.post("/lobbies/view", json={"lobby": "bat-cave"}, headers=bob).get_json()
        assert view["members"] == 1

    def test_a_lobby_nobody_joined_is_404(self, client, signup):
        alice = signup("alice")
        for path, body in [
            ("/lobbies/view", {"lobby": "void"}),
            ("/lobbies/post", {"lobby": "void", "body": "hello?"}),
            ("/lobbies/history", {"lobby": "void"}),
        ]:
            response = client.post(path, json=body, headers=alice)
            assert response.status_code == 404, path
            assert response.get_json()["error"]["code"] == "not_found"


def lobby_keys():
    return sorted(key.decode() for key in get_redis("lobby:").scan_iter(match="lobby:*"))


class TestLobbyBounds(TestBase):
    def test_posts_count_against_the_send_limit_shared_with_messages(
        self, client, signup, befriend, monkeypatch
    ):
        monkeypatch.setattr(config, "BATFRIEND_SEND_LIMIT_PER_MINUTE", 3)
        alice, _ = signup("alice"), signup("bob")
        befriend("alice", "bob")
        client.post("/lobbies/join", json={"lobby": "bats"}, headers=alice)
        post = {"lobby": "bats", "body": "x" * 4000}
        assert client.post("/lobbies/post", json=post, headers=alice).status_code == 201
        assert client.post("/lobbies/post", json=post, headers=alice).status_code == 201
        message = {"to": "bob", "body": "hi"}
        assert client.post("/messages/send", json=message, headers=alice).status_code == 201
        for path, body in (("/lobbies/post", post), ("/messages/send", message)):
            refused = client.post(path, json=body, headers=alice)
            assert refused.status_code == 429, (path, refused.get_json())
            assert 1 <= int(refused.headers["Retry-After"]) <= 60
        history = client.post("/lobbies/history", json={"lobby": "bats"}, headers=alice)
        assert len(history.get_json()["messages"]) == 2

    def test_a_lobby_nobody_posted_in_is_gone_when_its_last_member_leaves(self, client, signup):
        alice, bob = signup("alice"), signup("bob")
        for headers in (alice, bob):
            client.post("/lobbies/join", json={"lobby": "bats"}, headers=headers)
        client.post("/lobbies/leave", json={"lobby": "bats"}, headers=alice)
        assert lobby_keys() == sorted([LobbyKeys.info("bats"), LobbyKeys.members("bats")])
        client.post("/lobbies/leave", json={"lobby": "bats"}, headers=bob)
        assert lobby_keys() == []
        response = client.post("/lobbies/view", json={"lobby": "bats"}, headers=alice)
        assert response.status_code == 404

    def test_a_lobby_with_history_keeps_only_what_its_history_needs(self, client, signup):
        alice = signup("alice")
        client.post("/lobbies/join", json={"lobby": "bats"}, headers=alice)
        client.post("/lobbies/post", json={"lobby": "bats", "body": "hi"}, headers=alice)
        client.post("/lobbies/leave", json={"lobby": "bats"}, headers=alice)
        assert lobby_keys() == sorted(
            [LobbyKeys.bodies("bats"), LobbyKeys.history("bats"), LobbyKeys.info("bats")]
        )
        snapshot = client.post("/lobbies/join", json={"lobby": "bats"}, headers=alice).get_json()
        assert snapshot["messages"] == 1
