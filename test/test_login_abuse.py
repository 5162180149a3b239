"""Login abuse: the lockout under bursts, bounded hashing, the per-address limit, the audit log."""

import logging
import threading
import time

import pytest

from base_test import TestBase
from batfriend import agent, config, passwords
from batfriend.agent import Agent
from batfriend.databases import get_redis
from batfriend.errors import Unavailable
from batfriend.passwords import HashingSlots

RIGHT = "correct horse battery"
WRONG = "wrong password!"


@pytest.fixture
def checked(monkeypatch):
    """Record every password the app checks against a stored hash (the real check still runs)."""
    seen = []
    real = agent.verify_password

    def counting(password, stored):
        seen.append(password)
        return real(password, stored)

    monkeypatch.setattr(agent, "verify_password", counting)
    return seen


def login(client, password, address="198.51.100.1", username="alice"):
    return client.post(
        "/login",
        json={"username": username, "password": password},
        headers={"X-Real-IP": address},
    )


class TestLockoutUnderBursts(TestBase):
    @pytest.mark.parametrize("attempts", [50, 100])
    def test_parallel_wrong_logins_check_at_most_ten_passwords(self, client, checked, attempts):
        Agent("alice").register(RIGHT)
        checked.clear()
        start = threading.Barrier(attempts)
        statuses = []

        def guess(n):
            start.wait()
            statuses.append(login(client, f"{WRONG}{n}", address=f"10.0.{n // 250}.{n % 250}"))

        threads = [threading.Thread(target=guess, args=(n,)) for n in range(attempts)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        codes = [response.status_code for response in statuses]
        assert len(codes) == attempts and set(codes) <= {401, 429, 503}, codes
        assert len(checked) <= 10, f"{len(checked)} wrong passwords checked in one window"
        assert codes.count(401) == len(checked)
        if codes.count(401) == 10:
            response = login(client, RIGHT)
            assert response.status_code == 429, "the right password must not slip through"

    def test_a_right_password_gives_its_attempt_back(self, client):
        Agent("alice").register(RIGHT)
        for _ in range(15):
            assert login(client, RIGHT).status_code == 200
        for _ in range(10):
            assert login(client, WRONG).status_code == 401
        assert login(client, RIGHT).status_code == 429


class TestBoundedHashing(TestBase):
    def test_slots_then_a_short_queue_then_unavailable(self):
        slots = HashingSlots(1, queue=1, wait=5)
        holding, release, waited = threading.Event(), threading.Event(), threading.Event()

        def hold():
            with slots.slot():
                holding.set()
                release.wait(10)

        def wait_in_queue():
            with slots.slot():
                waited.set()

        threading.Thread(target=hold).start()
        assert holding.wait(5)
        queued = threading.Thread(target=wait_in_queue)
        queued.start()
        while slots._admitted._value:  # until the queued caller has been admitted
            time.sleep(0.01)
        with pytest.raises(Unavailable) as busy, slots.slot():
            pass
        assert busy.value.retry_after == 1
        release.set()
        queued.join(5)
        assert waited.is_set()

    def test_a_wait_that_runs_out_is_unavailable(self):
        slots = HashingSlots(1, queue=1, wait=0.05)
        with slots.slot(), pytest.raises(Unavailable), slots.slot():
            pass

    def test_a_busy_server_answers_503_with_retry_after_and_keeps_the_attempt(
        self, client, monkeypatch
    ):
        Agent("alice").register(RIGHT)
        monkeypatch.setattr(passwords, "HASHING", HashingSlots(1, queue=0))
        with passwords.HASHING.slot():
            response = login(client, RIGHT)
        assert response.status_code == 503, response.get_json()
        assert response.get_json()["error"]["code"] == "unavailable"
        assert response.headers["Retry-After"] == "1"
        assert get_redis("rate:").get("rate:login:alice") in (None, b"0")
        assert login(client, RIGHT).status_code == 200


class TestAddressLimit(TestBase):
    @pytest.fixture(autouse=True)
    def three_a_minute(self, monkeypatch):
        monkeypatch.setattr(config, "BATFRIEND_ADDRESS_LIMIT_PER_MINUTE", 3)

    def test_logins_and_registrations_share_the_limit_counted_before_hashing(self, client, checked):
        body = {"username": "alice", "password": RIGHT}
        here = {"X-Real-IP": "203.0.113.5"}
        assert client.post("/agents/register", json=body, headers=here).status_code == 201
        assert login(client, WRONG, "203.0.113.5").status_code == 401
        assert login(client, RIGHT, "203.0.113.5").status_code == 200
        checked.clear()
        refused = login(client, RIGHT, "203.0.113.5")
        assert refused.status_code == 429
        assert refused.get_json()["error"]["code"] == "too_many_requests"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        other = {"username": "bob", "password": RIGHT}
        assert client.post("/agents/register", json=other, headers=here).status_code == 429
        assert checked == [], "a refused login hashes nothing"
        assert login(client, RIGHT, "203.0.113.6").status_code == 200

    def test_the_address_is_x_real_ip_else_the_last_forwarded_hop_else_the_peer(self, client):
        Agent("alice").register(RIGHT)
        credentials = {"username": "alice", "password": RIGHT}

        def attempt(headers, peer="127.0.0.1"):
            return client.post(
                "/login", json=credentials, headers=headers, environ_base={"REMOTE_ADDR": peer}
            ).status_code

        forwarded = {"X-Forwarded-For": "203.0.113.7, 192.0.2.1"}
        assert [attempt(forwarded) for _ in range(3)] == [200] * 3
        assert attempt({"X-Forwarded-For": "192.0.2.1"}) == 429  # the last hop counts
        assert attempt({"X-Forwarded-For": "203.0.113.7"}) == 200
        assert attempt({"X-Real-IP": "192.0.2.1", "X-Forwarded-For": "203.0.113.8"}) == 429
        assert [attempt({}, peer="192.0.2.50") for _ in range(3)] == [200] * 3
        assert attempt({}, peer="192.0.2.50") == 429


class TestAuditLog(TestBase):
    def test_failed_logins_and_lockouts_name_the_username_and_address(self, client, caplog):
        Agent("alice").register(RIGHT)
        caplog.set_level(logging.INFO)
        for n in range(10):
            assert login(client, f"{WRONG}{n}", "203.0.113.20").status_code == 401
        assert login(client, RIGHT, "203.0.113.21").status_code == 429
        assert login(client, WRONG, "203.0.113.22", username="nobody").status_code == 401
        audit = [r for r in caplog.records if r.name == "batfriend.audit"]
        failed = [r for r in audit if "failed login" in r.getMessage()]
        locked = [r for r in audit if "locked out" in r.getMessage()]
        assert len(failed) == 11 and all(r.levelno == logging.INFO for r in failed)
        assert "alice" in failed[0].getMessage() and "203.0.113.20" in failed[0].getMessage()
        assert "nobody" in failed[-1].getMessage() and "203.0.113.22" in failed[-1].getMessage()
        assert len(locked) == 1 and locked[0].levelno == logging.WARNING
        assert "alice" in locked[0].getMessage() and "203.0.113.21" in locked[0].getMessage()
        everything = "\n".join(r.getMessage() for r in caplog.records)
        assert WRONG not in everything and RIGHT not in everything
