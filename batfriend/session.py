"""``Session``: a request's login session, checked in the round trip of the operation it allows.

This process remembers whom each session key it saw live was issued to: a token never
changes owner, so that spares only the wait for the name. Whether the session still
lives is read from Redis on every request, in the operation's own round trip, so a
logout or an expiry fails the very next request in every process.
"""

from collections.abc import Callable
from typing import Any

from redis import Redis
from redis.client import Pipeline

from batfriend.errors import SESSION_GONE, Unauthorized
from batfriend.scripts import is_cluster, run_pipeline

_REMEMBERED_LIMIT = 10_000
_issued_to: dict[str, str] = {}


def remember(key: str, username: str) -> str:
    """Note that session ``key`` was issued to ``username`` (seen live); return the name."""
    if len(_issued_to) >= _REMEMBERED_LIMIT:
        _issued_to.clear()
    _issued_to[key] = username
    return username


def remembered(key: str) -> str | None:
    """Return whom session ``key`` was issued to, if this process saw it live before."""
    return _issued_to.get(key)


def forget(key: str) -> None:
    """Drop session ``key`` (logged out or found dead)."""
    _issued_to.pop(key, None)


class Session:
    """A request's session: the agent its token was issued to, and whether Redis confirmed it."""

    def __init__(self, redis: Redis, key: str, username: str, confirmed: bool) -> None:
        self.username = username
        self._redis = redis
        self._key = key
        self._confirmed = confirmed

    def along(self, client: Redis, read: Callable[[Pipeline], None]) -> list[Any]:
        """Return the replies to the reads ``read`` queues on ``client``, once the session is live.

        Not confirmed yet and sessions on ``client``'s Redis: the session's GET goes in the
        same round trip, and a dead session raises Unauthorized with the replies unused.
        ``read`` runs before the answer says whether the session lives: it may only read, or
        count what its caller counts before the check anyway (discovery's quota).
        """
        if not self._confirmed and client is not self._redis:
            self._confirm(self._redis.get(self._key))
        if self._confirmed:
            return run_pipeline(client, read)

        def queue(pipeline: Pipeline) -> None:
            pipeline.get(self._key)
            read(pipeline)

        live, *replies = run_pipeline(client, queue)
        self._confirm(live)
        return replies

    def guard(self, client: Redis) -> str | None:
        """Return the session key a write's script on ``client`` must find live, checking it
        in the write's own round trip; None when the session is confirmed (checked first when
        sessions live on another Redis, or on a cluster, where the key is in another slot)."""
        if not self._confirmed and (client is not self._redis or is_cluster(client)):
            self._confirm(self._redis.get(self._key))
        return None if self._confirmed else self._key

    def _confirm(self, live: bytes | None) -> None:
        if live is None or live.decode() != self.username:
            forget(self._key)
            raise Unauthorized(SESSION_GONE)
        self._confirmed = True


def read_along(session: Session | None, client: Redis, read: Callable[[Pipeline], None]) -> list:
    """Return the replies of ``read``'s commands in one round trip, with ``session``'s check."""
    return run_pipeline(client, read) if session is None else session.along(client, read)
