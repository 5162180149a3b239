"""``Agency``: the collection of every agent, for look-ups in batches."""

from redis import Redis

from batfriend.agent import SNAPSHOT_FIELDS, AgentSnapshot, snapshot_from_fields
from batfriend.databases import get_redis
from batfriend.keys import AgentKeys, bucket_of


class Agency:
    """Every registered agent."""

    def __init__(self) -> None:
        self._redis: Redis = get_redis(AgentKeys.PREFIX)

    def exists(self, username: str) -> bool:
        """Return whether an agent named ``username`` is registered."""
        return self._redis.zscore(AgentKeys.index(bucket_of(username)), username) is not None

    def view_many(self, usernames: list[str]) -> dict[str, AgentSnapshot]:
        """Return the snapshots of the agents that exist among ``usernames``, in one round trip."""
        pipeline = self._redis.pipeline(transaction=False)
        for username in usernames:
            pipeline.hmget(AgentKeys.agent(username), SNAPSHOT_FIELDS)
        snapshots = (snapshot_from_fields(fields) for fields in pipeline.execute())
        return {s.username: s for s in snapshots if s is not None}
