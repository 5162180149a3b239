import json

import orjson

from base_test import TestBase
from batfriend.api import create_app
from batfriend.api.json_provider import OrjsonProvider


def answer(obj):
    """Return the body bytes ``jsonify`` answers for ``obj`` in the service's app."""
    app = create_app()
    with app.app_context():
        return app.json.response(obj).get_data()


class TestOrjsonProvider(TestBase):
    def test_the_app_answers_through_orjson(self):
        assert isinstance(create_app().json, OrjsonProvider)
        page = {"messages": [{"id": "1", "body": "héllo 🦇", "read": False}], "unread": 1}
        body = answer(page)
        # orjson writes UTF-8 as is (Flask's own encoder escapes it as \\u00e9)
        assert body == orjson.dumps(page) + b"\n"
        assert "héllo 🦇".encode() in body

    def test_keys_keep_their_order(self):
        assert answer({"b": 1, "a": 2}) == b'{"b":1,"a":2}\n'

    def test_what_orjson_refuses_is_still_answered_exactly(self):
        huge = 2**70
        assert json.loads(answer({"n": huge})) == {"n": huge}
        assert json.loads(answer({"s": "\ud800"})) == {"s": "\ud800"}
        assert json.loads(answer({1: "x"})) == {"1": "x"}

    def test_dumps_serves_flask_helpers(self):
        app = create_app()
        assert app.json.dumps({"a": [1, 2.5, None]}) == '{"a":[1,2.5,null]}'
        assert app.json.dumps({"a": 1}, indent=2) == '{\n  "a": 1\n}'
