import threading

import pytest

from base_test import TestBase
from batfriend import databases
from batfriend.counter import Counter
from batfriend.scripts import get_script


class TestCounter(TestBase):
    def test_starts_at_zero_and_counts(self):
        counter = Counter("stats:logins")
        assert counter.view() == 0
        assert counter.increment() == 1
        assert counter.increment_by(41) == 42
        assert counter.increment_by(0) == 42
        assert Counter("stats:logins").view() == 42
        assert Counter("stats:other").view() == 0

    def test_key_starts_with_its_name(self):
        Counter("stats:logins").increment()
        assert databases.get_redis("stats:logins").get("stats:logins:count") == b"1"

    @pytest.mark.parametrize("amt", [-1, 1.5, "3", True, None])
    def test_increment_by_validates(self, amt):
        counter = Counter("stats:logins")
        with pytest.raises((TypeError, ValueError)):
            counter.increment_by(amt)
        assert counter.view() == 0

    @pytest.mark.parametrize("name", ["", 5, None, b"stats"])
    def test_name_must_be_a_non_empty_str(self, name):
        with pytest.raises(TypeError):
            Counter(name)

    def test_increment_if_below_stops_at_the_limit(self):
        counter = Counter("quota:alice")
        assert [counter.increment_if_below(3) for _ in range(5)] == [True] * 3 + [False] * 2
        assert counter.view() == 3
        with pytest.raises(TypeError):
            counter.increment_if_below(3.0)


def race(threads, attempts_each, add):
    """Run ``threads`` threads each calling ``add(counter)`` ``attempts_each`` times on one
    counter; return how many calls said they added one."""
    start = threading.Barrier(threads, timeout=10)
    successes = []

    def worker():
        counter = Counter("quota:shared")
        start.wait()
        for _ in range(attempts_each):
            if add(counter):
                successes.append(1)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return len(successes)


class TestCounterUnderContention(TestBase):
    def test_four_threads_reach_the_limit_exactly_and_retry(self, monkeypatch):
        threads, attempts_each, limit = 4, 40, 100
        calls = []
        calls_lock = threading.Lock()
        first_pass = threading.Barrier(threads, timeout=10)
        local = threading.local()
        original = Counter._increment_step

        def step(self, pipe, limit):
            with calls_lock:
                calls.append(threading.get_ident())
            result = original(self, pipe, limit)
            if not getattr(local, "waited", False):
                # Every thread has WATCHed and read before anyone's EXEC: three must retry.
                local.waited = True
                first_pass.wait()
            return result

        monkeypatch.setattr(Counter, "_increment_step", step)
        added = race(threads, attempts_each, lambda counter: counter.increment_if_below(limit))
        assert Counter("quota:shared").view() == limit
        assert added == limit
        transactions = threads * attempts_each
        assert len(calls) >= transactions + threads - 1, "no transaction was retried"

    def test_the_one_script_version_reaches_the_limit_exactly_in_one_try_each(self, round_trips):
        threads, attempts_each, limit = 4, 100, 250
        client = databases.get_redis("quota:")
        client.script_load(get_script(client, "counter_increment_below").script)  # every node
        round_trips.clear()
        added = race(threads, attempts_each, lambda counter: counter.increment_below(limit))
        assert Counter("quota:shared").view() == limit
        assert added == limit
        calls = [names for names in round_trips.names() if names[0] in ("EVALSHA", "EVAL")]
        assert len(calls) == threads * attempts_each  # never retried
        with pytest.raises(TypeError):
            Counter("quota:shared").increment_below(True)
