"""Database handles: ``get_redis(prefix)`` for Redis and ``get_engine()`` for SQL.

Clients are created lazily, once per URL per process, and created again after
a fork (uWSGI's master forks workers), so no connection pool is ever shared
between processes. Tests may monkeypatch either function.
"""

import logging
import os
import threading

import redis
import sqlalchemy
from redis.backoff import ConstantBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

from batfriend import config
from batfriend.config import is_cluster_url, longest_prefix
from batfriend.embedded import socket_url

logger = logging.getLogger(__name__)
EMBEDDED_URL_FILE = "embedded-redis.url"

# What a call raises when SQL is unreachable or too slow (a full pool included).
SQL_DOWN = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
)
# What a call raises when a database is unreachable or too slow: the API answers 503,
# the watcher backs off and tries again. A cluster that has lost a slot's primary, and not yet
# promoted its replica, answers CLUSTERDOWN.
DATABASE_DOWN = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.ClusterDownError,
    *SQL_DOWN,
)
# Any other error Redis answers (out of memory, read-only replica, loading, busy): the API
# answers 503 with Retry-After; REDIS_OUT_OF_MEMORY is the one logged as such.
REDIS_REFUSED = redis.exceptions.RedisError
REDIS_OUT_OF_MEMORY = redis.exceptions.OutOfMemoryError
_FALLBACK_REDIS_URL = "redis://127.0.0.1:6379/0"

_lock = threading.Lock()
_pid = os.getpid()
_default_redis_url: str | None = None
_redis_clients: dict[str, redis.Redis | RedisCluster] = {}
_engines: dict[str, sqlalchemy.Engine] = {}


def _resolve_default_redis_url() -> str:
    """Return ``REDIS_URL``, else the embedded Redis runlocal recorded, else localhost.

    A recorded URL is trusted only if it is this data directory's socket: an old
    record naming a TCP port would reach whatever listens there now.
    """
    if config.REDIS_URL:
        return config.REDIS_URL
    try:
        with open(os.path.join(config.BATFRIEND_DATA_DIR, EMBEDDED_URL_FILE)) as recorded:
            url = recorded.read().strip()
    except FileNotFoundError:
        return _FALLBACK_REDIS_URL
    if url != socket_url(config.BATFRIEND_DATA_DIR):
        logger.warning(
            "ignoring %s in %s: it is not this data directory's embedded Redis socket",
            EMBEDDED_URL_FILE,
            config.BATFRIEND_DATA_DIR,
        )
        return _FALLBACK_REDIS_URL
    return url


def default_redis_url() -> str:
    """Return the URL of keys no shard claims, resolved once per ``reset()``."""
    global _default_redis_url
    if _default_redis_url is None:
        _default_redis_url = _resolve_default_redis_url()
    return _default_redis_url


def redis_url_for(prefix: str) -> str:
    """Return the URL serving a key family: the longest matching shard prefix wins."""
    shard = longest_prefix(prefix, config.BATFRIEND_REDIS_SHARDS)
    return default_redis_url() if shard is None else config.BATFRIEND_REDIS_SHARDS[shard]


def redis_urls() -> list[str]:
    """Return every distinct Redis URL the app may use (default and shards)."""
    return sorted({default_redis_url(), *config.BATFRIEND_REDIS_SHARDS.values()})


def _forget_after_fork() -> None:
    """Drop handles inherited from a parent process; the caller holds ``_lock``."""
    global _pid
    if os.getpid() != _pid:
        _pid = os.getpid()
        _redis_clients.clear()
        for engine in _engines.values():
            engine.dispose(close=False)
        _engines.clear()


