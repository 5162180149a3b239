import threading
import time

from base_test import TestBase
from batfriend.agency import Agency
from batfriend.agent import Agent


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


class TestRegistrationRace(TestBase):
    def test_ten_registrations_of_one_name_yield_exactly_one_account(self, app):
        start = threading.Barrier(10, timeout=10)
        statuses = []

        def register(i):
            client = app.test_client()
            start.wait()
            response = client.post(
                "/agents/register",
                json={"username": "popular", "password": f"password {i}", "display_name": str(i)},
            )
            statuses.append((response.status_code, i))

        threads = [threading.Thread(target=register, args=(i,)) for i in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        codes = sorted(code for code, _ in statuses)
        assert codes == [201] + [409] * 9
        (winner,) = [i for code, i in statuses if code == 201]
        assert Agent("popular").view().display_name == str(winner)
        assert Agent("popular").check_password(f"password {winner}")
        assert Agency().view_many(["popular"])["popular"].display_name == str(winner)
