"""CI's contract fuzz: schemathesis over GET /openapi.json against the real app and Redis.

Not collected by the plain suite (the file name has no ``test_`` prefix); ``.ci/run``
runs it on its own, bounded by ``BATFRIEND_FUZZ_EXAMPLES`` examples per operation.
Every check schemathesis has must pass: no 5xx, no undocumented status, no
response that breaks its schema, valid data accepted, invalid data refused.
"""

import json
import os
import time
import unicodedata

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from base_test import flush_test_redis
from batfriend.api import create_app

EXAMPLES = int(os.environ.get("BATFRIEND_FUZZ_EXAMPLES", "50"))

app = create_app(expose_sqs=True)
schema = schemathesis.openapi.from_wsgi("/openapi.json", app)


@pytest.fixture(scope="module")
def agents():
    """The agent the fuzzer acts as, and a friend (the test Redis is flushed first)."""
    flush_test_redis()
    client = app.test_client()
    for name in ("fuzzer", "friend"):
        client.post("/agents/register", json={"username": name, "password": "fuzzing password"})


@pytest.fixture
def token(agents):
    """A fresh session for each test: fuzzing POST /logout ends the one before."""
    response = app.test_client().post(
        "/login", json={"username": "fuzzer", "password": "fuzzing password"}
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()["token"]


SCHEDULE_AHEAD = 365 * 86400


def beyond_json_schema(body: object) -> bool:
    """Whether ``body`` breaks a documented rule JSON Schema cannot state, so 400 is right:
    deliver_at more than 365 days from now, a display name with Cc or Cf characters."""
    if not isinstance(body, dict):
        return False
    deliver_at = body.get("deliver_at")
    if isinstance(deliver_at, int | float) and deliver_at > time.time() + SCHEDULE_AHEAD - 60:
        return True
    name = body.get("display_name")
    return isinstance(name, str) and any(unicodedata.category(c) in ("Cc", "Cf") for c in name)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_app_keeps_its_contract(case, token):
    headers = (
        {"Authorization": f"Bearer {token}"} if case.operation.definition.raw["security"] else {}
    )
    excluded = []
    if case.headers and "X-Aws-Sqsd-Taskname" in case.headers:
        excluded.append(negative_data_rejection)  # a periodic task's body is ignored, as documented
    if beyond_json_schema(case.body):
        excluded.append(positive_data_acceptance)
    response = case.call(headers=headers)
    if response.status_code == 413:
        excluded.append(negative_data_rejection)  # over 64 KiB is refused for its size first
    case.validate_response(response, headers=headers, excluded_checks=excluded)
    if "Authorization" in response.request.headers and case.operation.path != "/logout":
        assert response.status_code != 401, "the fuzzer's session must stay valid"


JSON_POSTS = [
    path for path, item in schema.raw_schema["paths"].items() if "post" in item and path != "/sqs"
]
# A body each endpoint would accept but for one string holding an unpaired surrogate.
SURROGATES = [
    ("/agents/register", {"username": "surrogate", "password": "\ud800" * 8}),
    (
        "/agents/register",
        {"username": "surrogate", "password": "long enough", "display_name": "\ud800"},
    ),
    ("/login", {"username": "fuzzer", "password": "\ud800"}),
    ("/messages/send", {"to": "friend", "body": "\ud800"}),
    ("/lobbies/post", {"lobby": "hall", "body": "\udfff"}),
]


@pytest.mark.parametrize("path", JSON_POSTS)
def test_json_nested_5000_deep_is_a_400(path, token):
    """What random generation rarely makes: JSON nested far deeper than any request needs."""
    response = app.test_client().post(
        path,
        data="[" * 5000 + "]" * 5000,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400, (path, response.status_code)


@pytest.mark.parametrize(("path", "body"), SURROGATES, ids=[p for p, _ in SURROGATES])
def test_an_unpaired_surrogate_is_a_400(path, body, token):
    """Text that is no sequence of Unicode scalar values (JSON allows "\\ud800" escapes)."""
    response = app.test_client().post(
        path,
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400, (path, response.status_code)
