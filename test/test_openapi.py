"""The OpenAPI document against the Flask route table: nothing undocumented, nothing missing."""

import pytest

from base_test import TestBase
from batfriend.api import create_app
from batfriend.api.openapi import document

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def route_table() -> dict[str, set[str]]:
    """Return every path of the app (``/sqs`` exposed) with its methods."""
    routes: dict[str, set[str]] = {}
    for rule in create_app(expose_sqs=True).url_map.iter_rules():
        if rule.endpoint != "static":
            routes.setdefault(rule.rule, set()).update(rule.methods - IGNORED_METHODS)
    return routes


def documented() -> dict[str, set[str]]:
    return {path: {m.upper() for m in item} for path, item in document()["paths"].items()}


OPERATIONS = [
    (path, method, operation)
    for path, item in document()["paths"].items()
    for method, operation in item.items()
]


class TestOpenApiDocument(TestBase):
    def test_documents_exactly_the_routes_flask_serves(self):
        assert documented() == route_table()

    def test_is_served_publicly_as_json(self, client):
        response = client.get("/openapi.json")
        assert response.status_code == 200
        assert response.mimetype == "application/json"
        assert response.get_json() == document()
        assert response.get_json()["openapi"].startswith("3.1")

    @pytest.mark.parametrize(
        ("path", "method", "operation"), OPERATIONS, ids=[f"{m} {p}" for p, m, _ in OPERATIONS]
    )
    def test_a_token_is_needed_exactly_where_documented(self, path, method, operation):
        client = create_app(expose_sqs=True).test_client()
        response = client.open(path, method=method.upper(), json={})
        needs_token = operation["security"] == [{"bearer": []}]
        assert (response.status_code == 401) is needs_token, response.get_json()
        assert "401" in operation["responses"] or not needs_token

    def test_every_error_status_has_the_envelope_and_429_and_503_say_retry_after(self):
        for path, method, operation in OPERATIONS:
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]
                    assert "#/components/schemas/Error" in str(schema), (path, method, status)
                if status in ("429", "503") and path != "/ready":
                    assert "Retry-After" in response["headers"], (path, method, status)
