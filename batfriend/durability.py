"""At start-up, say loudly when a Redis the app uses would lose everything in a crash.

Redis is batfriend's primary store. A Redis with no persistence (neither AOF
nor RDB save points) and no replica loses every account and message when its
node fails. ElastiCache refuses CONFIG; its snapshots are then unknown here,
and only AOF or a replica counts.
"""

import logging

import redis
from redis.cluster import RedisCluster

from batfriend.databases import redis_client, redis_urls
from batfriend.redaction import redact_url

logger = logging.getLogger(__name__)


def is_volatile(client: redis.Redis | RedisCluster) -> bool:
    """Return whether ``client``'s Redis has neither AOF, nor RDB save points, nor a replica.

    A cluster is volatile when any of its primaries is.
    """
    if isinstance(client, RedisCluster):
        return any(is_volatile(node.redis_connection) for node in client.get_primaries())
    if client.info("persistence").get("aof_enabled"):
        return False
    replication = client.info("replication")
    if replication.get("role") != "master" or replication.get("connected_slaves", 0) > 0:
        return False
    try:
        save = client.config_get("save").get("save", "")
    except redis.exceptions.ResponseError:  # CONFIG disabled (ElastiCache): snapshots unknown
        save = ""
    return not save.strip()


def warn_if_volatile() -> None:
    """Log a WARNING for each Redis in use that keeps data only in memory; never raise."""
    for url in redis_urls():
        try:
            volatile = is_volatile(redis_client(url))
        except redis.RedisError as error:
            logger.warning("could not check the durability of a Redis: %s", error)
            continue
        if volatile:
            logger.warning(
                "Redis at %s has no persistence (no AOF, no RDB save points) and no replica: "
                "a crash loses every account and message; see README, Durability",
                redact_url(url),
            )
