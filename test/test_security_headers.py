"""Headers on every answer (API.md): nosniff everywhere, no-store on private answers."""

import pytest

from base_test import TestBase
from helpers import LOCKED_ENDPOINTS


def assert_headers(response):
    assert response.headers["X-Content-Type-Options"] == "nosniff", response.headers
    assert response.headers["Cache-Control"] == "no-store", response.headers


class TestSecurityHeaders(TestBase):
    @pytest.mark.parametrize("path", ["/", "/status", "/ready", "/no-such-path"])
    def test_public_gets(self, client, path):
        assert_headers(client.get(path))

    def test_every_login_answer(self, client, signup):
        signup("alice")
        good = {"username": "alice", "password": "correct horse battery"}
        assert_headers(client.post("/login", json=good))
        assert_headers(client.post("/login", json={**good, "password": "wrong password"}))
        assert_headers(client.post("/login", json={"username": "alice"}))
        assert_headers(client.post("/login", data="{", content_type="application/json"))
        assert_headers(client.get("/login"))

    @pytest.mark.parametrize(
        ("path", "body"), LOCKED_ENDPOINTS, ids=[p for p, _ in LOCKED_ENDPOINTS]
    )
    def test_every_authenticated_answer(self, client, signup, path, body):
        headers = signup("alice")
        assert_headers(client.post(path, json=body, headers=headers))
        assert_headers(client.post(path, json={"no_such_field": 1}, headers=headers))
        assert_headers(client.post(path, json=body))

    def test_registration(self, client):
        body = {"username": "alice", "password": "correct horse battery"}
        assert_headers(client.post("/agents/register", json=body))
        assert_headers(client.post("/agents/register", json=body))
