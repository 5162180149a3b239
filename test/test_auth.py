import secrets

import pytest

from base_test import TestBase
from batfriend.api import create_app
from helpers import LOCKED_ENDPOINTS, LOCKED_PATHS, OPEN_ENDPOINTS


def assert_unauthorized(response):
    assert response.status_code == 401, response.get_json()
    assert response.get_json()["error"]["code"] == "unauthorized"


class TestEveryLockedEndpoint(TestBase):
    def test_the_lists_cover_every_route(self):
        routes = {rule.rule for rule in create_app(expose_sqs=True).url_map.iter_rules()}
        assert routes == set(LOCKED_PATHS) | OPEN_ENDPOINTS

    @pytest.mark.parametrize(("path", "body"), LOCKED_ENDPOINTS, ids=LOCKED_PATHS)
    @pytest.mark.parametrize(
        "authorization",
        [None, "", "Bearer", "Bearer ", "Basic YWxpY2U6cHc=", "Bearer " + "x" * 200],
        ids=["none", "empty", "no-token", "blank-token", "basic", "oversized"],
    )
    def test_no_token_is_401(self, client, path, body, authorization):
        headers = {} if authorization is None else {"Authorization": authorization}
        assert_unauthorized(client.post(path, json=body, headers=headers))

    @pytest.mark.parametrize(("path", "body"), LOCKED_ENDPOINTS, ids=LOCKED_PATHS)
    def test_wrong_token_is_401(self, client, signup, path, body):
        signup("alice")
        headers = {"Authorization": "Bearer " + secrets.token_urlsafe(32)}
        assert_unauthorized(client.post(path, json=body, headers=headers))

    @pytest.mark.parametrize(("path", "body"), LOCKED_ENDPOINTS, ids=LOCKED_PATHS)
    def test_logged_out_token_is_401(self, client, signup, path, body):
        headers = signup("alice")
        assert client.post("/logout", json={}, headers=headers).status_code == 200
        assert_unauthorized(client.post(path, json=body, headers=headers))

    @pytest.mark.parametrize(("path", "body"), LOCKED_ENDPOINTS, ids=LOCKED_PATHS)
    def test_a_live_token_passes(self, client, signup, path, body):
        headers = signup("alice")
        status = client.post(path, json=body, headers=headers).status_code
        assert status in (200, 201, 403, 404), status

    @pytest.mark.parametrize("path", LOCKED_PATHS)
    def test_authentication_comes_before_validation(self, client, path):
        assert_unauthorized(client.post(path, json={"no_such_field": [1]}))
