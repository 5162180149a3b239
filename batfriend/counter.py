"""``Counter``: a named number in Redis (stats, quotas), the seed's model skeleton made right."""

from collections.abc import Callable

from redis import Redis
from redis.client import Pipeline

from batfriend.databases import get_redis
from batfriend.keys import CounterKeys
from batfriend.scripts import get_script


class Counter:
    """Tracks a non-decreasing number in Redis under ``<name>:count``."""

    def __init__(self, name: str) -> None:
        if type(name) is not str or not name:
            raise TypeError("a Counter needs a non-empty str name")
        # The name is the key family: the shard map can send it elsewhere.
        self._redis: Redis = get_redis(name)
        self._name = name

    def increment(self) -> int:
        """Add one; return the new value."""
        return self._redis.incr(CounterKeys.count(self._name))

    def increment_by(self, amt: int) -> int:
        """Add ``amt`` (an int, 0 or more); return the new value."""
        if type(amt) is not int:
            raise TypeError(f"Counter {self._name!r}: amt must be an int, not {type(amt).__name__}")
        if amt < 0:
            raise ValueError(f"Counter {self._name!r} only goes up: amt must be >= 0, got {amt}")
        return self._redis.incrby(CounterKeys.count(self._name), amt)

    def view(self) -> int:
        """Return the current value (0 when never counted)."""
        return int(self._redis.get(CounterKeys.count(self._name)) or 0)

    def increment_if_below(self, limit: int) -> bool:
        """Add one unless the value has reached ``limit`` (a quota); return whether it did."""
        if type(limit) is not int:
            raise TypeError(f"Counter {self._name!r}: limit must be an int")
        return self._transact_optimistic(lambda pipe: self._increment_step(pipe, limit))

    def increment_below(self, limit: int) -> bool:
        """``increment_if_below`` as one Lua call: one round trip and no retries, however
        many clients race (bench/counter.py compares them)."""
        if type(limit) is not int:
            raise TypeError(f"Counter {self._name!r}: limit must be an int")
        script = get_script(self._redis, "counter_increment_below")
        return script(keys=[CounterKeys.count(self._name)], args=[limit]) == 1

    def _transact_optimistic(self, step: Callable[[Pipeline], bool]) -> bool:
        """Run ``step`` under WATCH of the count; redis-py re-runs it whenever EXEC is refused."""
        return self._redis.transaction(
            step, CounterKeys.count(self._name), value_from_callable=True
        )

    def _increment_step(self, pipe: Pipeline, limit: int) -> bool:
        """Read under WATCH, then queue the INCR after MULTI; may run several times."""
        current = int(pipe.get(CounterKeys.count(self._name)) or 0)
        pipe.multi()
        if current >= limit:
            return False
        pipe.incr(CounterKeys.count(self._name))
        return True
