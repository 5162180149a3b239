"""``Sweeper``: walks every key with SCAN, a bounded number per call, and hands keys to repairers.

Each swept Redis (on a cluster: each primary, by node id, a new one starting at 0)
has its own cursor, moved only after that step's repairs (an
unreachable database stops the step first), so a restart goes on where it
stopped and nothing is skipped. SCAN may return a key twice: repairers must be
idempotent.
"""

import logging
from collections import defaultdict
from collections.abc import Callable

from redis import Redis
from redis.cluster import RedisCluster

from batfriend import config
from batfriend.config import longest_prefix
from batfriend.databases import DATABASE_DOWN, get_redis, redis_url_for
from batfriend.keys import SweepKeys

# A repairer gets the names of the keys it owns that one SCAN step returned.
Repairer = Callable[[list[str]], None]

logger = logging.getLogger(__name__)


class Sweeper:
    """Sweeps the keys of the families ``repairers`` names; ``count`` is SCAN's COUNT per call."""

    def __init__(self, repairers: dict[str, Repairer], count: int | None = None) -> None:
        self._repairers = dict(repairers)
        self._count = config.BATFRIEND_SWEEP_KEYS if count is None else count
        self._redis: Redis = get_redis(SweepKeys.PREFIX)
        by_url: dict[str, list[str]] = defaultdict(list)
        for prefix in sorted(self._repairers):
            by_url[redis_url_for(prefix)].append(prefix)
        # One entry per Redis: (its cursor's field, its client, the prefixes it serves).
        self._walks = [
            (",".join(prefixes), get_redis(prefixes[0]), prefixes) for prefixes in by_url.values()
        ]

    def _cursors(self, field: str, client: Redis | RedisCluster) -> list[tuple[str, Redis]]:
        """One (cursor field, client) per server to scan: the Redis, or each cluster primary."""
        if not isinstance(client, RedisCluster):
            return [(field, client)]
        return [
            (f"{field}@{client.cluster_myid(node).decode()}", node.redis_connection)
            for node in client.get_primaries()
        ]

    def sweep(self) -> int:
        """Take one SCAN step on every swept server and repair what it returns; return its size."""
        seen = 0
        for walk, cluster, prefixes in self._walks:
            for field, client in self._cursors(walk, cluster):
                seen += self._step(field, client, prefixes)
        return seen

    def _step(self, field: str, client: Redis, prefixes: list[str]) -> int:
        """One SCAN step on one server from its stored cursor; return how many keys it saw."""
        cursor = int(self._redis.hget(SweepKeys.cursors(), field) or 0)
        cursor, keys = client.scan(cursor, count=self._count)
        owned: dict[str, list[str]] = defaultdict(list)
        for raw in keys:
            key = raw.decode("utf-8", "replace")
            owner = longest_prefix(key, prefixes)
            if owner is not None:
                owned[owner].append(key)
        for prefix, batch in owned.items():
            try:
                self._repairers[prefix](batch)
            except DATABASE_DOWN:
                raise
            except Exception:
                logger.exception("repairer for %r failed on %d keys", prefix, len(batch))
        self._redis.hset(SweepKeys.cursors(), field, cursor)
        return len(keys)
