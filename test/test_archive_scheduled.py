"""Archiving meets scheduled delivery: every way into an inbox keeps the archive index right."""

import time

from archive_base import DAY, NOW, OLD, ArchiveTestBase, archived_ids, archiver, deliver
from batfriend.archiver import Archiver
from batfriend.databases import get_redis
from batfriend.keys import MsgKeys, bucket_of
from batfriend.messages import Messages
from batfriend.watcher import MessageWatcher
from helpers import Running, delivery_worklist, wait_until
from paging import page_all


def due_index(owner):
    """Return ``owner``'s score in the archive index (its oldest message's ms), None if absent."""
    return get_redis("msg:").zscore(MsgKeys.archive_due(bucket_of(owner)), owner)


def millisecond(message):
    return int(message.id[:13])


class TestScheduledArchiving(ArchiveTestBase):
    def test_a_waiting_message_is_not_indexed_until_it_arrives(self, befriend):
        befriend("alice", "bob")
        early = Messages("bob").send("alice", "waits", deliver_at=NOW - 60, now=OLD - DAY)
        assert due_index("bob") is None, "not in the inbox yet, so nothing to archive"
        assert archiver().archive_pass(now=NOW) == 0
        assert get_redis("msg:").exists(MsgKeys.scheduled("alice", early.id)) == 1
        assert MessageWatcher().deliver_pass(now=NOW) == 1
        assert due_index("bob") == millisecond(early)
        assert archiver().archive_pass(now=NOW) == 1
        assert archived_ids(where="bob") == [early.id]
        page, _, unread = Messages("bob").page()
        assert page == [early] and unread == 1

    def test_delivered_after_newer_ones_were_archived_it_pages_in_its_place(self, befriend):
        befriend("alice", "bob")
        early = Messages("bob").send("alice", "sent long ago", deliver_at=NOW - 30, now=OLD - DAY)
        archived = deliver("bob", 5, OLD)
        recent = deliver("bob", 5, NOW - 60)
        assert archiver().archive_pass(now=NOW) == 5
        assert due_index("bob") == millisecond(recent[0])
        assert MessageWatcher().deliver_pass(now=NOW) == 1
        assert due_index("bob") == millisecond(early), "the late arrival lowers the index"
        expected = [*reversed(recent), *reversed(archived), early]
        for limit in (1, 3, 5, 6, 100):
            assert page_all(Messages("bob"), limit) == expected
        assert archiver().archive_pass(now=NOW) == 1
        assert archived_ids(where="bob") == [early.id, *(m.id for m in archived)]
        assert due_index("bob") == millisecond(recent[0])
        for limit in (1, 4, 100):
            assert page_all(Messages("bob"), limit) == expected
        assert Messages("bob").unread() == 11

    def test_arriving_in_an_inbox_archived_to_the_last_message_it_is_archived_too(self, befriend):
        befriend("alice", "bob")
        early = Messages("bob").send("alice", "late", deliver_at=NOW - 30, now=OLD - DAY)
        archived = deliver("bob", 3, OLD)
        assert archiver().archive_pass(now=NOW) == 3
        assert due_index("bob") is None, "an emptied inbox leaves the index"
        MessageWatcher().deliver_pass(now=NOW)
        assert archiver().archive_pass(now=NOW) == 1
        assert get_redis("msg:").zcard(MsgKeys.inbox("bob")) == 0
        assert page_all(Messages("bob"), 2) == [*reversed(archived), early]

    def test_a_system_message_is_indexed_for_archiving(self, befriend):
        befriend("alice", "bob")
        system = Messages("bob").deliver_system("from the system", "sqs-1", now=OLD)
        assert due_index("bob") == millisecond(system)
        assert archiver().archive_pass(now=NOW) == 1
        assert archived_ids(where="bob") == [system.id]

    def test_the_production_loop_delivers_then_archives_a_late_scheduled_message(self, befriend):
        befriend("alice", "bob")
        sent_at = time.time() - 2 * 60.0
        early = Messages("bob").send("alice", "late", deliver_at=sent_at + 1, now=sent_at)
        watcher = MessageWatcher(tick=0.01, archiver=Archiver(retention=60.0))
        with Running(watcher):
            wait_until(lambda: archived_ids(where="bob") == [early.id])
        assert (
            get_redis("msg:").exists(MsgKeys.inbox("bob"), MsgKeys.scheduled("alice", early.id))
            == 0
        )
        assert delivery_worklist().view() == {"pending": 0, "leased": 0, "dead": 0}
        assert Messages("bob").page()[0] == [early]
