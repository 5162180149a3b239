"""``Health``: whether this process can reach its databases right now (``GET /ready``).

``GET /status`` only proves the process answers; readiness asks every Redis
the app uses (the default one and each shard) whether it accepts writes (an
empty SETRANGE, which changes nothing but is refused when Redis is out of
memory or a read-only replica; on a cluster, one on every primary) and the SQL
database for ``SELECT 1``. Each
check is bounded by the clients' own timeouts (``BATFRIEND_REDIS_TIMEOUT`` for
Redis, ``BATFRIEND_SQL_TIMEOUT`` for SQL).
"""

import logging

import redis
import sqlalchemy
import sqlalchemy.exc
from redis.cluster import RedisCluster

from batfriend.databases import get_engine, redis_client, redis_urls
from batfriend.keys import BUCKETS, tag
from batfriend.redaction import redact_url

logger = logging.getLogger(__name__)
OK = "ok"
DOWN = "down"
# Never written: SETRANGE with an empty value neither creates nor changes a key.
PROBE_KEY = "health:write-probe"


def probe_keys(client: redis.Redis | RedisCluster) -> list[str]:
    """The write probe's keys: one, or on a cluster one per primary (a bucket's tag it serves)."""
    if not isinstance(client, RedisCluster):
        return [PROBE_KEY]
    by_node: dict[str, str] = {}
    for bucket in range(BUCKETS):
        key = f"{PROBE_KEY}:{tag(bucket)}"
        by_node.setdefault(client.get_node_from_key(key).name, key)
    return list(by_node.values())


class Health:
    """Checks the databases of this process: every Redis URL in use, and the SQL engine."""

    def __init__(self) -> None:
        self._redis_clients: dict[str, redis.Redis] = {
            url: redis_client(url) for url in redis_urls()
        }
        self._engine: sqlalchemy.Engine = get_engine()

    def _redis_state(self) -> str:
        for url, client in self._redis_clients.items():
            try:
                for key in probe_keys(client):
                    client.setrange(key, 0, "")
            except redis.exceptions.ResponseError as error:
                if str(error).startswith("WRONGTYPE"):
                    continue
                logger.warning("readiness: Redis %s refuses writes: %s", redact_url(url), error)
                return DOWN
            except redis.RedisError as error:
                logger.warning("readiness: Redis %s is down: %s", redact_url(url), error)
                return DOWN
        return OK

    def _sql_state(self) -> str:
        try:
            with self._engine.connect() as connection:
                connection.execute(sqlalchemy.text("SELECT 1"))
        except sqlalchemy.exc.SQLAlchemyError as error:
            logger.warning("readiness: SQL is down: %s", error)
            return DOWN
        return OK

    def view(self) -> dict[str, str]:
        """Return ``{"redis": "ok"|"down", "sql": "ok"|"down"}``."""
        return {"redis": self._redis_state(), "sql": self._sql_state()}
