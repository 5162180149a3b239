"""CI's contract fuzz: schemathesis over GET /openapi.json against the real app and Redis.

Not collected by the plain suite (the file name has no ``test_`` prefix); ``.ci/run``
runs it on its own, bounded by ``BATFRIEND_FUZZ_EXAMPLES`` examples per operation.
Every check schemathesis has must pass: no 5xx, no undocumented status, no
response that breaks its schema, valid data accepted, invalid data refused.
"""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection

from base_test import flush_test_redis
from batfriend.api import create_app

EXAMPLES = int(os.environ.get("BATFRIEND_FUZZ_EXAMPLES", "50"))

app = create_app(expose_sqs=True)
schema = schemathesis.openapi.from_wsgi("/openapi.json", app)


@pytest.fixture(scope="module")
def token():
    """A live session of the agent the fuzzer acts as (the test Redis is flushed first)."""
    flush_test_redis()
    client = app.test_client()
    for name in ("fuzzer", "friend"):
        client.post("/agents/register", json={"username": name, "password": "fuzzing password"})
    response = client.post("/login", json={"username": "fuzzer", "password": "fuzzing password"})
    return response.get_json()["token"]


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
    case.call_and_validate(headers=headers, excluded_checks=excluded)
