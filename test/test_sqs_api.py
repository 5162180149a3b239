import importlib
import os
import subprocess
import sys
import threading
import time

import pytest

from base_test import TestBase
from batfriend import config, passes
from batfriend.agent import Agent
from batfriend.api import create_app
from batfriend.databases import get_redis
from batfriend.errors import Conflict, NotFound
from batfriend.messages import Messages
from batfriend.sqs_ledger import SqsLedger
from batfriend.worklist import Worklist
from helpers import SCHEDULED_BODY, assert_envelope, post_task, sqsd_headers, wait_until

# The package's "sqs" attribute is the blueprint, so fetch the module itself.
sqs_api = importlib.import_module("batfriend.api.sqs")


def post_tick(client, msgid):
    return client.post("/sqs", json={"type": "tick"}, headers=sqsd_headers(msgid))


def post_system_message(client, msgid, to="bob", body="welcome"):
    message = {"type": "system_message", "to": to, "body": body}
    return client.post("/sqs", json=message, headers=sqsd_headers(msgid))


@pytest.fixture
def sqs_client():
    return create_app(expose_sqs=True).test_client()


@pytest.fixture
def jobs(monkeypatch):
    """A worklist "jobs" that the production watcher handles; returns the payloads it saw."""
    seen = []
    monkeypatch.setitem(passes.HANDLERS, "jobs", seen.append)
    return seen


