"""``Health``: whether this process can reach its databases right now (``GET /ready``).

``GET /status`` only proves the process answers; readiness asks every Redis
the app uses (the default one and each shard) whether it accepts writes (an
empty SETRANGE, which changes nothing but is refused when Redis is out of
memory or a read-only replica) and the SQL database for ``SELECT 1``. Each
check is bounded by the clients' own timeouts (``BATFRIEND_REDIS_TIMEOUT`` for
Redis, ``BATFRIEND_SQL_TIMEOUT`` for SQL).
"""

import logging

import redis
import sqlalchemy
import sqlalchemy.exc

from batfriend.databases import get_engine, redis_client, redis_urls
from batfriend.redaction import redact_url

logger = logging.getLogger(__name__)
OK = "ok"
DOWN = "down"
# Never written: SETRANGE with an empty value neither creates nor changes a key.
PROBE_KEY = "health:write-probe"


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
                client.setrange(PROBE_KEY, 0, "")
            except redis.exceptions.ResponseError as error:
                if str(error).startswith("WRONGTYPE"):
                    continue
                logger.warning("readiness: Redis %s refuses writes: %s", url, error)
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
