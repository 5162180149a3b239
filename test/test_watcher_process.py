import signal
import subprocess
import sys
import time

import pytest

from base_test import TestBase
from batfriend.databases import get_redis
from batfriend.worklist import Worklist
from helpers import ROOT, environment, terminate, wait_until

pytestmark = pytest.mark.slow  # starts processes


def start(tmp_path, *args, log="watcher.log"):
    """Start a child process, its output going to a file; return (process, log path)."""
    path = tmp_path / log
    with open(path, "w") as output:
        process = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=environment(tmp_path),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return process, path


def child(tmp_path, name, delay, lease, tag):
    return start(
        tmp_path, "test/watcher_child.py", name, str(delay), str(lease), tag, log=f"{tag}.log"
    )


def counter(name):
    return int(get_redis("result:").get(f"result:{{r}}{name}") or 0)


def add_due(name, count):
    Worklist(name).add_many([(f"item-{n}", f"item-{n}", time.time()) for n in range(count)])


class TestWatcherProcess(TestBase):
    def test_the_entry_point_exits_0_on_sigterm(self, tmp_path):
        process, log = start(tmp_path, "-m", "batfriend.watcher")
        try:
            wait_until(lambda: "watcher started" in log.read_text(), timeout=30)
        finally:
            returncode = terminate(process)
        assert returncode == 0, log.read_text()
        assert "SIGTERM received" in log.read_text()
        assert "watcher stopped" in log.read_text()

    def test_sigterm_finishes_the_current_batch_then_exits_0(self, tmp_path):
        add_due("slow", 300)
        process, log = child(tmp_path, "slow", 0.01, 60, "slow")
        try:
            wait_until(lambda: counter("runs") >= 1, timeout=30)
        finally:
            process.send_signal(signal.SIGTERM)
            runs_at_signal = counter("runs")
            returncode = process.wait(timeout=20)
        assert returncode == 0, log.read_text()
        assert runs_at_signal < 100, "the signal arrived in the middle of the first batch"
        assert counter("runs") == 100, "the batch was finished and no other was started"
        assert Worklist("slow").view() == {"pending": 200, "leased": 0, "dead": 0}

    def test_kill_9_mid_run_then_another_watcher_does_every_item_exactly_once(self, tmp_path):
        add_due("crash", 5000)
        first, first_log = child(tmp_path, "crash", 0.0002, 1.0, "first")
        try:
            wait_until(lambda: counter("effects") >= 1000, timeout=30)
        finally:
            first.kill()
            first.wait(timeout=10)
        assert first.returncode == -signal.SIGKILL
        assert counter("effects") < 5000, "killed mid-run: " + first_log.read_text()
        second, second_log = child(tmp_path, "crash", 0.0002, 1.0, "second")
        try:
            wait_until(
                lambda: Worklist("crash").view() == {"pending": 0, "leased": 0, "dead": 0},
                timeout=30,
            )
        finally:
            returncode = terminate(second)
        assert returncode == 0, second_log.read_text()
        assert counter("effects") == 5000
        assert get_redis("result:").scard("result:{r}done") == 5000
        assert counter("runs") >= 5000

    def test_two_watchers_on_one_worklist_never_do_an_item_twice(self, tmp_path):
        add_due("shared", 2000)
        processes = [child(tmp_path, "shared", 0.0005, 60, tag) for tag in ("a", "b")]
        try:
            wait_until(
                lambda: Worklist("shared").view() == {"pending": 0, "leased": 0, "dead": 0},
                timeout=30,
            )
        finally:
            returncodes = [terminate(process) for process, _ in processes]
        assert returncodes == [0, 0]
        by_watcher = get_redis("result:").hgetall("result:{r}by")
        assert int(by_watcher[b"a"]) > 0 and int(by_watcher[b"b"]) > 0, by_watcher
        assert counter("runs") == 2000, "no item was done by both watchers"
        assert counter("effects") == 2000
