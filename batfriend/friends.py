"""``Friends``: one agent's friends and pending requests, and its ``FriendsSnapshot``.

Friend lists live in the ``msg:`` key family, beside the inboxes, because every
send checks the friendship in the same Lua call that delivers the message (one
round trip, and no message slips in after an unfriending). A shard map moves
friends and inboxes together.
"""

import json
import time
from dataclasses import dataclass
from typing import Any

import msgpack
from redis import Redis

from batfriend.agency import Agency
from batfriend.databases import get_redis
from batfriend.errors import BadRequest, Conflict, NotFound, TooManyRequests
from batfriend.keys import MsgKeys
from batfriend.scripts import get_script

# Bounds on what one agent's lists hold, so /friends/list (unpaged) stays bounded too.
MAX_FRIENDS = 5000
MAX_PENDING_REQUESTS = 1000


@dataclass(frozen=True, slots=True)
class FriendsSnapshot:
    """An agent's friends with the time each friendship began, and its pending requests."""

    friends: tuple[tuple[str, float], ...]
    incoming: tuple[str, ...]
    outgoing: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the API's shape: ``{friends: [{username, since}], incoming, outgoing}``."""
        return {
            "friends": [{"username": name, "since": since} for name, since in self.friends],
            "incoming": list(self.incoming),
            "outgoing": list(self.outgoing),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FriendsSnapshot":
        """Build from what ``to_dict`` returns, checking each field's type."""
        friends = tuple((f["username"], f["since"]) for f in data["friends"])
        incoming, outgoing = tuple(data["incoming"]), tuple(data["outgoing"])
        names = [name for name, _ in friends] + list(incoming) + list(outgoing)
        if not all(type(name) is str for name in names):
            raise TypeError("FriendsSnapshot needs str usernames")
        if not all(type(since) in (int, float) for _, since in friends):
            raise TypeError("FriendsSnapshot needs numeric since times")
        return cls(tuple((n, float(s)) for n, s in friends), incoming, outgoing)

    def dump_json(self) -> str:
        """Serialise as a JSON object (the API's shape)."""
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def load_json(cls, text: str) -> "FriendsSnapshot":
        """Parse what ``dump_json`` wrote."""
        return cls.from_dict(json.loads(text))

    def dump_msgpack(self) -> bytes:
        """Serialise as msgpack."""
        return msgpack.packb(self.to_dict())

    @classmethod
    def load_msgpack(cls, data: bytes) -> "FriendsSnapshot":
        """Parse what ``dump_msgpack`` wrote."""
        return cls.from_dict(msgpack.unpackb(data))


class Friends:
    """The friends of one agent; requests and friendships always change on both sides at once.

    At most ``max_friends`` friends on either side of a friendship, and at most
    ``max_requests`` of the agent's own requests pending.
    """

    def __init__(
        self,
        username: str,
        max_friends: int = MAX_FRIENDS,
        max_requests: int = MAX_PENDING_REQUESTS,
    ) -> None:
        if type(username) is not str:
            raise TypeError("username must be a str")
        self._redis: Redis = get_redis(MsgKeys.PREFIX)
        self._username = username
        self._max_friends = max_friends
        self._max_requests = max_requests
        self._accept = get_script(self._redis, "friends_accept")

    def _both_sides(self, other: str) -> list[str]:
        """Return the six keys ``friends_accept.lua`` takes: ours, then the other agent's."""
        return [
            key
            for name in (self._username, other)
            for key in (
                MsgKeys.friends(name),
                MsgKeys.requests_in(name),
                MsgKeys.requests_out(name),
            )
        ]

    def _run_accept(self, other: str, mode: str, now: float | None) -> str:
        when = time.time() if now is None else now
        status = self._accept(
            keys=self._both_sides(other),
            args=[self._username, other, repr(when), mode, self._max_friends, self._max_requests],
        ).decode()
        if status == "friend_limit":
            raise Conflict(f"you or {other!r} already have the most friends allowed")
        if status == "request_limit":
            raise TooManyRequests(
                f"at most {self._max_requests} friend requests may wait for an answer;"
                " withdraw some first",
                retry_after=60,
            )
        return status

    def request(self, other: str, now: float | None = None) -> str:
        """Ask ``other`` to be friends: "friends" if they had asked first, else "requested"."""
        if other == self._username:
            raise BadRequest("you cannot befriend yourself; name another agent", field="username")
        if not Agency().exists(other):
            raise NotFound(f"no agent named {other!r}")
        return self._run_accept(other, "request", now)

    def accept(self, other: str, now: float | None = None) -> None:
        """Accept ``other``'s pending request; raise NotFound when there is none."""
        if self._run_accept(other, "accept", now) == "none":
            raise NotFound(f"no pending friend request from {other!r}")

    def remove(self, other: str) -> None:
        """End a friendship with ``other``, or withdraw or decline a request, on both sides."""
        pipeline = self._redis.pipeline(transaction=True)
        me = self._username
        for owner, name in ((me, other), (other, me)):
            pipeline.zrem(MsgKeys.friends(owner), name)
            pipeline.zrem(MsgKeys.requests_in(owner), name)
            pipeline.zrem(MsgKeys.requests_out(owner), name)
        pipeline.execute()

    def view(self) -> FriendsSnapshot:
        """Return friends (oldest friendship first) and pending requests, in one round trip."""
        pipeline = self._redis.pipeline(transaction=False)
        pipeline.zrange(MsgKeys.friends(self._username), 0, -1, withscores=True)
        pipeline.zrange(MsgKeys.requests_in(self._username), 0, -1)
        pipeline.zrange(MsgKeys.requests_out(self._username), 0, -1)
        friends, incoming, outgoing = pipeline.execute()
        return FriendsSnapshot(
            tuple((name.decode(), since) for name, since in friends),
            tuple(name.decode() for name in incoming),
            tuple(name.decode() for name in outgoing),
        )
