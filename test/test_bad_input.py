import pytest

from base_test import TestBase
from helpers import LOCKED_PATHS

PHONE = "+14155550100"
GOOD = {
    "/agents/register": {"username": "carol", "password": "long enough", "display_name": "C"},
    "/login": {"username": "alice", "password": "correct horse battery"},
    "/logout": {},
    "/agents/view": {"username": "alice"},
    "/phones/set": {"phone": PHONE},
    "/phones/discover": {"phones": [PHONE]},
}

# (path, field, value): GOOD[path] with field set to value (or removed when value is MISSING).
MISSING = object()
BAD_FIELDS = [
    *[
        ("/agents/register", "username", value)
        for value in [5, None, True, ["alice"], "ab", "x" * 33, "Alice", "al ice", "é" * 5, MISSING]
    ],
    *[
        ("/agents/register", "password", value)
        for value in [12345678, None, "seven77", "x" * 257, ["long enough"], MISSING]
    ],
    *[("/agents/register", "display_name", value) for value in [None, "", "x" * 65, 5, {}]],
    # Control and format characters (Cc, Cf): NUL, newline, bidi override, zero-width joiner...
    *[
        ("/agents/register", "display_name", value)
        for value in ["\u202eevil\x00", "bat\x00", "bat\nman", "\u202eolleh", "a\u200db", "\ufeff"]
    ],
    *[("/login", "username", value) for value in [5, None, "x" * 33, "Al!", "", MISSING]],
    *[("/login", "password", value) for value in [5, None, "", "x" * 257, MISSING]],
    *[("/agents/view", "username", value) for value in [5, None, [], "ab", "x" * 33, MISSING]],
    *[
        ("/phones/set", "phone", value)
        for value in [
            14155550100,
            None,
            "",
            "14155550100",
            "+1234567",
            "+1234567890123456",
            "+1415555010a",
            "+" + "1" * 40,
            [PHONE],
            MISSING,
        ]
    ],
    *[
        ("/phones/discover", "phones", value)
        for value in [
            PHONE,
            None,
            [],
            [PHONE] * 1001,
            [5],
            [None],
            ["not a phone"],
            [PHONE, "+1"],
            {"0": PHONE},
            MISSING,
        ]
    ],
]


def body_with(path, field, value):
    body = dict(GOOD[path])
    if value is MISSING:
        body.pop(field)
    else:
        body[field] = value
    return body


def assert_bad_request(response, naming=None):
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "bad_request"
    if naming is not None:
        assert naming in error["message"], error["message"]


class TestBadInput(TestBase):
    def setUp(self):
        super().setUp()
        self.headers = None

    def post(self, client, signup, path, **kwargs):
        if self.headers is None and path in LOCKED_PATHS:
            self.headers = signup("alice", "correct horse battery")
        headers = self.headers if path in LOCKED_PATHS else {}
        return client.post(path, headers=headers, **kwargs)

    def test_the_good_bodies_are_accepted(self, client, signup):
        self.headers = signup("alice", "correct horse battery")
        for path in sorted(GOOD, key=lambda p: p == "/logout"):
            response = self.post(client, signup, path, json=GOOD[path])
            assert response.status_code in (200, 201), (path, response.get_json())

    @pytest.mark.parametrize(("path", "field", "value"), BAD_FIELDS)
    def test_a_bad_field_is_400_naming_it(self, client, signup, path, field, value):
        response = self.post(client, signup, path, json=body_with(path, field, value))
        assert_bad_request(response, naming=field)

    @pytest.mark.parametrize("path", GOOD)
    def test_an_unknown_field_is_400_naming_it(self, client, signup, path):
        body = {**GOOD[path], "is_admin": True}
        assert_bad_request(self.post(client, signup, path, json=body), naming="is_admin")

    @pytest.mark.parametrize("path", GOOD)
    @pytest.mark.parametrize("raw", ["[]", '"text"', "3", "null", "true", '[{"a": 1}]'])
    def test_a_body_that_is_not_an_object_is_400(self, client, signup, path, raw):
        response = self.post(client, signup, path, data=raw, content_type="application/json")
        assert_bad_request(response, naming="object")

    @pytest.mark.parametrize("path", GOOD)
    @pytest.mark.parametrize("raw", ["{not json", '{"username": NaN}', b"\xff\xfe"])
    def test_a_body_that_is_not_json_is_400(self, client, signup, path, raw):
        response = self.post(client, signup, path, data=raw, content_type="application/json")
        assert_bad_request(response)

    @pytest.mark.parametrize("path", GOOD)
    def test_a_body_not_declared_as_json_is_415(self, client, signup, path):
        response = self.post(client, signup, path, data="{}", content_type="text/plain")
        assert response.status_code == 415
        assert response.get_json()["error"]["code"] == "unsupported_media_type"
