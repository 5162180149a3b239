"""The authorisation matrix, generated from Flask's route table, so no route ships unguarded.

Every route not on the short public list answers 401 ``unauthorized`` to a
request without a token, with a malformed one, a logged-out one and an expired
one, whatever its body (authentication comes before validation).
"""

import time

import pytest

from base_test import TestBase
from batfriend.agent import Agent
from batfriend.api import create_app
from batfriend.doorman import Doorman

# Routes anyone may call; everything else needs a live token.
PUBLIC = {"/", "/status", "/ready", "/openapi.json", "/agents/register", "/login", "/sqs"}
APP = create_app(expose_sqs=True)
GUARDED = sorted(
    (rule.rule, method)
    for rule in APP.url_map.iter_rules()
    if rule.rule not in PUBLIC
    for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
)
MALFORMED = [
    "",
    "Bearer",
    "Bearer ",
    "bearer  ",
    "Token abc",
    "Basic YWxpY2U6cHc=",
    "Bearer " + "x" * 200,
    "Bearer not-a-token-of-ours",
]


def assert_unauthorized(response):
    assert response.status_code == 401, (response.status_code, response.get_json())
    assert response.get_json()["error"]["code"] == "unauthorized"


class TestAuthorisationMatrix(TestBase):
    @pytest.fixture
    def client(self):
        return APP.test_client()

    def call(self, client, route, method, authorization=None):
        headers = {} if authorization is None else {"Authorization": authorization}
        return client.open(route, method=method, json={}, headers=headers)

    def token(self, ttl=None):
        Agent("alice").register("correct horse battery")
        return Doorman(ttl=ttl).login("alice", "correct horse battery")[0]

    def test_the_table_has_guarded_routes(self):
        assert len(GUARDED) >= 17 and all(method == "POST" for _, method in GUARDED)

    @pytest.mark.parametrize(("route", "method"), GUARDED)
    def test_no_token(self, client, route, method):
        assert_unauthorized(self.call(client, route, method))

    @pytest.mark.parametrize(("route", "method"), GUARDED)
    @pytest.mark.parametrize("authorization", MALFORMED)
    def test_a_malformed_token(self, client, route, method, authorization):
        assert_unauthorized(self.call(client, route, method, authorization))

    @pytest.mark.parametrize(("route", "method"), GUARDED)
    def test_a_logged_out_token(self, client, route, method):
        token = self.token()
        Doorman().logout(token)
        assert_unauthorized(self.call(client, route, method, f"Bearer {token}"))

    @pytest.mark.parametrize(("route", "method"), GUARDED)
    def test_an_expired_token(self, client, route, method):
        token = self.token(ttl=0.05)
        time.sleep(0.1)
        assert_unauthorized(self.call(client, route, method, f"Bearer {token}"))