class TestSqsEffects(TestBase):
    def test_tick_runs_a_deliver_pass(self, sqs_client, jobs):
        Worklist("jobs").add_many([("a", "pa", time.time()), ("later", "pl", time.time() + 60)])
        response = post_tick(sqs_client, "m-1")
        assert response.status_code == 200
        assert response.get_json() == {"msgid": "m-1", "ran": True}
        assert jobs == ["pa"]

    def test_a_duplicate_msgid_answers_200_and_does_nothing(self, sqs_client, jobs):
        Worklist("jobs").add("a", "pa")
        assert post_tick(sqs_client, "m-1").status_code == 200
        Worklist("jobs").add("b", "pb")
        response = post_tick(sqs_client, "m-1")
        assert response.status_code == 200
        assert response.get_json()["ran"] is False
        assert jobs == ["pa"]
        assert post_tick(sqs_client, "m-2").get_json()["ran"] is True
        assert jobs == ["pa", "pb"]

    def test_concurrent_deliveries_of_one_msgid_take_effect_once(self, jobs, monkeypatch):
        answered = threading.Event()
        runs = []

        def slow_deliver(msgid):
            runs.append(msgid)
            assert answered.wait(timeout=10), "the other delivery was never answered"

        monkeypatch.setitem(sqs_api.TASKS, "deliver", slow_deliver)
        app = create_app(expose_sqs=True)
        start = threading.Barrier(2)
        statuses = []

        def deliver():
            client = app.test_client()
            start.wait()
            response = post_task(client, "m-1", "deliver")
            statuses.append(response.status_code)
            if response.status_code == 409:
                assert_envelope(response, 409, "conflict")
                answered.set()

        threads = [threading.Thread(target=deliver) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
        assert sorted(statuses) == [200, 409]
        assert runs == ["m-1"]
        assert post_task(app.test_client(), "m-1", "deliver").get_json()["ran"] is False
        assert runs == ["m-1"]

    def test_a_failed_attempt_is_retried_by_the_next_delivery(self, sqs_client, monkeypatch):
        attempts = []

        def fails_once(msgid):
            attempts.append(msgid)
            if len(attempts) == 1:
                raise RuntimeError("transient")

        monkeypatch.setitem(sqs_api.TASKS, "deliver", fails_once)
        assert_envelope(post_task(sqs_client, "m-1", "deliver"), 500, "internal_error")
        assert post_task(sqs_client, "m-1", "deliver").get_json()["ran"] is True
        assert post_task(sqs_client, "m-1", "deliver").get_json()["ran"] is False
        assert attempts == ["m-1", "m-1"]

    def test_the_deliver_task_runs_a_deliver_pass(self, sqs_client, jobs):
        Worklist("jobs").add_many([(str(n), str(n), time.time()) for n in range(250)])
        assert post_task(sqs_client, "m-1", "deliver").status_code == 200
        assert len(jobs) == 250

    def test_the_deliver_task_delivers_due_scheduled_messages(self, sqs_client, befriend):
        befriend("alice", "bob")
        sent = Messages("bob").send("alice", "hi", deliver_at=time.time() - 1, now=1e9)
        assert Messages("bob").unread() == 0
        assert post_task(sqs_client, "m-1", "deliver").status_code == 200
        assert [m.id for m in Messages("bob").page()[0]] == [sent.id]

    def test_the_sweep_task_runs_a_sweep_step(self, sqs_client, monkeypatch):
        swept = []
        monkeypatch.setitem(passes.REPAIRERS, "lobby:", swept.extend)
        get_redis("lobby:").set("lobby:x", 1)
        assert post_task(sqs_client, "m-1", "sweep").status_code == 200
        assert swept == ["lobby:x"]


class TestSystemMessages(TestBase):
    def test_delivers_a_message_without_a_sender(self, sqs_client):
        Agent("bob").register("correct horse battery")
        response = post_system_message(sqs_client, "m-1", body="welcome, bob")
        assert response.status_code == 200 and response.get_json()["ran"] is True
        page, _, unread = Messages("bob").page()
        assert unread == 1
        assert [(m.sender, m.to, m.body, m.read) for m in page] == [
            (None, "bob", "welcome, bob", False)
        ]
        assert page[0].deliver_at == page[0].sent_at

    def test_an_unknown_agent_is_404_and_the_message_can_be_retried(self, sqs_client):
        assert_envelope(post_system_message(sqs_client, "m-1", to="ghost"), 404, "not_found")
        assert SqsLedger().view("m-1") == "new"

    def test_a_duplicate_msgid_delivers_once(self, sqs_client):
        Agent("bob").register("correct horse battery")
        assert post_system_message(sqs_client, "m-1").get_json()["ran"] is True
        assert post_system_message(sqs_client, "m-1").get_json()["ran"] is False
        assert post_system_message(sqs_client, "m-2").get_json()["ran"] is True
        assert Messages("bob").unread() == 2

    def test_concurrent_deliveries_of_one_msgid_deliver_once(self):
        Agent("bob").register("correct horse battery")
        app = create_app(expose_sqs=True)
        start = threading.Barrier(8)
        statuses = []

        def deliver():
            client = app.test_client()
            start.wait()
            statuses.append(post_system_message(client, "m-1").status_code)

        threads = [threading.Thread(target=deliver) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
        assert set(statuses) <= {200, 409} and 200 in statuses
        assert Messages("bob").unread() == 1
        assert len(Messages("bob").page()[0]) == 1

    def test_a_rerun_after_a_crash_before_the_done_mark_writes_nothing_new(self, sqs_client):
        Agent("bob").register("correct horse battery")
        first = Messages("bob").deliver_system("welcome", "m-1")
        assert SqsLedger().view("m-1") == "new", "the effect ran, the done mark was lost"
        assert post_system_message(sqs_client, "m-1").get_json()["ran"] is True
        assert [m.id for m in Messages("bob").page()[0]] == [first.id]
        assert Messages("bob").unread() == 1

    def test_the_model_binds_one_message_to_one_outside_id_across_threads(self):
        Agent("bob").register("correct horse battery")
        start = threading.Barrier(8)
        ids = []

        def deliver():
            start.wait()
            ids.append(Messages("bob").deliver_system("welcome", "m-1").id)

        threads = [threading.Thread(target=deliver) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(set(ids)) == 1
        assert [m.id for m in Messages("bob").page()[0]] == ids[:1]
        with pytest.raises(NotFound):
            Messages("ghost").deliver_system("welcome", "m-2")


class TestSqsMalformed(TestBase):
    def test_an_unknown_task_is_400(self, sqs_client):
        error = assert_envelope(post_task(sqs_client, "m-1", "bogus"), 400, "bad_request")
        assert "bogus" in error["message"]

    def test_the_msgid_header_is_required_and_checked(self, sqs_client):
        response = sqs_client.post("/sqs", json={"type": "tick"})
        assert "X-Aws-Sqsd-Msgid" in assert_envelope(response, 400, "bad_request")["message"]
        response = post_tick(sqs_client, "not an id")
        assert_envelope(response, 400, "bad_request")

    @pytest.mark.parametrize(
        ("body", "named"),
        [
            ({"type": "bogus"}, "bogus"),
            ({}, "type"),
            ({"type": 1}, "type"),
            ({"type": "tick", "extra": 1}, "extra"),
            ({"type": "tick", "to": "bob"}, "to"),
            ({"type": "system_message", "body": "hi"}, "to"),
            ({"type": "system_message", "to": "Bob!", "body": "hi"}, "to"),
            ({"type": "system_message", "to": "bob"}, "body"),
            ({"type": "system_message", "to": "bob", "body": ""}, "body"),
            ({"type": "system_message", "to": "bob", "body": "x" * 4001}, "body"),
            ({"type": "system_message", "to": "bob", "body": "hi", "extra": 1}, "extra"),
        ],
    )
    def test_a_malformed_body_is_400(self, sqs_client, body, named):
        response = sqs_client.post("/sqs", json=body, headers=sqsd_headers("m-1"))
        assert named in assert_envelope(response, 400, "bad_request")["message"]
        assert SqsLedger().view("m-1") == "new", "nothing was marked"

    def test_a_scheduled_body_without_a_task_name_is_400(self, sqs_client):
        response = sqs_client.post(
            "/sqs",
            data=SCHEDULED_BODY,
            content_type="application/json",
            headers=sqsd_headers("m-1"),
        )
        assert_envelope(response, 400, "bad_request")

    def test_hidden_by_default(self, client):
        assert_envelope(post_task(client, "m-1", "deliver"), 404, "not_found")


class TestSqsLedger(TestBase):
    def test_runs_once_then_reports_done(self):
        ledger, runs = SqsLedger(), []
        assert ledger.view("m") == "new"
        assert ledger.run_once("m", runs.append) is True
        assert ledger.view("m") == "done"
        assert ledger.run_once("m", runs.append) is False
        assert runs == ["m"]

    def test_a_failure_releases_the_message(self):
        ledger = SqsLedger()

        def boom(msgid):
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            ledger.run_once("m", boom)
        assert ledger.view("m") == "new"
        assert ledger.run_once("m", lambda msgid: None) is True

    def test_in_progress_is_a_conflict(self):
        ledger, inside = SqsLedger(), []

        def nested(msgid):
            inside.append(ledger.view(msgid))
            with pytest.raises(Conflict):
                ledger.run_once(msgid, inside.append)

        assert ledger.run_once("m", nested) is True
        assert inside == ["running"]

    @pytest.mark.slow
    def test_a_crashed_attempt_blocks_the_message_only_until_its_mark_expires(self):
        crash = (
            "import os; from batfriend.sqs_ledger import SqsLedger;"
            "SqsLedger(running=0.5).run_once('m', lambda msgid: os._exit(9))"
        )
        env = dict(os.environ, REDIS_URL=config.REDIS_URL)
        assert subprocess.run([sys.executable, "-c", crash], env=env).returncode == 9
        ledger, runs = SqsLedger(), []
        assert ledger.view("m") == "running"
        with pytest.raises(Conflict):
            ledger.run_once("m", runs.append)
        wait_until(lambda: ledger.view("m") == "new")
        assert ledger.run_once("m", runs.append) is True
        assert runs == ["m"]


OUTSIDE = "203.0.113.9"


class TestOnlyFromThisMachine(TestBase):
    def keys(self):
        return get_redis("sqs:").dbsize()

    @pytest.mark.parametrize(
        ("peer", "headers"),
        [
            (OUTSIDE, {}),
            ("10.0.0.7", {"X-Real-IP": "127.0.0.1", "X-Forwarded-For": "127.0.0.1"}),
            ("127.0.0.1", {"X-Real-IP": OUTSIDE}),
            ("127.0.0.1", {"X-Forwarded-For": f"127.0.0.1, {OUTSIDE}"}),
            ("127.0.0.1", {"X-Real-IP": "127.0.0.1", "X-Forwarded-For": OUTSIDE}),
            ("127.0.0.1", {"X-Real-IP": "localhost"}),
            ("127.0.0.1", {"X-Forwarded-For": ""}),
            ("::1", {"X-Real-IP": "::ffff:203.0.113.9"}),
        ],
        ids=[
            "outside-peer",
            "outside-peer-claiming-loopback",
            "x-real-ip",
            "last-xff-hop",
            "xff-beside-a-loopback-x-real-ip",
            "x-real-ip-not-an-address",
            "empty-xff",
            "ipv4-mapped",
        ],
    )
    def test_anyone_else_is_403_and_leaves_no_trace(self, sqs_client, peer, headers):
        Agent("bob").register("correct horse battery")
        before = self.keys()
        forged = {**sqsd_headers("forged-1"), **headers}
        environ = {"REMOTE_ADDR": peer}
        message = {"type": "system_message", "to": "bob", "body": "forged"}
        response = sqs_client.post("/sqs", json=message, headers=forged, environ_base=environ)
        assert_envelope(response, 403, "forbidden")
        task = {**forged, "X-Aws-Sqsd-Taskname": "deliver"}
        response = sqs_client.post(
            "/sqs",
            data=SCHEDULED_BODY,
            content_type="application/json",
            headers=task,
            environ_base=environ,
        )
        assert_envelope(response, 403, "forbidden")
        assert self.keys() == before
        assert get_redis("sqs:").keys("sqs:*") == []
        assert Messages("bob").unread() == 0

    @pytest.mark.parametrize(
        ("peer", "headers"),
        [
            ("127.0.0.1", {}),
            ("127.0.0.1", {"X-Real-IP": "127.0.0.1", "X-Forwarded-For": "127.0.0.1"}),
            ("127.0.0.1", {"X-Forwarded-For": f"{OUTSIDE}, 127.0.0.1"}),
            ("::1", {"X-Real-IP": "::1"}),
            ("::ffff:127.0.0.1", {}),
        ],
        ids=["bare", "through-nginx", "earlier-hops-are-not-ours", "ipv6", "ipv4-mapped"],
    )
    def test_sqsd_through_the_local_proxy_is_served(self, sqs_client, peer, headers):
        response = sqs_client.post(
            "/sqs",
            json={"type": "tick"},
            headers={**sqsd_headers("tick-1"), **headers},
            environ_base={"REMOTE_ADDR": peer},
        )
        assert response.status_code == 200, response.get_json()
