import json
import multiprocessing
import threading

import pytest

from base_test import TestBase
from batfriend.message import MESSAGE_ID, Message, message_time, new_message_id

NOW = 1_700_000_000.123


def _child_id(queue):
    queue.put(new_message_id(NOW))


class TestMessageIds(TestBase):
    def test_ids_in_one_millisecond_are_distinct_and_ordered(self):
        ids = [new_message_id(NOW) for _ in range(10_000)]
        assert len(set(ids)) == len(ids)
        assert ids == sorted(ids)
        assert all(MESSAGE_ID.fullmatch(i) for i in ids)

    def test_ids_sort_by_time_before_sequence(self):
        later = new_message_id(NOW + 0.001)
        earlier = new_message_id(NOW)
        assert earlier < later
        assert message_time(earlier) == pytest.approx(NOW, abs=0.001)
        assert message_time(later) - message_time(earlier) == pytest.approx(0.001, abs=1e-6)

    def test_ids_from_many_threads_are_distinct(self):
        made = [[] for _ in range(8)]
        start = threading.Barrier(8)

        def make(into):
            start.wait()
            into.extend(new_message_id(NOW) for _ in range(2_000))

        threads = [threading.Thread(target=make, args=(m,)) for m in made]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        every = [i for batch in made for i in batch]
        assert len(set(every)) == 16_000
        assert all(batch == sorted(batch) for batch in made)

    def test_a_forked_child_gets_its_own_node(self):
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        child = context.Process(target=_child_id, args=(queue,))
        child.start()
        theirs = queue.get(timeout=10)
        child.join()
        ours = new_message_id(NOW)
        assert theirs.rsplit("-", 1)[1] != ours.rsplit("-", 1)[1]


class TestMessageRecord(TestBase):
    def test_compose_sends_now_when_deliver_at_is_absent_or_past(self):
        message = Message.compose("alice", "hi", NOW, to="bob")
        assert message.sent_at == message_time(message.id) == pytest.approx(NOW, abs=0.001)
        assert message.deliver_at == message.sent_at
        assert (message.read, message.lobby) == (False, None)
        past = Message.compose("alice", "hi", NOW, to="bob", deliver_at=NOW - 60)
        assert past.deliver_at == past.sent_at
        future = Message.compose("alice", "hi", NOW, to="bob", deliver_at=NOW + 60)
        assert future.deliver_at == NOW + 60

    def test_lobby_messages_have_no_read_flag(self):
        message = Message.compose("alice", "hi", NOW, lobby="bats")
        assert (message.to, message.lobby, message.read) == (None, "bats", None)
        with pytest.raises(ValueError):
            Message.compose("alice", "hi", NOW)

    def test_json_and_msgpack_round_trip(self):
        message = Message.compose("alice", "hi 🦇", NOW, to="bob")
        assert Message.load_json(message.dump_json()) == message
        assert Message.load_msgpack(message.dump_msgpack()) == message
        assert list(json.loads(message.dump_json())) == [
            "id",
            "sender",
            "to",
            "lobby",
            "body",
            "sent_at",
            "deliver_at",
            "read",
        ]

    @pytest.mark.parametrize(
        ("field", "value"),
        [("id", "nope"), ("body", 5), ("sender", 3), ("sent_at", "now"), ("read", "yes")],
    )
    def test_from_dict_checks_types(self, field, value):
        data = Message.compose("alice", "hi", NOW, to="bob").to_dict()
        data[field] = value
        with pytest.raises(TypeError):
            Message.from_dict(data)
