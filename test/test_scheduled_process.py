"""The production watcher (``python -m batfriend.watcher``) delivering scheduled messages."""

import signal
import subprocess
import sys
import time

import pytest

from base_test import TestBase
from batfriend.databases import get_redis
from batfriend.keys import MsgKeys
from batfriend.messages import Messages
from helpers import ROOT, delivery_worklist, environment, terminate, wait_until

pytestmark = pytest.mark.slow  # starts processes

RECIPIENTS = [f"bat{n}" for n in range(5)]
EMPTY = {"pending": 0, "leased": 0, "dead": 0}


def start_watcher(tmp_path, tag):
    """Start ``python -m batfriend.watcher`` with a 1 s lease and a 50 ms tick."""
    log = tmp_path / f"{tag}.log"
    env = environment(tmp_path)
    env.update(BATFRIEND_WORKLIST_LEASE="1", BATFRIEND_WATCHER_TICK="0.05")
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "batfriend.watcher"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return process, log


def schedule(dues):
    """Send one scheduled message per due time, round robin to RECIPIENTS; return ids by inbox."""
    sent_at = time.time() - 60
    inboxes = {name: Messages(name, send_limit=len(dues)) for name in RECIPIENTS}
    sent = {name: [] for name in RECIPIENTS}
    for n, due in enumerate(dues):
        name = RECIPIENTS[n % len(RECIPIENTS)]
        sent[name].append(inboxes[name].send("alice", f"m{n}", deliver_at=due, now=sent_at).id)
    return sent


def delivered():
    pipeline = get_redis("msg:").pipeline(transaction=False)
    for name in RECIPIENTS:
        pipeline.scard(MsgKeys.unread(name))
    return sum(pipeline.execute())


def assert_each_message_in_its_inbox_once(sent):
    for name, ids in sent.items():
        page, next_before, unread = Messages(name).page(limit=100)
        seen = [m.id for m in page]
        while next_before is not None:
            page, next_before, _ = Messages(name).page(next_before, 100)
            seen += [m.id for m in page]
        assert sorted(seen) == sorted(ids), name
        assert unread == len(ids), name
    assert get_redis("msg:").keys(f"{MsgKeys.SCHEDULED}*") == [], "no record left waiting"


class TestScheduledDeliveryProcesses(TestBase):
    def test_kill_9_mid_run_then_another_watcher_delivers_each_message_once(
        self, tmp_path, befriend
    ):
        for name in RECIPIENTS:
            befriend("alice", name)
        now = time.time()
        # 4000 due at once, 1000 a few seconds later: the kill always lands mid-run.
        sent = schedule([now - 1] * 4000 + [now + 4] * 1000)
        first, first_log = start_watcher(tmp_path, "first")
        try:
            wait_until(lambda: delivered() >= 1, timeout=20)
        finally:
            first.kill()
            first.wait(timeout=10)
        assert first.returncode == -signal.SIGKILL
        assert delivered() < 5000, first_log.read_text()
        second, second_log = start_watcher(tmp_path, "second")
        try:
            wait_until(lambda: delivered() == 5000, timeout=30)
            wait_until(lambda: delivery_worklist().view() == EMPTY, timeout=10)
        finally:
            returncode = terminate(second)
        assert returncode == 0, second_log.read_text()
        assert_each_message_in_its_inbox_once(sent)

    def test_two_watchers_deliver_each_message_once(self, tmp_path, befriend):
        for name in RECIPIENTS:
            befriend("alice", name)
        watchers = [start_watcher(tmp_path, tag) for tag in ("a", "b")]
        try:
            for _, log in watchers:
                wait_until(lambda log=log: "watcher started" in log.read_text(), timeout=20)
            now = time.time()
            sent = schedule([now + 0.5 + n / 1000 for n in range(2000)])
            wait_until(lambda: delivered() == 2000, timeout=30)
            wait_until(lambda: delivery_worklist().view() == EMPTY, timeout=10)
        finally:
            returncodes = [terminate(process) for process, _ in watchers]
        assert returncodes == [0, 0]
        assert_each_message_in_its_inbox_once(sent)
