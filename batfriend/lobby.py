"""``Lobby``: a room with members, their presence and a history whose recent part is in Redis.

Presence is membership: the members ZSET is scored by when each was last seen.
Redis keeps the most recent ``history_cap`` messages; a post past the cap flags
the lobby for the archiver, which removes messages only once SQL has them.
"""

import functools
import json
import operator
import time
from dataclasses import dataclass
from typing import Any

import msgpack
from redis import Redis
from redis.client import Pipeline
from redis.commands.core import Script

from batfriend.archive.boundary import (
    forget_batch,
    load_batch,
    merge_page,
    next_before,
    reaches_archive,
    watermark,
)
from batfriend.archive.store import Archive
from batfriend.databases import get_redis
from batfriend.errors import Forbidden, NotFound
from batfriend.keys import BUCKETS, LobbyKeys, bucket_of
from batfriend.message import Message, load_page, message_millisecond, newest_first_bound
from batfriend.messages import Messages
from batfriend.scripts import get_script, run_pipeline

HISTORY_CAP = 1000
ONLINE_WINDOW = 60.0
# A member unseen for this long is dropped by the sweep (``prune_idle_members``).
MEMBER_IDLE = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class LobbySnapshot:
    """A lobby at one moment: member count, who was seen lately, messages ever posted."""

    lobby: str
    members: int
    online: tuple[str, ...]
    messages: int

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a plain dict (the API's shape)."""
        return {
            "lobby": self.lobby,
            "members": self.members,
            "online": list(self.online),
            "messages": self.messages,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LobbySnapshot":
        """Build from a plain dict, checking each field's type."""
        lobby, members, online, messages = (
            data["lobby"],
            data["members"],
            data["online"],
            data["messages"],
        )
        if type(lobby) is not str or not all(type(name) is str for name in online):
            raise TypeError("LobbySnapshot needs a str lobby and str usernames online")
        if type(members) is not int or type(messages) is not int:
            raise TypeError("LobbySnapshot needs int members and messages")
        return cls(lobby, members, tuple(online), messages)

    def dump_json(self) -> str:
        """Serialise as a JSON object (the API's shape)."""
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def load_json(cls, text: str) -> "LobbySnapshot":
        """Parse what ``dump_json`` wrote."""
        return cls.from_dict(json.loads(text))

    def dump_msgpack(self) -> bytes:
        """Serialise as msgpack."""
        return msgpack.packb(self.to_dict())

    @classmethod
    def load_msgpack(cls, data: bytes) -> "LobbySnapshot":
        """Parse what ``dump_msgpack`` wrote."""
        return cls.from_dict(msgpack.unpackb(data))


class Lobby:
    """One lobby; members' requests to it refresh their presence.

    ``send_limit``: posts and messages a member may send a minute (default: config).
    """

    def __init__(
        self,
        name: str,
        history_cap: int = HISTORY_CAP,
        online_window: float = ONLINE_WINDOW,
        send_limit: int | None = None,
    ) -> None:
        if type(name) is not str:
            raise TypeError("name must be a str")
        if history_cap < 1 or online_window <= 0:
            raise ValueError("a lobby needs history_cap >= 1 and a positive online_window")
        self._redis: Redis = get_redis(LobbyKeys.PREFIX)
        self._name = name
        self._history_cap = history_cap
        self._online_window = online_window
        self._send_limit = send_limit
        self._post = get_script(self._redis, "lobby_post")
        self._history = get_script(self._redis, "lobby_history")
        self._leave = get_script(self._redis, "lobby_leave")
        self._archive = Archive()

    def _missing(self) -> NotFound:
        return NotFound(f"no lobby named {self._name!r}; join it to create it")

    def _queue_snapshot(self, pipeline: Pipeline, now: float) -> None:
        """Queue the three reads ``_snapshot`` turns into a LobbySnapshot."""
        pipeline.zcard(LobbyKeys.members(self._name))
        pipeline.zrevrangebyscore(
            LobbyKeys.members(self._name), "+inf", repr(now - self._online_window)
        )
        pipeline.hget(LobbyKeys.info(self._name), "posted")

    def _snapshot(self, members: int, online: list[bytes], posted: bytes | None) -> LobbySnapshot:
        return LobbySnapshot(
            self._name, members, tuple(name.decode() for name in online), int(posted or 0)
        )

    def join(self, username: str, now: float | None = None) -> LobbySnapshot:
        """Add ``username`` to the lobby (creating it on first join); return its snapshot."""
        when = time.time() if now is None else now
        pipeline = self._redis.pipeline(transaction=True)
        pipeline.hsetnx(LobbyKeys.info(self._name), "created_at", repr(when))
        pipeline.zadd(LobbyKeys.members(self._name), {username: when}, gt=True)
        self._queue_snapshot(pipeline, when)
        return self._snapshot(*pipeline.execute()[2:])

    def leave(self, username: str) -> None:
        """Remove ``username`` from the lobby; leaving a lobby one is not in changes nothing.

        The last member out removes the lobby itself unless it has a history.
        """
        self._leave(
            keys=[
                LobbyKeys.info(self._name),
                LobbyKeys.members(self._name),
                LobbyKeys.history(self._name),
            ],
            args=[username],
        )

    def post(self, username: str, body: str, now: float | None = None) -> Message:
        """Post ``body`` as ``username`` in one atomic step; members only.

        The post is first counted in the poster's send limit, shared with messages.
        """
        when = time.time() if now is None else now
        message = Message.compose(username, body, when, lobby=self._name)
        Messages(username, self._send_limit).count_send(message.id, when)
        outcome = self._post(
            keys=[
                LobbyKeys.info(self._name),
                LobbyKeys.members(self._name),
                LobbyKeys.history(self._name),
                LobbyKeys.bodies(self._name),
                LobbyKeys.overflowing(bucket_of(self._name)),
            ],
            args=[
                username,
                message.id,
                message.dump_stored(),
                repr(when),
                self._history_cap,
                self._name,
            ],
        )
        if outcome == -1:
            raise self._missing()
        if outcome == 0:
            raise Forbidden(f"only members may post in {self._name!r}; join it first")
        return message

    def history(
        self, username: str, before: str | None = None, limit: int = 50, now: float | None = None
    ) -> tuple[list[Message], str | None]:
        """Return up to ``limit`` messages older than cursor ``before``, newest first; members only.

        Returns ``(messages, next_before)`` in one round trip while Redis holds the
        page; a page reaching archived messages also reads SQL.
        """
        when = time.time() if now is None else now
        outcome, *found = self._history(
            keys=[
                LobbyKeys.info(self._name),
                LobbyKeys.members(self._name),
                LobbyKeys.history(self._name),
                LobbyKeys.bodies(self._name),
            ],
            args=[username, repr(when), newest_first_bound(before), limit],
        )
        if outcome == -1:
            raise self._missing()
        if outcome == 0:
            raise Forbidden(f"only members may read {self._name!r}; join it first")
        fetched, blobs, newest_archived = found
        recent = load_page(blobs)
        newest = watermark(newest_archived)
        if not reaches_archive(fetched, limit, newest):
            return recent, next_before(fetched, limit, newest)
        archived = self._archive.lobby_page(self._name, before, limit + 1)
        return merge_page(fetched, recent, archived, limit)

    def view(self, viewer: str, now: float | None = None) -> LobbySnapshot:
        """Return the lobby's snapshot, refreshing ``viewer``'s presence if a member."""
        when = time.time() if now is None else now
        pipeline = self._redis.pipeline(transaction=True)
        pipeline.exists(LobbyKeys.info(self._name))
        pipeline.zadd(LobbyKeys.members(self._name), {viewer: when}, xx=True, gt=True)
        self._queue_snapshot(pipeline, when)
        exists, _, *snapshot = pipeline.execute()
        if not exists:
            raise self._missing()
        return self._snapshot(*snapshot)

    @classmethod
    def archivable(cls, history_cap: int, limit: int, lobbies: int = 100) -> list[Message]:
        """Return up to ``limit`` of the oldest messages past ``history_cap``, lobby by lobby.

        For the archiver: three waves, whatever the number of lobbies (the first reads
        every bucket's flags; one wave is a round trip per Redis or cluster node). A
        flagged lobby back within its cap is unflagged on the way.
        """
        redis = get_redis(LobbyKeys.PREFIX)

        def flagged(pipeline: Pipeline) -> None:
            for bucket in range(BUCKETS):
                pipeline.zrange(LobbyKeys.overflowing(bucket), 0, lobbies - 1)

        names = [name.decode() for names in run_pipeline(redis, flagged) for name in names]
        names = names[:lobbies]
        if not names:
            return []

        def histories(pipeline: Pipeline) -> None:
            for name in names:
                pipeline.zcard(LobbyKeys.history(name))
                pipeline.zrange(LobbyKeys.history(name), 0, limit - 1)

        replies = run_pipeline(redis, histories)
        candidates = [
            ids[: max(0, count - history_cap)]
            for count, ids in zip(replies[::2], replies[1::2], strict=True)
        ]
        forget = get_script(redis, "lobby_forget")
        sources = [
            (LobbyKeys.bodies(name), functools.partial(_queue_forget, forget, history_cap, name))
            for name in names
        ]
        return load_batch(redis, sources, candidates, limit)

    @classmethod
    def forget(cls, messages: list[Message], history_cap: int) -> int:
        """Remove messages SQL has committed from their lobbies in one round trip; count them."""
        redis = get_redis(LobbyKeys.PREFIX)
        forget = get_script(redis, "lobby_forget")
        queue_forget = functools.partial(_queue_forget, forget, history_cap)
        return forget_batch(redis, messages, operator.attrgetter("lobby"), queue_forget)


def _queue_forget(
    forget: Script, history_cap: int, name: str, pipeline: Pipeline, ids: list[str]
) -> None:
    """Queue the removal of archived ``ids`` (and unflagging lobby ``name`` once within its cap)."""
    newest = max(map(message_millisecond, ids), default=0)
    forget(
        keys=[
            LobbyKeys.info(name),
            LobbyKeys.history(name),
            LobbyKeys.bodies(name),
            LobbyKeys.overflowing(bucket_of(name)),
        ],
        args=[name, history_cap, newest, *ids],
        client=pipeline,
    )


def prune_idle_members(keys: list[str], now: float | None = None, idle: float = MEMBER_IDLE) -> int:
    """Sweep repairer: drop members unseen for ``idle`` seconds from the lobbies among ``keys``.

    Presence is membership (the members ZSET is scored by last seen), so an idle
    member leaves the lobby and joins again to come back. Only members keys are pruned:
    the others (info, history, the archiver's ``lobby:_overflowing:<tag>``, also scored by
    time) are left alone. Returns how many were dropped.
    """
    members = [key for key in keys if key.endswith(LobbyKeys.MEMBERS_SUFFIX)]
    if not members:
        return 0
    cutoff = (time.time() if now is None else now) - idle
    pipeline = get_redis(LobbyKeys.PREFIX).pipeline(transaction=False)
    for key in members:
        pipeline.zremrangebyscore(key, "-inf", f"({cutoff!r}")
    return sum(pipeline.execute())
