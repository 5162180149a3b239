import random
import re
import threading

import pytest

from base_test import TestBase
from batfriend import databases
from batfriend.errors import Conflict, Unavailable
from batfriend.keys import PhoneKeys
from batfriend.phone_numbers import PhoneNumberContext, PhoneNumbers
from round_trips import RoundTrips

A, B, C, D = "+14155550100", "+14155550101", "+442071838750", "+33142685300"


def book():
    """Return the two hashes as plain dicts: number -> owner, owner -> number."""
    redis = databases.get_redis("phone:")
    decode = lambda h: {k.decode(): v.decode() for k, v in h.items()}  # noqa: E731
    return decode(redis.hgetall(PhoneKeys.owners("phone"))), decode(
        redis.hgetall(PhoneKeys.agents("phone"))
    )


def assert_consistent():
    owners, agents = book()
    assert agents == {owner: phone for phone, owner in owners.items()}
    assert len(agents) == len(owners), "an agent owns two numbers"


class TestPhoneNumberContext(TestBase):
    def test_preload_fetches_only_new_numbers_in_one_hmget(self, monkeypatch):
        PhoneNumbers().assign("alice", A)
        trips = RoundTrips(monkeypatch)
        numbers = PhoneNumbers().view()
        numbers.preload([A, B])
        numbers.preload([B, C, C, A])
        numbers.preload([A, C])
        assert trips.names() == [["HMGET"], ["HMGET"]]
        assert trips.sent[0][0][2:] == [A.encode(), B.encode()]
        assert trips.sent[1][0][2:] == [C.encode()]
        assert numbers.owner(A) == "alice" and numbers.owner(B) is None
        assert numbers.owners([A, B, C, A]) == {A: "alice"}
        assert len(trips.sent) == 2

    def test_owner_loads_lazily(self, monkeypatch):
        PhoneNumbers().assign("alice", A)
        trips = RoundTrips(monkeypatch)
        assert PhoneNumbers().view().owner(A) == "alice"
        assert trips.names() == [["HMGET"]]

    @pytest.mark.parametrize("ids", ["+14155550100", [A, 5], (A,), None])
    def test_preload_checks_types(self, ids):
        with pytest.raises(TypeError):
            PhoneNumbers().view().preload(ids)

    def test_update_buffers_and_exit_commits_once(self, monkeypatch):
        trips = RoundTrips(monkeypatch)
        with PhoneNumberContext("phone") as numbers:
            numbers.update({A: "alice", B: "bob"})
            numbers.update({C: "carol"})
            assert book() == ({}, {})
            trips.clear()
        assert trips.names() == [["MULTI", "HSET", "HSET", "EXEC"]]
        assert book() == ({A: "alice", B: "bob", C: "carol"}, {"alice": A, "bob": B, "carol": C})

    def test_a_block_that_raises_commits_nothing(self):
        with pytest.raises(ZeroDivisionError):
            with PhoneNumbers().transact() as numbers:
                numbers.update({A: "alice"})
                raise ZeroDivisionError
        assert book() == ({}, {})

    def test_an_unchanged_batch_writes_nothing(self, monkeypatch):
        PhoneNumbers().assign("alice", A)
        trips = RoundTrips(monkeypatch)
        with PhoneNumberContext("phone") as numbers:
            numbers.update({A: "alice"})
        assert trips.names() == [["HMGET"]]

    def test_release_frees_both_directions(self):
        PhoneNumbers().assign("alice", A)
        with PhoneNumbers().transact() as numbers:
            numbers.update({A: None})
        assert book() == ({}, {})

    def test_view_is_read_only(self):
        numbers = PhoneNumbers().view()
        with pytest.raises(RuntimeError, match="read-only"):
            numbers.update({A: "alice"})
        with pytest.raises(RuntimeError, match="read-only"):
            numbers.commit()
        assert book() == ({}, {})


class TestTransactLock(TestBase):
    def test_holds_a_lock_with_a_timeout_and_releases_it(self):
        redis = databases.get_redis("phone:")
        with PhoneNumbers(lock_timeout=7).transact():
            assert redis.exists(PhoneKeys.lock("phone"))
            assert 0 < redis.pttl(PhoneKeys.lock("phone")) <= 7000
        assert not redis.exists(PhoneKeys.lock("phone"))
        with pytest.raises(ValueError):
            with PhoneNumbers().transact():
                raise ValueError
        assert not redis.exists(PhoneKeys.lock("phone"))

    def test_a_busy_lock_is_unavailable(self):
        inside, done = threading.Event(), threading.Event()

        def holder():
            with PhoneNumbers().transact():
                inside.set()
                done.wait(10)

        thread = threading.Thread(target=holder)
        thread.start()
        try:
            assert inside.wait(10)
            with pytest.raises(Unavailable, match=re.escape(PhoneKeys.lock("phone"))):
                PhoneNumbers(lock_wait=0.05).assign("bob", B)
        finally:
            done.set()
            thread.join()
        PhoneNumbers(lock_wait=0.05).assign("bob", B)
        assert book()[0] == {B: "bob"}


class TestAssign(TestBase):
    def test_one_number_one_agent(self):
        phones = PhoneNumbers()
        phones.assign("alice", A)
        phones.assign("alice", A)
        with pytest.raises(Conflict, match=A.replace("+", r"\+")):
            phones.assign("bob", A)
        assert book() == ({A: "alice"}, {"alice": A})

    def test_a_new_number_releases_the_old(self):
        phones = PhoneNumbers()
        phones.assign("alice", A)
        phones.assign("alice", B)
        assert book() == ({B: "alice"}, {"alice": B})
        assert phones.discover([A, B]) == {B: "alice"}
        phones.assign("bob", A)
        assert book() == ({A: "bob", B: "alice"}, {"alice": B, "bob": A})

    def test_discover_returns_only_matches(self):
        phones = PhoneNumbers()
        phones.assign("alice", A)
        phones.assign("carol", C)
        assert phones.discover([D, C, B, A, C]) == {C: "carol", A: "alice"}
        assert phones.discover([D]) == {}


class TestAssignRaces(TestBase):
    def test_twenty_agents_racing_for_one_number_one_wins(self):
        start = threading.Barrier(20, timeout=10)
        won, lost = [], []

        def attempt(i):
            start.wait()
            try:
                PhoneNumbers().assign(f"agent_{i}", A)
                won.append(f"agent_{i}")
            except Conflict:
                lost.append(i)

        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(won) == 1 and len(lost) == 19
        assert book() == ({A: won[0]}, {won[0]: A})

    def test_agents_switching_numbers_keep_the_book_consistent(self):
        pool = [f"+1415555{n:04d}" for n in range(6)]
        start = threading.Barrier(8, timeout=10)

        def churn(i):
            rng = random.Random(i)
            start.wait()
            for _ in range(15):
                try:
                    PhoneNumbers().assign(f"agent_{i}", rng.choice(pool))
                except Conflict:
                    pass

        threads = [threading.Thread(target=churn, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert_consistent()
        assert book()[0], "nobody holds a number"
