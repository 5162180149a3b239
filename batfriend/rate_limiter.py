"""``RateLimiter``: a fixed-window counter per subject, counted atomically in Lua."""

import math

from redis import Redis

from batfriend.databases import get_redis
from batfriend.errors import TooManyRequests
from batfriend.keys import RateKeys
from batfriend.scripts import get_script


class RateLimiter:
    """Allows ``limit`` hits per ``window`` seconds for each subject of one named ``kind``."""

    def __init__(self, kind: str, limit: int, window: float) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a rate limit needs limit >= 1 and a positive window")
        self._redis: Redis = get_redis(RateKeys.PREFIX)
        self._kind = kind
        self._limit = limit
        self._window_ms = max(1, int(window * 1000))
        self._hit = get_script(self._redis, "rate_limiter_hit")

    def _refuse(self, remaining_ms: int) -> TooManyRequests:
        return TooManyRequests(
            f"too many {self._kind} requests; try again later",
            retry_after=math.ceil(remaining_ms / 1000),
        )

    def hit(self, subject: str) -> None:
        """Count one hit for ``subject``; raise TooManyRequests when it exceeds the limit."""
        allowed, remaining_ms = self._hit(
            keys=[RateKeys.counter(self._kind, subject)], args=[self._limit, self._window_ms]
        )
        if not allowed:
            raise self._refuse(remaining_ms)

    def check(self, subject: str) -> None:
        """Raise TooManyRequests if ``subject`` has used up its window, without counting a hit."""
        pipeline = self._redis.pipeline(transaction=False)
        pipeline.get(RateKeys.counter(self._kind, subject))
        pipeline.pttl(RateKeys.counter(self._kind, subject))
        count, remaining_ms = pipeline.execute()
        if count is not None and int(count) >= self._limit:
            raise self._refuse(max(remaining_ms, 1))
