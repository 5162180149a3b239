import time

from base_test import TestBase


class TestSessions(TestBase):
    def test_register_login_view_logout(self, client):
        response = client.post(
            "/agents/register",
            json={"username": "alice", "password": "correct horse", "display_name": "Alice 🦇"},
        )
        assert response.status_code == 201
        created = response.get_json()
        assert created["username"] == "alice" and created["display_name"] == "Alice 🦇"
        assert abs(created["created_at"] - time.time()) < 60

        response = client.post("/login", json={"username": "alice", "password": "correct horse"})
        assert response.status_code == 200
        token = response.get_json()["token"]
        assert len(token) >= 43 and response.get_json()["expires_at"] > time.time()
        headers = {"Authorization": f"Bearer {token}"}

        response = client.post("/agents/view", json={"username": "alice"}, headers=headers)
        assert response.get_json() == created

        assert client.post("/logout", json={}, headers=headers).get_json() == {}
        response = client.post("/agents/view", json={"username": "alice"}, headers=headers)
        assert response.status_code == 401

    def test_display_name_defaults_to_username(self, client):
        response = client.post("/agents/register", json={"username": "bob", "password": "x" * 8})
        assert response.get_json()["display_name"] == "bob"

    def test_taken_username_is_409(self, client, signup):
        signup("alice")
        response = client.post("/agents/register", json={"username": "alice", "password": "y" * 8})
        assert response.status_code == 409
        assert response.get_json()["error"]["code"] == "conflict"

    def test_wrong_password_and_unknown_user_look_the_same(self, client, signup):
        signup("alice")
        wrong = client.post("/login", json={"username": "alice", "password": "wrong password"})
        unknown = client.post("/login", json={"username": "nobody", "password": "wrong password"})
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.get_json() == unknown.get_json()

    def test_view_unknown_agent_is_404(self, client, signup):
        headers = signup("alice")
        response = client.post("/agents/view", json={"username": "ghost"}, headers=headers)
        assert response.status_code == 404
