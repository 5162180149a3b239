import threading

import orjson
import pytest

from base_test import TestBase
from batfriend.agent import Agent
from batfriend.errors import Forbidden, NotFound, TooManyRequests
from batfriend.friends import Friends
from batfriend.keys import MsgKeys
from batfriend.message import Message
from batfriend.messages import Messages
from paging import page_all

NOW = 1_700_000_000.0


class TestSend(TestBase):
    def test_send_stores_indexes_and_counts_unread(self, befriend):
        befriend("alice", "bob")
        sent = Messages("bob").send("alice", "hello", now=NOW)
        assert (sent.sender, sent.to, sent.lobby, sent.body) == ("alice", "bob", None, "hello")
        assert sent.sent_at == sent.deliver_at == NOW
        page, next_before, unread = Messages("bob").page()
        assert page == [sent] and next_before is None and unread == 1
        assert Messages("alice").page() == ([], None, 0)

    def test_only_friends_may_send(self, befriend):
        befriend("alice", "bob")
        Agent("carol").register("correct horse battery")
        with pytest.raises(Forbidden):
            Messages("carol").send("alice", "hi")
        with pytest.raises(NotFound):
            Messages("ghost").send("alice", "hi")
        Friends("alice").remove("bob")
        with pytest.raises(Forbidden):
            Messages("bob").send("alice", "hi")
        assert Messages("bob").unread() == Messages("carol").unread() == 0

    def test_a_past_deliver_at_means_now(self, befriend):
        befriend("alice", "bob")
        sent = Messages("bob").send("alice", "now", deliver_at=NOW - 60, now=NOW)
        assert sent.deliver_at == sent.sent_at == NOW
        assert Messages("bob").page()[0] == [sent]

    def test_send_limit_is_a_sliding_minute(self, befriend):
        befriend("alice", "bob")
        inbox = Messages("bob", send_limit=3)
        for offset in (0.0, 10.0, 20.0):
            inbox.send("alice", "hi", now=NOW + offset)
        with pytest.raises(TooManyRequests) as refused:
            inbox.send("alice", "one too many", now=NOW + 30.0)
        assert refused.value.retry_after == 30
        inbox.send("alice", "the first has left the window", now=NOW + 60.5)
        with pytest.raises(TooManyRequests):
            inbox.send("alice", "still full", now=NOW + 61.0)
        assert inbox.unread() == 4
        befriend("carol", "bob")
        inbox.send("carol", "others have their own limit", now=NOW + 61.0)


