import threading

import pytest

from base_test import TestBase
from batfriend.errors import TooManyRequests
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

    def test_check_does_not_count(self):
        limiter = RateLimiter("test", limit=2, window=60)
        limiter.check("alice")
        limiter.hit("alice")
        limiter.check("alice")
        limiter.hit("alice")
        with pytest.raises(TooManyRequests):
            limiter.check("alice")

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
