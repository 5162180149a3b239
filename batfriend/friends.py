"""``Friends``: one agent's friends and pending requests, and its ``FriendsSnapshot``.

Each agent keeps its own copy of each link (friends, requests in and out) in its
own bucket, in the ``msg:`` family beside its inbox: a send checks the sender's
copy when it is reserved and the recipient's copy when it is delivered, each in
one Lua call on one slot. A change is two single-slot steps: the acting agent's
side changes and queues a repair item in one call, then the other side follows;
the item re-applies the second step if a crash cut it off. Every change carries
a stamp, so the two sides converge on the latest one.
"""

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import msgpack
from redis import Redis

from batfriend.agency import Agency
from batfriend.databases import get_redis
from batfriend.errors import BadRequest, Conflict, NotFound, TooManyRequests
from batfriend.keys import FRIENDS_REPAIR, MsgKeys, WorkKeys, bucket_of
from batfriend.scripts import get_script
from batfriend.worklist import Worklist

# Bounds on what one agent's lists hold, so /friends/list (unpaged) stays bounded too.
MAX_FRIENDS = 5000
MAX_PENDING_REQUESTS = 1000
# Seconds until a change's repair item falls due: its second step normally runs at once and
# completes the item; the watcher runs it only when the changing process died in between.
REPAIR_DELAY = 30


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
    """The friends of one agent; a change goes to its side, then to the other agent's.

    At most ``max_friends`` friends on either side of a friendship (the other side's
    count is read just before the change, so agents accepting at the very same moment
    may pass it by their number), and at most ``max_requests`` of the agent's own
    requests pending.
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
        self._change = get_script(self._redis, "friends_change")
        self._repairs = Worklist(FRIENDS_REPAIR, bucket=bucket_of(username))

    def _change_both(self, other: str, mode: str, now: float | None) -> str:
        """Change our side, then ``other``'s, then drop the repair item; return the outcome."""
        when = time.time() if now is None else now
        me = self._username
        bucket = bucket_of(me)
        theirs_count = self._redis.zcard(MsgKeys.friends(other)) if mode != "remove" else 0
        outcome, item_id, theirs, change = self._change(
            keys=[
                *side_keys(me),
                WorkKeys.due(FRIENDS_REPAIR, bucket),
                WorkKeys.payloads(FRIENDS_REPAIR, bucket),
            ],
            args=[
                *(me, other, repr(when), mode, stamp(when), REPAIR_DELAY),
                *(self._max_friends, self._max_requests, theirs_count),
            ],
        )
        if item_id:
            apply_side(other, me, change.decode(), theirs.decode(), when)
            self._repairs.complete([item_id.decode()])
        status = outcome.decode()
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
        return self._change_both(other, "request", now)

    def accept(self, other: str, now: float | None = None) -> None:
        """Accept ``other``'s pending request; raise NotFound when there is none."""
        if self._change_both(other, "accept", now) == "none":
            raise NotFound(f"no pending friend request from {other!r}")

    def remove(self, other: str, now: float | None = None) -> None:
        """End a friendship with ``other``, or withdraw or decline a request, on both sides."""
        self._change_both(other, "remove", now)

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


def side_keys(username: str) -> list[str]:
    """One agent's side of its links: friends, requests in and out, and their stamps."""
    return [
        MsgKeys.friends(username),
        MsgKeys.requests_in(username),
        MsgKeys.requests_out(username),
        MsgKeys.pairs(username),
    ]


def stamp(now: float) -> int:
    """A change's stamp: milliseconds, then three random digits to tell apart one millisecond."""
    return int(now * 1000) * 1000 + secrets.randbelow(1000)


def apply_side(owner: str, other: str, change: str, state: str, at: float) -> str:
    """Bring ``owner``'s side of its link with ``other`` to ``state`` unless it saw a later change.

    Returns "applied" or "stale".
    """
    client = get_redis(MsgKeys.PREFIX)
    outcome = get_script(client, "friends_side")(
        keys=side_keys(owner), args=[other, change, state, repr(at)]
    )
    return outcome.decode()


def repair_link(payload: str) -> None:
    """The friends repair worklist's handler: apply a change's second step (idempotent)."""
    owner, other, change, state, at = json.loads(payload)
    apply_side(owner, other, change, state, float(at))
