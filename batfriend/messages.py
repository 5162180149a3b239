"""``Messages``: one agent's inbox, paged newest first, with an exact unread count.

Delivering is idempotent by id; the unread count is the size of the unread set,
so it cannot drift; every way into an inbox (send, system message, scheduled
arrival, whose id may be older than what was archived) keeps the archiver's
index of inboxes up to date.
"""

import dataclasses
import functools
import math
import operator
import time
from typing import Any

import orjson
from redis import Redis
from redis.client import Pipeline
from redis.commands.core import Script

from batfriend import config
from batfriend.agency import Agency
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
from batfriend.errors import SESSION_GONE, Forbidden, NotFound, TooManyRequests, Unauthorized
from batfriend.keys import BUCKETS, MsgKeys, bucket_of
from batfriend.message import (
    Message,
    load_page,
    message_millisecond,
    message_time,
    newest_first_bound,
    page_json,
)
from batfriend.scheduled import delivery_payload, read_delivery_payload, waiting_keys
from batfriend.scripts import get_script, is_cluster, lazy_script, run_pipeline
from batfriend.session import Session, read_along

SEND_WINDOW = 60.0
# How long an outside id (an SQS message id) keeps naming the message it delivered:
# SQS keeps a message at most 14 days, so it cannot come back later than that.
ONCE_SECONDS = 14 * 24 * 3600.0


