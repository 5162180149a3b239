from base_test import TestBase


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
