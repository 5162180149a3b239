import threading

import pytest

from base_test import TestBase
from batfriend.databases import get_redis
from batfriend.errors import Forbidden, NotFound, TooManyRequests
from batfriend.friends import Friends
from batfriend.keys import DELIVERY, MsgKeys, WorkKeys, bucket_of
from batfriend.messages import Messages, deliver_due
from batfriend.passes import REPAIRERS
from batfriend.scheduled import ScheduledMessages, delivery_payload
from batfriend.sweeper import Sweeper
from batfriend.watcher import MessageWatcher
from helpers import delivery_worklist

NOW = 1_700_000_000.0
LATER = NOW + 3600


def waiting(message_id):
    """Return whether a scheduled message's record is still waiting."""
    return get_redis(MsgKeys.SCHEDULED).exists(MsgKeys.scheduled("alice", message_id)) == 1


def due_time(message_id):
    """Return the due time of a message's pending delivery item, or None if it is not pending."""
    return get_redis("work:").zscore(WorkKeys.due(DELIVERY, bucket_of("alice")), message_id)


def inbox_ids(owner):
    return [m.id for m in Messages(owner).page(limit=100)[0]]


class TestScheduledSend(TestBase):
    def test_waits_on_the_worklist_then_appears_when_due(self, befriend):
        befriend("alice", "bob")
        sent = Messages("bob").send("alice", "later", deliver_at=LATER, now=NOW)
        assert (sent.sent_at, sent.deliver_at) == (NOW, LATER)
        assert Messages("bob").page() == ([], None, 0)
        assert waiting(sent.id) and due_time(sent.id) == LATER
        item = delivery_worklist().claim(now=LATER)
        assert item == [(sent.id, delivery_payload(sent), 0)]
        assert "later" not in item[0][1], "the body is kept once, in the record"
        deliver_due(item[0][1])
        page, _, unread = Messages("bob").page()
        assert page == [sent] and unread == 1
        assert not waiting(sent.id)

    def test_the_production_watcher_delivers_when_due_and_not_before(self, befriend):
        befriend("alice", "bob")
        sent = Messages("bob").send("alice", "later", deliver_at=LATER, now=NOW)
        watcher = MessageWatcher()
        assert watcher.deliver_pass(now=LATER - 1) == 0
        assert Messages("bob").unread() == 0
        assert watcher.deliver_pass(now=LATER) == 1
        assert inbox_ids("bob") == [sent.id] and Messages("bob").unread() == 1
        assert delivery_worklist().view() == {"pending": 0, "leased": 0, "dead": 0}

    def test_friendship_and_send_limit_are_checked_at_send_time(self, befriend):
        befriend("alice", "bob")
        befriend("carol", "dave")
        with pytest.raises(Forbidden):
            Messages("bob").send("carol", "not friends", deliver_at=LATER, now=NOW)
        with pytest.raises(NotFound):
            Messages("ghost").send("alice", "nobody", deliver_at=LATER, now=NOW)
        limited = Messages("bob", send_limit=2)
        limited.send("alice", "now", now=NOW)
        limited.send("alice", "later counts too", deliver_at=LATER, now=NOW)
        with pytest.raises(TooManyRequests):
            limited.send("alice", "one too many", deliver_at=LATER, now=NOW)
        assert delivery_worklist().view()["pending"] == 1, "refused sends left no item"
        assert get_redis(MsgKeys.SCHEDULED).keys(f"{MsgKeys.SCHEDULED}*") == [
            MsgKeys.scheduled("alice", delivery_worklist().claim(now=LATER)[0][0]).encode()
        ]

    @pytest.mark.parametrize("remover", ["alice", "bob"], ids=["sender-unfriends", "recipient"])
    def test_an_ex_friends_scheduled_message_is_not_delivered(self, befriend, remover):
        befriend("alice", "bob")
        sent = Messages("bob").send("alice", "later", deliver_at=LATER, now=NOW)
        Friends(remover).remove("bob" if remover == "alice" else "alice")
        assert MessageWatcher().deliver_pass(now=LATER) == 1  # the item is done with
        assert inbox_ids("bob") == [] and not waiting(sent.id)
        assert delivery_worklist().view() == {"pending": 0, "leased": 0, "dead": 0}

    def test_an_ex_friend_cannot_release_a_stockpile_by_rescheduling(self, befriend):
        befriend("alice", "bob")
        stock = [
            Messages("bob").send("alice", f"later {n}", deliver_at=LATER + n, now=NOW)
            for n in range(5)
        ]
        Friends("bob").remove("alice")
        for message in stock:
            ScheduledMessages().reschedule("alice", message.id, NOW, now=NOW)
        MessageWatcher().deliver_pass(now=NOW + 1)
        assert inbox_ids("bob") == [] and Messages("bob").unread() == 0

    def test_friends_again_before_it_falls_due_get_it(self, befriend):
        befriend("alice", "bob")
        sent = Messages("bob").send("alice", "later", deliver_at=LATER, now=NOW)
        Friends("alice").remove("bob")
        befriend("alice", "bob")
        MessageWatcher().deliver_pass(now=LATER)
        assert inbox_ids("bob") == [sent.id]

    def test_a_send_stays_one_round_trip_after_redis_forgets_its_scripts(self, befriend):
        befriend("alice", "bob")
        inbox = Messages("bob", send_limit=2)
        get_redis(MsgKeys.SCHEDULED).script_flush()
        inbox.send("alice", "now, and its script is loaded again", now=NOW)
        # Its script is loaded again (NOSCRIPT, then EVAL): the send must neither count
        # twice (the limit is 2) nor store twice.
        sent = inbox.send("alice", "later", deliver_at=LATER, now=NOW)
        assert waiting(sent.id) and due_time(sent.id) == LATER
        MessageWatcher().deliver_pass(now=LATER)
        assert len(inbox_ids("bob")) == 2 and inbox.unread() == 2