class Messages:
    """The inbox of ``owner``; ``send_limit`` sends per minute per sender (default: config)."""

    def __init__(self, owner: str, send_limit: int | None = None) -> None:
        if type(owner) is not str:
            raise TypeError("owner must be a str")
        self._redis: Redis = get_redis(MsgKeys.PREFIX)
        self._owner = owner
        limit = config.BATFRIEND_SEND_LIMIT_PER_MINUTE if send_limit is None else send_limit
        if limit < 1:
            raise ValueError("send_limit must be at least 1")
        self._send_limit = limit

    # Scripts and the archive are built on first use: a request needs one or two of them.
    _reserve = lazy_script("messages_reserve")
    _deliver = lazy_script("messages_deliver")
    _page = lazy_script("messages_page")
    _send_log_hit = lazy_script("send_log_hit")

    @functools.cached_property
    def _archive(self) -> Archive:
        return Archive()

    def _inbox_keys(self) -> list[str]:
        return [
            MsgKeys.inbox(self._owner),
            MsgKeys.bodies(self._owner),
            MsgKeys.unread(self._owner),
        ]

    def _delivery_keys(self) -> list[str]:
        """The keys of messages_deliver.lua: the inbox's, its bucket's index, its friends."""
        return [
            *self._inbox_keys(),
            MsgKeys.archive_due(bucket_of(self._owner)),
            MsgKeys.friends(self._owner),
        ]

    def send(
        self,
        sender: str,
        body: str,
        deliver_at: float | None = None,
        now: float | None = None,
        session: Session | None = None,
    ) -> Message:
        """Send ``body`` from ``sender`` to this inbox; friends only, within the send limit.

        Two single-slot steps: the send is reserved on the sender's side (its copy of the
        friendship, its send limit), then delivered on the recipient's (its copy), in one
        round trip on a single Redis (``_reserve_and_deliver``). A future
        ``deliver_at`` stores the message to wait instead, in the reserving step. With
        ``sender``'s ``session``, the reservation refuses (Unauthorized) if it no longer lives.
        """
        when = time.time() if now is None else now
        message = Message.compose(sender, body, when, to=self._owner, deliver_at=deliver_at)
        keys = [MsgKeys.friends(sender), MsgKeys.sent(sender)]
        args = [message.id, self._owner, repr(when), self._send_limit, repr(SEND_WINDOW), ""]
        if message.deliver_at > message.sent_at:
            keys += waiting_keys(sender, message.id)
            args += [message.dump_stored(), repr(message.deliver_at), delivery_payload(message)]
        session_key = None if session is None else session.guard(self._redis)
        if session_key is not None:
            keys.append(session_key)
            args[5] = sender
        if message.deliver_at > message.sent_at:
            outcome, retry_ms = self._reserve(keys=keys, args=args)
        else:
            outcome, retry_ms = self._reserve_and_deliver(message, keys, args)
        outcome = outcome.decode()
        if outcome == "session_gone":
            raise Unauthorized(SESSION_GONE)
        if outcome == "rate_limited":
            raise self._over_limit(retry_ms)
        if outcome == "not_friends":
            if not Agency().exists(self._owner):
                raise NotFound(f"no agent named {self._owner!r}")
            raise Forbidden(f"you can message only friends; ask {self._owner!r} to be friends")
        return message

    def _reserve_and_deliver(
        self, message: Message, keys: list[str], args: list[Any]
    ) -> tuple[bytes, int]:
        """Reserve the send (messages_reserve.lua), then deliver it if reserved; return the
        reservation's answer, or the delivery's in its place when the send was reserved.

        On a single Redis both go in one round trip: the delivery, queued behind the
        reservation, checks the sender's send log for the id, so it writes only if the
        reservation did. On a cluster the two sides' slots differ: the delivery waits.
        """
        delivery_keys = self._delivery_keys()
        delivery_args = [message.id, message.dump_stored(), self._owner, message.sender]
        if is_cluster(self._redis):
            reserved = self._reserve(keys=keys, args=args)
            delivered = None
        else:

            def queue(pipeline: Pipeline) -> None:
                self._reserve(keys=keys, args=args, client=pipeline)
                guarded = [*delivery_keys, MsgKeys.sent(message.sender)]
                self._deliver(keys=guarded, args=delivery_args, client=pipeline)

            reserved, delivered = run_pipeline(self._redis, queue)
        if reserved[0] != b"reserved":
            return reserved
        if delivered in (None, b"not_reserved"):  # a cluster, or the log was trimmed between
            delivered = self._deliver(keys=delivery_keys, args=delivery_args)
        return delivered, 0

    def _over_limit(self, retry_ms: int) -> TooManyRequests:
        return TooManyRequests(
            f"at most {self._send_limit} messages and lobby posts a minute;"
            " wait before sending more",
            retry_after=math.ceil(retry_ms / 1000),
        )

    def count_send(self, send_id: str, now: float) -> None:
        """Count a send of this agent's that is not a message (a lobby post) in its window.

        Messages and lobby posts share one limit; past it, TooManyRequests.
        """
        outcome, retry_ms = self._send_log_hit(
            keys=[MsgKeys.sent(self._owner)],
            args=[send_id, repr(now), self._send_limit, repr(SEND_WINDOW)],
        )
        if outcome == -2:
            raise self._over_limit(retry_ms)

    def deliver(self, message: Message) -> bool:
        """Put ``message`` in this inbox unless it is already there; return whether it was added."""
        if message.to != self._owner:
            raise ValueError(f"message {message.id} is not addressed to {self._owner!r}")
        outcome = self._deliver(
            keys=self._delivery_keys()[:4], args=[message.id, message.dump_stored(), self._owner]
        )
        return outcome == b"delivered"

    def deliver_scheduled(self, sender: str, message_id: str) -> bool:
        """Move ``sender``'s waiting message into this inbox, once, if the two are still friends.

        Three steps, each on one side: read the record (sender's bucket), deliver it
        (this inbox's bucket; idempotent by id), drop the record. A crash between them
        leaves the item leased, so it runs again; it changes nothing twice. Returns
        whether it was delivered now (False: not waiting any more, or not friends).
        """
        record = MsgKeys.scheduled(sender, message_id)
        blob = self._redis.get(record)
        if blob is None:
            return False
        outcome = self._deliver(
            keys=self._delivery_keys(), args=[message_id, blob, self._owner, sender]
        )
        self._redis.delete(record)
        return outcome == b"delivered"

    def deliver_system(self, body: str, once: str, now: float | None = None) -> Message:
        """Deliver ``body`` from the system (no sender), once per outside id ``once``.

        ``once`` (an SQS message id) is bound to the first id made for it, so running
        this again, even after a crash half-way, delivers that same message, once.
        """
        if not Agency().exists(self._owner):
            raise NotFound(f"no agent named {self._owner!r}")
        fresh = Message.compose(None, body, time.time() if now is None else now, to=self._owner)
        pipeline = self._redis.pipeline(transaction=True)
        pipeline.set(MsgKeys.once(once), fresh.id, nx=True, px=int(ONCE_SECONDS * 1000))
        pipeline.get(MsgKeys.once(once))
        bound = pipeline.execute()[1].decode()
        sent_at = message_time(bound)
        message = Message(bound, None, self._owner, None, body, sent_at, sent_at, False)
        self.deliver(message)
        return message

    def _queue_page(self, pipeline: Pipeline, before: str | None, limit: int) -> None:
        """Queue the page script's call (for ``page_json``) on ``pipeline``."""
        self._page(
            keys=[*self._inbox_keys(), MsgKeys.watermarks(bucket_of(self._owner))],
            args=[newest_first_bound(before), limit, self._owner],
            client=pipeline,
        )

    def _fetch_page(self, before: str | None, limit: int) -> list[Any]:
        """Run the page script: ``[unread, ids, blobs, unread flags, watermark]``."""
        return self._page(
            keys=[*self._inbox_keys(), MsgKeys.watermarks(bucket_of(self._owner))],
            args=[newest_first_bound(before), limit, self._owner],
        )

    def page(
        self, before: str | None = None, limit: int = 50
    ) -> tuple[list[Message], str | None, int]:
        """Return up to ``limit`` messages older than cursor ``before``, newest first.

        Returns ``(messages, next_before, unread)`` in one round trip while Redis
        holds the page; a page reaching archived messages also reads SQL and their
        unread flags. ``next_before`` is None on the last page.
        """
        unread, fetched, blobs, unread_flags, newest_archived = self._fetch_page(before, limit)
        recent = load_page(blobs, unread_flags)
        newest = watermark(newest_archived)
        if not reaches_archive(fetched, limit, newest):
            return recent, next_before(fetched, limit, newest), unread
        return self._with_archived(fetched, recent, before, limit, unread)

    def page_json(
        self, before: str | None = None, limit: int = 50, session: Session | None = None
    ) -> tuple[bytes, str | None, int]:
        """``page`` with the messages as the API's JSON array; a page Redis holds whole is
        framed from the stored bytes, never decoded (``message.page_json``).

        With ``session``, its check shares the page script's round trip (``Session.along``).
        """
        (reply,) = read_along(
            session, self._redis, lambda pipeline: self._queue_page(pipeline, before, limit)
        )
        unread, fetched, blobs, unread_flags, newest_archived = reply
        newest = watermark(newest_archived)
        if not reaches_archive(fetched, limit, newest):
            page = page_json(blobs, unread_flags)
            return page, next_before(fetched, limit, newest), unread
        recent = load_page(blobs, unread_flags)
        messages, cursor, unread = self._with_archived(fetched, recent, before, limit, unread)
        return orjson.dumps([m.to_dict() for m in messages]), cursor, unread

    def _with_archived(
        self,
        fetched: list[bytes],
        recent: list[Message],
        before: str | None,
        limit: int,
        unread: int,
    ) -> tuple[list[Message], str | None, int]:
        """Complete a page that reaches past Redis with SQL's messages and their unread flags."""
        archived = self._archive.inbox_page(self._owner, before, limit + 1)
        if archived:
            flags = self._redis.smismember(MsgKeys.unread(self._owner), [m.id for m in archived])
            archived = [
                dataclasses.replace(m, read=not f) for m, f in zip(archived, flags, strict=True)
            ]
        page, cursor = merge_page(fetched, recent, archived, limit)
        return page, cursor, unread

    def unread(self) -> int:
        """Return how many messages in this inbox are unread."""
        return self._redis.scard(MsgKeys.unread(self._owner))

    def mark_read(self, ids: list[str]) -> int:
        """Mark messages read (ids not in this inbox are ignored); return the unread count."""
        pipeline = self._redis.pipeline(transaction=True)
        if ids:
            pipeline.srem(MsgKeys.unread(self._owner), *ids)
        pipeline.scard(MsgKeys.unread(self._owner))
        return pipeline.execute()[-1]

    @classmethod
    def oldest_unarchived_at(cls) -> float | None:
        """Return when the oldest message still in any inbox was sent (None: all empty)."""

        def read(pipeline: Pipeline) -> None:
            for bucket in range(BUCKETS):
                pipeline.zrange(MsgKeys.archive_due(bucket), 0, 0, withscores=True)

        oldest = [first[0][1] for first in run_pipeline(get_redis(MsgKeys.PREFIX), read) if first]
        return min(oldest) / 1000 if oldest else None

    @classmethod
    def archivable(cls, before: float, limit: int, inboxes: int = 100) -> list[Message]:
        """Return up to ``limit`` messages sent before ``before``, from the inboxes due first.

        For the archiver: three waves, whatever the number of inboxes (the first reads
        every bucket's index; a wave is one round trip per Redis or cluster node). An
        inbox the index holds for nothing older is re-scored on the way.
        """
        redis = get_redis(MsgKeys.PREFIX)
        cutoff = math.ceil(before * 1000)

        def indexes(pipeline: Pipeline) -> None:
            for bucket in range(BUCKETS):
                due = MsgKeys.archive_due(bucket)
                pipeline.zrangebyscore(due, "-inf", f"({cutoff}", 0, inboxes, withscores=True)

        due = sorted(
            (score, owner.decode())
            for found in run_pipeline(redis, indexes)
            for owner, score in found
        )
        owners = [owner for _, owner in due[:inboxes]]
        if not owners:
            return []

        def inboxes_before(pipeline: Pipeline) -> None:
            for owner in owners:
                pipeline.zrangebylex(MsgKeys.inbox(owner), "-", f"({cutoff:013d}", 0, limit)

        candidates = run_pipeline(redis, inboxes_before)
        forget = get_script(redis, "messages_forget")
        sources = [
            (MsgKeys.bodies(owner), functools.partial(_queue_forget, forget, owner))
            for owner in owners
        ]
        return load_batch(redis, sources, candidates, limit)

    @classmethod
    def forget(cls, messages: list[Message]) -> int:
        """Remove messages SQL has committed from their inboxes in one round trip; count them."""
        redis = get_redis(MsgKeys.PREFIX)
        queue_forget = functools.partial(_queue_forget, get_script(redis, "messages_forget"))
        return forget_batch(redis, messages, operator.attrgetter("to"), queue_forget)


def _queue_forget(forget: Script, owner: str, pipeline: Pipeline, ids: list[str]) -> None:
    """Queue the removal of archived ``ids`` (and a re-score of ``owner``'s inbox in the index)."""
    newest = max(map(message_millisecond, ids), default=0)
    forget(
        keys=[
            MsgKeys.inbox(owner),
            MsgKeys.bodies(owner),
            MsgKeys.archive_due(bucket_of(owner)),
            MsgKeys.watermarks(bucket_of(owner)),
        ],
        args=[owner, newest, *ids],
        client=pipeline,
    )


def deliver_due(payload: str) -> None:
    """The delivery worklist's handler: deliver the scheduled message ``payload`` names, once."""
    message_id, recipient, sender = read_delivery_payload(payload)
    Messages(recipient).deliver_scheduled(sender, message_id)
