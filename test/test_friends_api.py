from base_test import TestBase


class TestFriendsApi(TestBase):
    def test_request_accept_list_remove(self, client, signup):
        alice, bob = signup("alice"), signup("bob")
        response = client.post("/friends/request", json={"username": "bob"}, headers=alice)
        assert response.status_code == 200 and response.get_json() == {"status": "requested"}
        listed = client.post("/friends/list", json={}, headers=bob).get_json()
        assert listed == {"friends": [], "incoming": ["alice"], "outgoing": []}
        response = client.post("/friends/accept", json={"username": "alice"}, headers=bob)
        assert response.get_json() == {"status": "friends"}
        listed = client.post("/friends/list", json={}, headers=alice).get_json()
        assert [f["username"] for f in listed["friends"]] == ["bob"]
        assert isinstance(listed["friends"][0]["since"], float)
        response = client.post("/friends/remove", json={"username": "bob"}, headers=alice)
        assert response.status_code == 200 and response.get_json() == {}
        listed = client.post("/friends/list", json={}, headers=bob).get_json()
        assert listed == {"friends": [], "incoming": [], "outgoing": []}

    def test_request_to_someone_who_asked_you_answers_friends(self, client, signup):
        alice, bob = signup("alice"), signup("bob")
        client.post("/friends/request", json={"username": "bob"}, headers=alice)
        response = client.post("/friends/request", json={"username": "alice"}, headers=bob)
        assert response.get_json() == {"status": "friends"}

    def test_unknown_agent_yourself_and_nothing_pending(self, client, signup):
        alice = signup("alice")
        signup("bob")
        response = client.post("/friends/request", json={"username": "ghost"}, headers=alice)
        assert response.status_code == 404
        response = client.post("/friends/request", json={"username": "alice"}, headers=alice)
        assert response.status_code == 400 and "yourself" in response.get_json()["error"]["message"]
        response = client.post("/friends/accept", json={"username": "bob"}, headers=alice)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"