class TestDelivery(TestBase):
    def test_delivering_twice_adds_once_and_keeps_the_read_mark(self, befriend):
        befriend("alice", "bob")
        sent = Messages("bob").send("alice", "later", deliver_at=LATER, now=NOW)
        assert Messages("bob").deliver_scheduled("alice", sent.id) is True
        assert Messages("bob").mark_read([sent.id]) == 0
        deliver_due(delivery_payload(sent))
        assert Messages("bob").deliver_scheduled("alice", sent.id) is False
        page, _, unread = Messages("bob").page()
        assert [m.id for m in page] == [sent.id] and unread == 0

    def test_a_record_stored_as_msgpack_before_is_delivered(self, befriend):
        befriend("alice", "bob")
        sent = Messages("bob").send("alice", "later", deliver_at=LATER, now=NOW)
        get_redis("msg:").set(MsgKeys.scheduled("alice", sent.id), sent.dump_msgpack())
        deliver_due(delivery_payload(sent))
        page, _, unread = Messages("bob").page()
        assert page == [sent] and unread == 1

    def test_a_message_that_no_longer_exists_returns_normally(self):
        deliver_due('["1700000000000-000000000001-0123456789", "bob", "alice"]')
        assert Messages("bob").page() == ([], None, 0)

    def test_a_malformed_payload_fails_so_the_watcher_dead_letters_it(self, befriend):
        for payload in ("not json", '["only one"]', '{"id": 1}'):
            with pytest.raises(ValueError):
                deliver_due(payload)
        befriend("alice", "bob")
        sent = Messages("bob").send("alice", "later", deliver_at=LATER, now=NOW)
        delivery_worklist().add("poison", "not json", due=NOW)
        watcher = MessageWatcher(attempts=1)
        assert watcher.deliver_pass(now=LATER) == 2
        assert inbox_ids("bob") == [sent.id]
        assert [item[:2] for item in delivery_worklist().dead()] == [("poison", "not json")]

    def test_concurrent_deliveries_of_the_same_messages_count_once(self, befriend):
        befriend("alice", "bob")
        inbox = Messages("bob", send_limit=1000)
        sent = [inbox.send("alice", f"m{n}", deliver_at=LATER, now=NOW) for n in range(100)]
        start = threading.Barrier(8)

        def deliver_all():
            start.wait()
            for message in sent:
                deliver_due(delivery_payload(message))

        threads = [threading.Thread(target=deliver_all) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(inbox_ids("bob")) == sorted(m.id for m in sent)
        assert inbox.unread() == 100


class TestReschedule(TestBase):
    def test_postpone_moves_the_delivery_and_the_deliver_at(self, befriend):
        befriend("alice", "bob")
        sent = Messages("bob").send("alice", "later", deliver_at=LATER, now=NOW)
        moved = ScheduledMessages().reschedule("alice", sent.id, LATER + 60, now=NOW + 1)
        assert moved.deliver_at == LATER + 60 and due_time(sent.id) == LATER + 60
        watcher = MessageWatcher()
        assert watcher.deliver_pass(now=LATER) == 0
        assert watcher.deliver_pass(now=LATER + 60) == 1
        assert Messages("bob").page()[0][0].deliver_at == LATER + 60

    def test_a_past_time_expedites_it_to_the_next_tick(self, befriend):
        befriend("alice", "bob")
        sent = Messages("bob").send("alice", "later", deliver_at=LATER, now=NOW)
        moved = ScheduledMessages().reschedule("alice", sent.id, 5.0, now=NOW + 10)
        assert moved.deliver_at == NOW + 10 and due_time(sent.id) == NOW + 10
        MessageWatcher().deliver_pass(now=NOW + 10)
        delivered = Messages("bob").page()[0]
        assert [(m.id, m.deliver_at, m.sent_at) for m in delivered] == [(sent.id, NOW + 10, NOW)]

    def test_only_the_sender_only_while_it_waits(self, befriend):
        befriend("alice", "bob")
        sent = Messages("bob").send("alice", "later", deliver_at=LATER, now=NOW)
        now = Messages("bob").send("alice", "now", now=NOW)
        schedule = ScheduledMessages()
        for sender, message_id in [
            ("bob", sent.id),
            ("carol", sent.id),
            ("alice", now.id),
            ("alice", "1700000000000-000000000001-0123456789"),
        ]:
            with pytest.raises(NotFound):
                schedule.reschedule(sender, message_id, LATER + 60, now=NOW)
        assert due_time(sent.id) == LATER
        MessageWatcher().deliver_pass(now=LATER)
        with pytest.raises(NotFound):
            schedule.reschedule("alice", sent.id, LATER + 60, now=LATER)

    def test_postponing_a_delivery_already_claimed_is_refused(self, befriend):
        befriend("alice", "bob")
        sent = Messages("bob").send("alice", "later", deliver_at=LATER, now=NOW)
        [(item_id, payload, _)] = delivery_worklist().claim(now=LATER)
        with pytest.raises(NotFound):
            ScheduledMessages().reschedule("alice", sent.id, LATER + 60, now=LATER)
        deliver_due(payload)
        assert Messages("bob").page()[0][0].deliver_at == LATER, "delivered as it was"

    def test_rescheduling_puts_back_a_missing_worklist_item(self, befriend):
        befriend("alice", "bob")
        sent = Messages("bob").send("alice", "later", deliver_at=LATER, now=NOW)
        delivery_worklist().complete([sent.id])
        ScheduledMessages().reschedule("alice", sent.id, LATER + 60, now=NOW)
        assert due_time(sent.id) == LATER + 60

    def test_concurrent_reschedules_leave_record_and_item_agreeing(self, befriend):
        befriend("alice", "bob")
        sent = Messages("bob").send("alice", "later", deliver_at=LATER, now=NOW)
        start = threading.Barrier(8)

        def reschedule(n):
            start.wait()
            for k in range(20):
                ScheduledMessages().reschedule("alice", sent.id, LATER + n * 100 + k, now=NOW)

        threads = [threading.Thread(target=reschedule, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        due = due_time(sent.id)
        MessageWatcher().deliver_pass(now=due)
        assert Messages("bob").page()[0][0].deliver_at == due


class TestSweepRepair(TestBase):
    def test_requeues_waiting_messages_whose_item_is_missing(self, befriend):
        befriend("alice", "bob")
        inbox = Messages("bob", send_limit=1000)
        sent = [inbox.send("alice", f"m{n}", deliver_at=LATER + n, now=NOW) for n in range(30)]
        lost = [m.id for m in sent[:10]]
        delivery_worklist().complete(lost)
        delivery_worklist().claim(limit=5, now=LATER + 15)
        assert delivery_worklist().view() == {"pending": 15, "leased": 5, "dead": 0}
        Sweeper(REPAIRERS, count=1000).sweep()
        assert delivery_worklist().view() == {"pending": 25, "leased": 5, "dead": 0}
        assert [due_time(message_id) for message_id in lost] == [LATER + n for n in range(10)]
        assert ScheduledMessages().requeue([MsgKeys.scheduled("alice", m.id) for m in sent]) == 0
        MessageWatcher(lease=60).deliver_pass(now=LATER + 50)
        assert len(inbox_ids("bob")) == 25, "the 5 leased ones wait for their lease"
        MessageWatcher(lease=60).deliver_pass(now=LATER + 80)
        assert len(inbox_ids("bob")) == 30 and Messages("bob").unread() == 30

    def test_a_corrupt_record_does_not_stop_the_others_being_requeued(self, befriend, caplog):
        befriend("alice", "bob")
        sent = Messages("bob").send("alice", "later", deliver_at=LATER, now=NOW)
        delivery_worklist().complete([sent.id])
        get_redis(MsgKeys.SCHEDULED).set(f"{MsgKeys.SCHEDULED}broken", b"not msgpack")
        keys = [f"{MsgKeys.SCHEDULED}broken", MsgKeys.scheduled("alice", sent.id)]
        assert ScheduledMessages().requeue(keys) == 1
        assert due_time(sent.id) == LATER
        assert "broken" in caplog.text
