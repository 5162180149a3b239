import logging
import time

from archive_base import ArchiveTestBase, archived_ids
from batfriend.archiver import Archiver
from batfriend.databases import get_redis
from batfriend.keys import MsgKeys
from batfriend.message import Message
from batfriend.messages import Messages
from batfriend.watcher import MessageWatcher
from batfriend.worklist import Worklist
from helpers import Running, wait_until

RETENTION = 60.0


def deliver_old(count, owner="bob"):
    at = time.time() - 2 * RETENTION
    sent = [Message.compose("alice", f"m{n}", at + n / 1000, to=owner) for n in range(count)]
    for message in sent:
        Messages(owner).deliver(message)
    return sent


def in_redis(owner="bob"):
    return get_redis("msg:").zcard(MsgKeys.inbox(owner))


class TestWatcherArchiving(ArchiveTestBase):
    def test_archive_pass_moves_old_messages_within_one_tick(self):
        sent = deliver_old(30)
        watcher = MessageWatcher({}, {}, archiver=Archiver(retention=RETENTION))
        assert watcher.archive_pass() == 30
        assert archived_ids(where="bob") == [m.id for m in sent] and in_redis() == 0

    def test_the_loop_archives_every_interval_and_every_tick_while_a_backlog_lasts(self):
        handled, passes = [], []
        archiver = Archiver(retention=RETENTION, batch=10)
        archive_pass = archiver.archive_pass
        archiver.archive_pass = lambda *args: passes.append(archive_pass(*args)) or passes[-1]
        watcher = MessageWatcher(
            {"jobs": handled.append}, {}, tick=0.01, archiver=archiver, archive_every=3600
        )
        deliver_old(100)
        with Running(watcher):
            wait_until(lambda: passes[-1:] == [0])
            assert in_redis() == 0 and len(passes) >= 2 and all(passes[:-1])
            deliver_old(5, owner="carol")
            Worklist("jobs").add("a", "after the backlog")
            wait_until(lambda: handled == ["after the backlog"])
            time.sleep(0.1)
            assert in_redis("carol") == 5, "the next pass waits for the interval"
        assert len(archived_ids(where="bob")) == 100

    def test_sql_down_postpones_archiving_and_deliveries_go_on(self, sql_down, caplog):
        sql_down()
        handled = []
        watcher = MessageWatcher(
            {"jobs": handled.append},
            {},
            tick=0.01,
            archiver=Archiver(retention=RETENTION),
            archive_every=0.05,
        )
        deliver_old(20)
        with caplog.at_level(logging.INFO), Running(watcher):
            wait_until(lambda: caplog.text.count("SQL unreachable") >= 2)
            Worklist("jobs").add("a", "delivered anyway")
            wait_until(lambda: handled == ["delivered anyway"])
        assert in_redis() == 20
        assert "database unreachable" not in caplog.text, "Redis work does not back off"