class TestDeliver(TestBase):
    def test_delivering_twice_adds_once(self):
        message = Message.compose("alice", "hi", NOW, to="bob")
        inbox = Messages("bob")
        assert inbox.deliver(message) is True
        assert inbox.mark_read([message.id]) == 0
        assert inbox.deliver(message) is False
        page, _, unread = inbox.page()
        assert [m.id for m in page] == [message.id] and unread == 0 and page[0].read

    def test_concurrent_deliveries_of_one_message_count_once(self):
        messages = [Message.compose("alice", f"m{i}", NOW, to="bob") for i in range(50)]
        start = threading.Barrier(8)
        added = []

        def deliver_all():
            inbox = Messages("bob")
            start.wait()
            added.extend(m.id for m in messages if inbox.deliver(m))

        threads = [threading.Thread(target=deliver_all) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(added) == sorted(m.id for m in messages)
        assert Messages("bob").unread() == 50
        assert len(page_all(Messages("bob"), 100)) == 50

    def test_refuses_a_message_for_someone_else(self):
        with pytest.raises(ValueError):
            Messages("carol").deliver(Message.compose("alice", "hi", NOW, to="bob"))


def store_as_before(message):
    """Put ``message`` in its inbox as the versions before JSON storage did: msgpack."""
    inbox = Messages(message.to)
    inbox._deliver(
        keys=inbox._delivery_keys()[:4], args=[message.id, message.dump_msgpack(), message.to]
    )


class TestStoredForm(TestBase):
    def test_messages_stored_as_msgpack_before_read_as_json_ones(self, befriend):
        befriend("alice", "bob")
        old = [
            Message.compose("alice", f"old {n} \u00e9\U0001f987", NOW + n, to="bob")
            for n in range(2)
        ]
        for message in old:
            store_as_before(message)
        inbox = Messages("bob")
        new = [inbox.send("alice", f"new {n}", now=NOW + 10 + n) for n in range(2)]
        assert get_redis_body(old[0])[:1] != b"{" and get_redis_body(new[0])[:1] == b"{"
        assert inbox.mark_read([old[0].id, new[0].id]) == 2
        page, cursor, unread = inbox.page()
        array, json_cursor, json_unread = inbox.page_json()
        assert [m.id for m in page] == [new[1].id, new[0].id, old[1].id, old[0].id]
        assert [m.read for m in page] == [False, True, False, True]
        assert orjson.loads(array) == [m.to_dict() for m in page]
        assert (json_cursor, json_unread) == (cursor, unread) == (None, 2)

    def test_a_stored_message_is_the_api_json_read_last(self):
        message = Message.compose("alice", 'quote " and \\', NOW, to="bob")
        assert message.dump_stored() == orjson.dumps(message.to_dict())
        assert message.dump_stored().endswith(b',"read":false}')
        assert Message.load_stored(message.dump_stored()) == message
        assert Message.load_stored(message.dump_msgpack()) == message


def get_redis_body(message):
    return Messages(message.to)._redis.hget(MsgKeys.bodies(message.to), message.id)


class TestInbox(TestBase):
    def test_paging_with_one_sent_at_never_skips_or_repeats(self, befriend):
        befriend("alice", "bob")
        inbox = Messages("bob", send_limit=1000)
        sent = [inbox.send("alice", f"m{i}", now=NOW) for i in range(250)]
        seen = page_all(inbox, 7)
        assert [m.id for m in seen] == [m.id for m in reversed(sent)]
        assert {m.sent_at for m in seen} == {NOW}

    def test_last_page_has_no_cursor(self, befriend):
        befriend("alice", "bob")
        inbox = Messages("bob")
        sent = [inbox.send("alice", f"m{i}", now=NOW + i) for i in range(4)]
        page, before, _ = inbox.page(limit=2)
        assert [m.body for m in page] == ["m3", "m2"] and before == sent[2].id
        page, before, _ = inbox.page(before, 2)
        assert [m.body for m in page] == ["m1", "m0"] and before is None

    def test_mark_read_ignores_ids_not_in_the_inbox(self, befriend):
        befriend("alice", "bob")
        befriend("alice", "carol")
        mine = [Messages("bob").send("alice", "for bob") for _ in range(3)]
        theirs = Messages("carol").send("alice", "for carol")
        assert Messages("bob").mark_read([mine[0].id, theirs.id, mine[0].id]) == 2
        assert Messages("carol").unread() == 1
        assert Messages("bob").mark_read([]) == 2
        flags = {m.id: m.read for m in Messages("bob").page()[0]}
        assert flags == {mine[0].id: True, mine[1].id: False, mine[2].id: False}

    def test_eight_senders_250_each_into_one_inbox(self, befriend):
        senders = [f"sender{i}" for i in range(8)]
        for sender in senders:
            befriend(sender, "bob")
        start = threading.Barrier(8)
        sent = []

        def send_many(sender):
            inbox = Messages("bob", send_limit=10_000)
            start.wait()
            sent.extend(inbox.send(sender, f"{sender} {n}").id for n in range(250))

        threads = [threading.Thread(target=send_many, args=(s,)) for s in senders]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(sent) == len(set(sent)) == 2000
        assert Messages("bob").unread() == 2000
        seen = [m.id for m in page_all(Messages("bob"), 100)]
        assert len(seen) == len(set(seen)) == 2000
        assert set(seen) == set(sent)
        assert seen == sorted(seen, reverse=True)
