"""``RateLimiter``: a fixed-window counter per subject, counted atomically in Lua.

``hit`` counts before the work it guards, so a burst cannot slip past the limit;
``release`` gives a hit back when the work turned out not to count (a login
attempt that succeeded, or was never checked).
"""

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
        self._release = get_script(self._redis, "rate_limiter_release")

    def _refuse(self, remaining_ms: int) -> TooManyRequests:
        return TooManyRequests(
            f"too many {self._kind} requests; try again later",
            retry_after=math.ceil(remaining_ms / 1000),
        )

    def hit(self, subject: str, cost: int = 1) -> None:
        """Count ``cost`` hits for ``subject``; past the limit count none, raise TooManyRequests."""
        allowed, remaining_ms = self._hit(
            keys=[RateKeys.counter(self._kind, subject)], args=[self._limit, self._window_ms, cost]
        )
        if not allowed:
            raise self._refuse(remaining_ms)

    def release(self, subject: str, cost: int = 1) -> None:
        """Give back ``cost`` hits of ``subject``'s current window (none if it has ended)."""
        self._release(keys=[RateKeys.counter(self._kind, subject)], args=[cost])
