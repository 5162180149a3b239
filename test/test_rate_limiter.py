import random
import threading

import pytest

from base_test import TestBase
from batfriend.databases import get_redis
from batfriend.errors import TooManyRequests
from batfriend.keys import RateKeys
from batfriend.rate_limiter import RateLimiter, SlidingQuota


class TestRateLimiter(TestBase):
    def test_allows_the_limit_then_refuses_with_retry_after(self):
        limiter = RateLimiter("test", limit=3, window=60)
        for _ in range(3):
            limiter.hit("alice")
        with pytest.raises(TooManyRequests) as refused:
            limiter.hit("alice")
        assert 1 <= refused.value.retry_after <= 60
        limiter.hit("bob")

    def test_a_cost_counts_that_many_and_a_refused_hit_counts_none(self):
        limiter = RateLimiter("test", limit=10, window=60)
        limiter.hit("alice", cost=7)
        with pytest.raises(TooManyRequests):
            limiter.hit("alice", cost=4)
        limiter.hit("alice", cost=3)
        with pytest.raises(TooManyRequests):
            limiter.hit("alice")

    def test_release_gives_hits_back_within_the_window_only(self):
        limiter = RateLimiter("test", limit=2, window=60)
        limiter.hit("alice")
        limiter.hit("alice")
        limiter.release("alice")
        limiter.hit("alice")
        with pytest.raises(TooManyRequests):
            limiter.hit("alice")
        limiter.release("bob")  # no window: nothing to give back, and none is opened
        assert get_redis(RateKeys.PREFIX).keys("*bob*") == []
        limiter.release("alice", cost=5)  # never below zero
        limiter.hit("alice", cost=2)

    def test_concurrent_hits_admit_exactly_the_limit(self):
        limiter = RateLimiter("test", limit=50, window=60)
        admitted = []
        start = threading.Barrier(8)

        def worker():
            start.wait()
            for _ in range(25):
                try:
                    limiter.hit("alice")
                    admitted.append(1)
                except TooManyRequests:
                    pass

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(admitted) == 50


class TestSlidingQuota(TestBase):
    def test_any_window_holds_at_most_the_limit(self):
        quota = SlidingQuota("test", limit=10, window=100, bucket=10)
        quota.hit("alice", cost=6, now=0)
        quota.hit("alice", cost=4, now=50)
        with pytest.raises(TooManyRequests) as refused:
            quota.hit("alice", now=95)
        assert refused.value.retry_after == 15  # when the bucket of t=0 leaves the window
        with pytest.raises(TooManyRequests):
            quota.hit("alice", now=109)
        quota.hit("alice", cost=6, now=110)
        with pytest.raises(TooManyRequests) as refused:
            quota.hit("alice", cost=4, now=120)
        assert refused.value.retry_after == 40  # the bucket of t=50 must go too
        quota.hit("bob", cost=10, now=120)

    def test_a_random_history_never_passes_the_limit_in_any_window(self):
        quota = SlidingQuota("test", limit=50, window=100, bucket=10)
        rng = random.Random(11)
        counted = []
        for step in range(400):
            now, cost = step * 2.5, rng.randint(1, 12)
            try:
                quota.hit("alice", cost=cost, now=now)
                counted.append((now, cost))
            except TooManyRequests:
                pass
        assert len(counted) > 50
        for start, _ in counted:
            assert sum(c for t, c in counted if start <= t < start + 100) <= 50
