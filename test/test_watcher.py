import json
import logging
import os
import signal
import time

from base_test import TEST_REDIS_URLS, TestBase
from batfriend import config, databases
from batfriend.databases import get_redis
from batfriend.watcher import MessageWatcher, handle_signals, main
from batfriend.worklist import Worklist
from helpers import Running, wait_until

T = 1_000_000.0


class TestDeliverPass(TestBase):
    def test_hands_due_items_of_every_worklist_to_their_handlers(self):
        seen = {"mail": [], "news": []}
        watcher = MessageWatcher({name: seen[name].append for name in seen}, {}, batch=3)
        Worklist("mail").add_many([(f"m{n}", f"mail {n}", T) for n in range(7)])
        Worklist("news").add_many([("n1", "news 1", T), ("later", "news 2", T + 60)])
        assert watcher.deliver_pass(now=T) == 8
        assert seen == {"mail": [f"mail {n}" for n in range(7)], "news": ["news 1"]}
        assert Worklist("mail").view() == {"pending": 0, "leased": 0, "dead": 0}
        assert Worklist("news").view() == {"pending": 1, "leased": 0, "dead": 0}

    def test_a_failing_item_is_logged_and_retried_after_a_delay(self, caplog):
        calls = []

        def flaky(payload):
            calls.append(payload)
            if len(calls) == 1:
                raise ValueError("not yet")

        watcher = MessageWatcher({"jobs": flaky}, {}, retry_delay=5)
        Worklist("jobs").add("a", "p", due=T)
        with caplog.at_level(logging.ERROR):
            watcher.deliver_pass(now=T)
        assert any(r.exc_info and "not yet" in str(r.exc_info[1]) for r in caplog.records)
        assert watcher.deliver_pass(now=T + 4.9) == 0
        assert watcher.deliver_pass(now=T + 5) == 1
        assert calls == ["p", "p"]
        assert Worklist("jobs").view() == {"pending": 0, "leased": 0, "dead": 0}

    def test_stop_lets_the_current_batch_finish_and_claims_no_more(self):
        done = []
        watchers = []

        def handler(payload):
            watchers[0].stop()
            done.append(payload)

        watcher = MessageWatcher({"jobs": handler}, {}, batch=10)
        watchers.append(watcher)
        Worklist("jobs").add_many([(str(n), str(n), T) for n in range(30)])
        assert watcher.deliver_pass(now=T) == 10
        assert len(done) == 10
        assert Worklist("jobs").view() == {"pending": 20, "leased": 0, "dead": 0}


class TestRunLoop(TestBase):
    def test_a_poisoned_item_never_stops_the_loop_and_ends_dead_lettered(self, caplog):
        processed = set()
        swept = []

        def handler(payload):
            if payload == "poison":
                raise RuntimeError("bad data")
            processed.add(payload)

        get_redis("lobby:").set("lobby:x", 1)
        watcher = MessageWatcher(
            {"jobs": handler},
            {"lobby:": swept.extend},
            tick=0.02,
            batch=10,
            attempts=3,
            retry_delay=0,
        )
        worklist = Worklist("jobs")
        with caplog.at_level(logging.ERROR), Running(watcher) as running:
            worklist.add_many([(str(n), str(n), time.time()) for n in range(50)])
            worklist.add("poison", "poison")
            wait_until(lambda: worklist.view()["dead"] == 1 and len(processed) == 50)
            worklist.add("after", "after")
            wait_until(lambda: "after" in processed)
            assert running.thread.is_alive()
        assert worklist.dead()[0][:3] == ("poison", "poison", 3)
        assert worklist.view() == {"pending": 0, "leased": 0, "dead": 1}
        failures = [r for r in caplog.records if r.exc_info and "bad data" in str(r.exc_info[1])]
        assert len(failures) == 3
        assert "lobby:x" in swept

    def test_survives_a_redis_restart(self, tmp_path, monkeypatch, caplog, spare_redis):
        monkeypatch.setattr(config, "REDIS_URL", spare_redis.url)
        databases.reset()
        seen = []
        watcher = MessageWatcher({"jobs": seen.append}, {}, tick=0.02, max_backoff=0.1)
        try:
            with caplog.at_level(logging.INFO), Running(watcher) as running:
                Worklist("jobs").add("a", "before")
                wait_until(lambda: seen == ["before"])
                spare_redis.stop()
                wait_until(lambda: "database unreachable" in caplog.text)
                time.sleep(0.3)
                assert running.thread.is_alive()
                spare_redis.start()
                Worklist("jobs").add("b", "after")
                wait_until(lambda: seen == ["before", "after"])
            assert "watcher resumed" in caplog.text
            assert caplog.text.count("database unreachable") < 20, "the back-off is exponential"
        finally:
            monkeypatch.undo()
            databases.reset()
            assert config.REDIS_URL in TEST_REDIS_URLS


class TestOperatorCommands(TestBase):
    def test_dead_lists_dead_letters_and_requeue_puts_them_back(self, capsys):
        worklist = Worklist("jobs", attempts=1)
        worklist.add_many([("a", "pa", T), ("b", "pb", T)])
        for item_id, _, _ in worklist.claim(now=T):
            worklist.fail(item_id, retry_at=T, now=T)
        main(["dead", "jobs"])
        lines = capsys.readouterr().out.splitlines()
        assert [json.loads(line) for line in lines] == [
            {"id": "a", "payload": "pa", "attempts": 1, "died_at": T},
            {"id": "b", "payload": "pb", "attempts": 1, "died_at": T},
        ]
        main(["requeue", "jobs", "a", "nobody"])
        assert capsys.readouterr().out.strip() == "requeued 1 of 2"
        assert worklist.view() == {"pending": 1, "leased": 0, "dead": 1}


class TestSignals(TestBase):
    def test_the_handler_only_sets_a_flag_and_the_loop_logs_the_signal(self, caplog):
        watcher = MessageWatcher({}, {}, tick=0.01)
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            handle_signals(watcher)
            with caplog.at_level(logging.DEBUG):
                os.kill(os.getpid(), signal.SIGTERM)
                assert caplog.records == [], "nothing is logged inside a signal handler"
                watcher.run()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        assert "SIGTERM received: stopped after the current batch" in caplog.text
