"""Bad text at the HTTP level: lone surrogates in every string field, and JSON nested too deep.

Both used to answer 500 with a traceback; both are 400s on every endpoint, the
unauthenticated ``/login`` and ``/agents/register`` and ``/sqs`` included.
"""

import json

import pytest

from base_test import TestBase
from batfriend.api import create_app
from helpers import LOCKED_ENDPOINTS

MESSAGE_ID = "1700000000000-000000000001-0123456789"
# Every POST endpoint, with a body it would accept (and every optional string field).
BODIES = {
    "/agents/register": {"username": "carol", "password": "long enough", "display_name": "C"},
    "/login": {"username": "alice", "password": "correct horse battery"},
    **dict(LOCKED_ENDPOINTS),
    "/messages/inbox": {"before": MESSAGE_ID, "limit": 5},
    "/lobbies/history": {"lobby": "bats", "before": MESSAGE_ID},
    "/sqs": {"type": "system_message", "to": "alice", "body": "hi"},
}
OPEN = {"/agents/register", "/login", "/sqs"}
SQS_HEADERS = {"X-Aws-Sqsd-Msgid": "msg-1", "User-Agent": "aws-sqsd/3.0.4"}
LONE = "ok\ud800"
# (path, field) for every string field, and every list-of-strings field.
STRING_FIELDS = [
    (path, field)
    for path, body in BODIES.items()
    for field, value in body.items()
    if type(value) in (str, list)
]


def with_lone_surrogate(value):
    return [LONE] if type(value) is list else LONE


def nested(depth):
    return "[" * depth + "]" * depth


class TestBadText(TestBase):
    @pytest.fixture
    def post(self, signup):
        """POST raw JSON text to a path, with a live token or sqsd's headers as it needs."""
        client = create_app(expose_sqs=True).test_client()
        auth = signup("alice")

        def send(path, text):
            headers = SQS_HEADERS if path == "/sqs" else {} if path in OPEN else auth
            return client.post(path, data=text, content_type="application/json", headers=headers)

        return send

    def assert_bad_request(self, response):
        assert response.status_code == 400, (response.status_code, response.get_data()[:300])
        assert response.get_json()["error"]["code"] == "bad_request"

    @pytest.mark.parametrize(("path", "field"), STRING_FIELDS, ids=map(":".join, STRING_FIELDS))
    def test_a_lone_surrogate_in_any_string_is_400(self, post, path, field):
        body = {**BODIES[path], field: with_lone_surrogate(BODIES[path][field])}
        text = json.dumps(body)  # ensure_ascii: the surrogate travels as the escape \ud800
        assert "\\ud800" in text
        self.assert_bad_request(post(path, text))

    @pytest.mark.parametrize("path", ["/messages/send", "/lobbies/post", "/login"])
    def test_a_lone_surrogate_in_utf16_is_400(self, post, path):
        body = {**BODIES[path], "body" if "body" in BODIES[path] else "password": LONE}
        self.assert_bad_request(post(path, json.dumps(body).encode("utf-16")))

    def test_a_paired_surrogate_escape_is_text(self, post, befriend):
        befriend("alice", "bob")
        sent = post("/messages/send", '{"to": "bob", "body": "bat \\ud83e\\udd87"}')
        assert sent.status_code == 201, sent.get_json()

    @pytest.mark.parametrize("path", BODIES)
    @pytest.mark.parametrize("depth", [9, 100, 20000])
    def test_json_nested_too_deep_is_400(self, post, path, depth):
        field = next(iter(BODIES[path]), "anything")
        self.assert_bad_request(post(path, f'{{"{field}": {nested(depth)}}}'))

    def test_a_bare_deep_array_is_400(self, post):
        self.assert_bad_request(post("/login", nested(30000)))

    def test_nan_and_infinity_are_still_refused(self, post):
        for constant in ("NaN", "Infinity", "-Infinity"):
            text = f'{{"id": "{MESSAGE_ID}", "deliver_at": {constant}}}'
            self.assert_bad_request(post("/messages/reschedule", text))