def _create_redis(url: str) -> redis.Redis | RedisCluster:
    """Create a client with short timeouts and one quick retry, so a dead Redis is a quick 503.

    A cluster URL (``redis+cluster://host:port``) gives a ``RedisCluster`` that learns the
    slot map from that node; its retries also refresh the map, which carries it over a failover.
    """
    timeout = config.BATFRIEND_REDIS_TIMEOUT
    options = {
        "socket_connect_timeout": timeout,
        "socket_timeout": timeout * 2,
        "health_check_interval": 30,
    }
    if is_cluster_url(url):
        return RedisCluster.from_url(
            url.replace("+cluster://", "://", 1),
            retry=Retry(ConstantBackoff(0.25), retries=3),
            **options,
        )
    return redis.Redis.from_url(url, retry=Retry(ConstantBackoff(0.05), retries=1), **options)


def redis_client(url: str) -> redis.Redis | RedisCluster:
    """Return this process's client for one Redis URL, creating it on first use.

    For a cluster URL that is a ``redis.cluster.RedisCluster``, which has the same commands.
    """
    with _lock:
        _forget_after_fork()
        client = _redis_clients.get(url)
        if client is None:
            client = _redis_clients[url] = _create_redis(url)
        return client


def get_redis(prefix: str) -> redis.Redis | RedisCluster:
    """Return the Redis client for keys starting with ``prefix``."""
    return redis_client(redis_url_for(prefix))


def database_url() -> str:
    """Return ``DATABASE_URL``, or a SQLite file in the data directory (made with the engine)."""
    if config.DATABASE_URL:
        return config.DATABASE_URL
    return "sqlite:///" + os.path.join(config.BATFRIEND_DATA_DIR, "batfriend.sqlite3")


def _create_engine(url: str) -> sqlalchemy.Engine:
    """Create an engine with pool settings that suit forked, long-lived uWSGI workers.

    Every wait is bounded so that a dead or hung SQL server is a 503 within
    ``BATFRIEND_SQL_TIMEOUT`` in total. The longest way through a call is four
    waits: a pooled connection, its pre-ping, a reconnect when the ping failed, the
    statement. Each gets a quarter of the budget. MySQL/MariaDB also: utf8mb4 on
    the connection (any unicode body round-trips, emoji included); pre-ping, so a
    connection the server or a proxy dropped is replaced instead of failing a
    request; recycling after 280 s, under the usual 300 s idle cut of proxies and
    load balancers. SQLite waits for a lock instead of the network. Pools are per
    process (see ``_forget_after_fork``).
    Every engine hides statement parameters (message bodies) from its errors and logs.
    """
    parsed = sqlalchemy.make_url(url)
    backend = parsed.get_backend_name()
    wait = config.BATFRIEND_SQL_TIMEOUT / 4
    if backend == "sqlite":
        return sqlalchemy.create_engine(
            parsed, hide_parameters=True, pool_timeout=wait, connect_args={"timeout": 3 * wait}
        )
    if backend in ("mysql", "mariadb"):
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
        return sqlalchemy.create_engine(
            parsed,
            hide_parameters=True,
            pool_pre_ping=True,
            pool_recycle=280,
            pool_timeout=wait,
            connect_args={"connect_timeout": wait, "read_timeout": wait, "write_timeout": wait},
        )
    return sqlalchemy.create_engine(
        parsed, hide_parameters=True, pool_pre_ping=True, pool_recycle=280, pool_timeout=wait
    )


def get_engine() -> sqlalchemy.Engine:
    """Return this process's SQLAlchemy engine for ``DATABASE_URL``."""
    url = database_url()
    with _lock:
        _forget_after_fork()
        engine = _engines.get(url)
        if engine is None:
            if not config.DATABASE_URL:
                os.makedirs(config.BATFRIEND_DATA_DIR, exist_ok=True)
            engine = _engines[url] = _create_engine(url)
        return engine


def reset() -> None:
    """Close and forget every handle, so the next call reads the configuration again."""
    global _default_redis_url
    with _lock:
        _default_redis_url = None
        for client in _redis_clients.values():
            client.close()
        _redis_clients.clear()
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
