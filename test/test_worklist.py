import threading

import pytest

from base_test import TestBase
from batfriend.worklist import Worklist

T = 1_000_000.0


class TestWorklist(TestBase):
    def test_add_is_idempotent_by_id(self):
        worklist = Worklist("jobs")
        assert worklist.add("a", "first", due=T)
        assert not worklist.add("a", "second", due=T - 100)
        assert worklist.claim(now=T - 50) == []
        assert worklist.claim(now=T) == [("a", "first", 0)]
        assert not worklist.add("a", "third", due=T), "a leased id is still on the list"

    def test_add_many_counts_new_items(self):
        worklist = Worklist("jobs")
        worklist.add("b", "x", due=T)
        assert worklist.add_many([(f"i{n}", str(n), T + n) for n in range(2500)] + [("b", "y", T)])
        assert worklist.view() == {"pending": 2501, "leased": 0, "dead": 0}

    def test_add_many_is_one_round_trip(self, round_trips):
        worklist = Worklist("jobs")
        worklist.add("warm", "up", due=T)
        round_trips.clear()
        assert worklist.add_many([(f"i{n}", str(n), T) for n in range(2500)]) == 2500
        assert round_trips.names() == [["EVALSHA"] * 3]

    def test_claim_takes_due_items_earliest_first_up_to_the_limit(self):
        worklist = Worklist("jobs")
        worklist.add_many([("late", "l", T + 10), ("second", "2", T - 1), ("first", "1", T - 2)])
        assert worklist.claim(limit=1, now=T) == [("first", "1", 0)]
        assert worklist.claim(limit=5, now=T) == [("second", "2", 0)]
        assert worklist.claim(limit=5, now=T) == []
        assert worklist.view() == {"pending": 1, "leased": 2, "dead": 0}
        with pytest.raises(ValueError):
            worklist.claim(limit=0)

    def test_complete_removes_items(self):
        worklist = Worklist("jobs")
        worklist.add_many([("a", "1", T), ("b", "2", T), ("c", "3", T + 60)])
        worklist.claim(now=T)
        assert worklist.complete(["a", "b", "unknown"]) == 2
        assert worklist.view() == {"pending": 1, "leased": 0, "dead": 0}
        assert worklist.add("a", "again", due=T), "a completed id may be added anew"

    def test_complete_takes_any_number_of_ids(self):
        worklist = Worklist("jobs")
        worklist.add_many([(str(n), "p", T) for n in range(2500)])
        ids = [item[0] for _ in range(3) for item in worklist.claim(limit=1000, now=T)]
        assert len(ids) == 2500
        assert worklist.complete(ids) == 2500
        assert worklist.view() == {"pending": 0, "leased": 0, "dead": 0}

    def test_two_concurrent_claimers_never_take_the_same_item(self):
        worklist = Worklist("jobs")
        worklist.add_many([(str(n), str(n), T) for n in range(3000)])
        claimed = {0: [], 1: []}
        start = threading.Barrier(2)

        def claimer(index):
            mine = Worklist("jobs")
            start.wait()
            while batch := mine.claim(limit=7, now=T):
                claimed[index] += [item_id for item_id, _, _ in batch]

        threads = [threading.Thread(target=claimer, args=(i,)) for i in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert claimed[0] and claimed[1]
        assert not set(claimed[0]) & set(claimed[1])
        assert sorted(claimed[0] + claimed[1], key=int) == [str(n) for n in range(3000)]

    def test_an_expired_lease_makes_the_item_due_again_counting_an_attempt(self):
        worklist = Worklist("jobs", lease=30)
        worklist.add("a", "p", due=T)
        assert worklist.claim(now=T) == [("a", "p", 0)]
        assert worklist.claim(now=T + 29) == []
        assert worklist.claim(now=T + 30) == [("a", "p", 1)]
        assert worklist.view() == {"pending": 0, "leased": 1, "dead": 0}

    def test_running_out_of_leases_dead_letters_the_item(self):
        worklist = Worklist("jobs", lease=10, attempts=2)
        worklist.add("a", "p", due=T)
        worklist.claim(now=T)
        worklist.claim(now=T + 10)
        assert worklist.claim(now=T + 20) == []
        assert worklist.dead() == [("a", "p", 2, T + 20)]

    def test_fail_retries_later_then_dead_letters(self):
        worklist = Worklist("jobs", attempts=3)
        worklist.add("a", "p", due=T)
        worklist.claim(now=T)
        assert worklist.fail("a", retry_at=T + 5, now=T) == "retry"
        assert worklist.claim(now=T + 4) == []
        assert worklist.claim(now=T + 5) == [("a", "p", 1)]
        assert worklist.fail("a", retry_at=T + 6, now=T + 5) == "retry"
        assert worklist.claim(now=T + 6) == [("a", "p", 2)]
        assert worklist.fail("a", retry_at=T + 7, now=T + 6) == "dead"
        assert worklist.claim(now=T + 100) == []
        assert worklist.dead() == [("a", "p", 3, T + 6)]
        assert worklist.fail("a", retry_at=T, now=T) == "not_leased"
        assert worklist.fail("nobody", retry_at=T, now=T) == "not_leased"

    def test_requeue_puts_dead_letters_back_with_attempts_reset(self):
        worklist = Worklist("jobs", attempts=1)
        worklist.add_many([("a", "pa", T), ("b", "pb", T)])
        for item_id, _, _ in worklist.claim(now=T):
            worklist.fail(item_id, retry_at=T, now=T)
        assert [item[0] for item in worklist.dead()] == ["a", "b"]
        assert worklist.requeue(["a", "not-dead"], due=T + 1) == 1
        assert [item[0] for item in worklist.dead()] == ["b"]
        assert worklist.claim(now=T + 1) == [("a", "pa", 0)]

    def test_expedite_makes_a_pending_item_due_now(self):
        worklist = Worklist("jobs")
        worklist.add("a", "p", due=T + 3600)
        assert worklist.claim(now=T) == []
        assert worklist.expedite("a", now=T)
        assert worklist.claim(now=T) == [("a", "p", 0)]
        assert not worklist.expedite("a", now=T), "a leased item is no longer pending"
        assert not worklist.expedite("unknown", now=T)

    def test_postpone_moves_a_pending_item_later(self):
        worklist = Worklist("jobs")
        worklist.add("a", "p", due=T)
        assert worklist.postpone("a", T + 60)
        assert worklist.claim(now=T + 59) == []
        assert worklist.claim(now=T + 60) == [("a", "p", 0)]
        assert not worklist.postpone("a", T + 120), "a leased item is no longer pending"
        assert not worklist.postpone("unknown", T)

    def test_worklists_are_separate_and_names_are_checked(self):
        Worklist("one").add("a", "p", due=T)
        assert Worklist("two").claim(now=T) == []
        with pytest.raises(ValueError):
            Worklist("Bad Name")
