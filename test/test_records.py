import json

import msgpack
import pytest

from batfriend.agent import AgentSnapshot

SNAPSHOTS = [
    AgentSnapshot("alice", "alice", 1700000000.0),
    AgentSnapshot("bob_42", "Bøb the 🦇 — «Ночной» 蝙蝠", 1700000000.123456),
    AgentSnapshot("zed", "Zed\u200d\U0001f9d1\u200d\U0001f4bb \\ \" ' \n", 0.0),
]


class TestAgentSnapshot:
    @pytest.mark.parametrize("snapshot", SNAPSHOTS)
    def test_json_round_trip(self, snapshot):
        text = snapshot.dump_json()
        assert isinstance(text, str)
        assert AgentSnapshot.load_json(text) == snapshot

    @pytest.mark.parametrize("snapshot", SNAPSHOTS)
    def test_msgpack_round_trip(self, snapshot):
        data = snapshot.dump_msgpack()
        assert isinstance(data, bytes)
        assert AgentSnapshot.load_msgpack(data) == snapshot

    def test_json_keeps_unicode_readable(self):
        text = SNAPSHOTS[1].dump_json()
        assert "🦇" in text and "蝙蝠" in text
        assert json.loads(text) == SNAPSHOTS[1].to_dict()

    def test_is_frozen(self):
        with pytest.raises(AttributeError):
            SNAPSHOTS[0].display_name = "mallory"

    def test_integer_created_at_loads_as_float(self):
        loaded = AgentSnapshot.load_json(
            '{"username": "a_b", "display_name": "A", "created_at": 5}'
        )
        assert loaded.created_at == 5.0 and type(loaded.created_at) is float

    @pytest.mark.parametrize(
        "fields",
        [
            {"username": 5, "display_name": "x", "created_at": 1.0},
            {"username": "abc", "display_name": None, "created_at": 1.0},
            {"username": "abc", "display_name": "x", "created_at": "1.0"},
            {"username": "abc", "display_name": "x", "created_at": True},
        ],
    )
    def test_wrong_types_are_refused(self, fields):
        with pytest.raises(TypeError):
            AgentSnapshot.load_json(json.dumps(fields))
        with pytest.raises(TypeError):
            AgentSnapshot.load_msgpack(msgpack.packb(fields))

    def test_missing_field_is_refused(self):
        with pytest.raises(KeyError):
            AgentSnapshot.load_json('{"username": "abc", "display_name": "x"}')
