import threading

import pytest

from base_test import TestBase
from batfriend.databases import get_redis
from batfriend.errors import TooManyRequests
from batfriend.keys import RateKeys
from batfriend.rate_limiter import RateLimiter


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
