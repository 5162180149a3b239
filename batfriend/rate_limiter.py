"""``RateLimiter``: a fixed-window counter per subject; ``SlidingQuota``: a sliding one.

Both count atomically in Lua.

``hit`` counts before the work it guards, so a burst cannot slip past the limit;
``release`` gives a hit back when the work turned out not to count (a login
attempt that succeeded, or was never checked).
"""

import math
import time

from redis import Redis
from redis.client import Pipeline

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


class SlidingQuota:
    """Allows ``limit`` units in any ``window`` seconds per subject, kept in buckets of time.

    A bucket counts whole while any of it is in the window, so no window ever holds
    more than ``limit``; a request may be refused up to one bucket early.
    """

    def __init__(self, kind: str, limit: int, window: float, bucket: float) -> None:
        if limit < 1 or not 0 < bucket <= window:
            raise ValueError("a quota needs limit >= 1 and 0 < bucket <= window")
        self._redis: Redis = get_redis(RateKeys.PREFIX)
        self._kind = kind
        self._limit = limit
        self._window = window
        self._bucket = bucket
        self._hit = get_script(self._redis, "quota_hit")

    @property
    def client(self) -> Redis:
        """The Redis the quota counts in (``queue_hit`` needs a pipeline of it)."""
        return self._redis

    def hit(self, subject: str, cost: int = 1, now: float | None = None) -> None:
        """Count ``cost`` units for ``subject``; past the quota count none: TooManyRequests."""
        self.refuse_over(self._hit(**self._hit_call(subject, cost, now)))

    def queue_hit(
        self, pipeline: Pipeline, subject: str, cost: int = 1, now: float | None = None
    ) -> None:
        """Queue ``hit``'s count on ``pipeline`` (of ``client``); pass its reply to
        ``refuse_over`` before using any reply queued after it."""
        self._hit(**self._hit_call(subject, cost, now), client=pipeline)

    def _hit_call(self, subject: str, cost: int, now: float | None) -> dict[str, list]:
        return {
            "keys": [RateKeys.buckets(self._kind, subject)],
            "args": [
                self._limit,
                repr(time.time() if now is None else now),
                repr(self._window),
                repr(self._bucket),
                cost,
            ],
        }

    def refuse_over(self, reply: list[int]) -> None:
        """Raise TooManyRequests if the quota script's ``reply`` refused the count."""
        allowed, retry_after = reply
        if not allowed:
            raise TooManyRequests(
                f"at most {self._limit} {self._kind} look-ups in {self._window:g} s;"
                " try again later",
                retry_after=retry_after,
            )
