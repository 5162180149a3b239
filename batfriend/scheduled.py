"""``ScheduledMessages``: messages sent with a future ``deliver_at``, waiting for it.

A waiting message's record and its delivery item live in its sender's bucket
(one slot on a cluster), written by the send's one Lua call (messages_reserve.lua;
``msg:`` and ``work:delivery:`` must share a Redis); the sweep re-queues a record
whose item went missing all the same. A postponement moves the item first
(refused once claimed); an expedition changes the record first.
"""

import dataclasses
import json
import logging
import time

from redis import Redis
from redis.client import Pipeline

from batfriend.databases import get_redis
from batfriend.errors import NotFound
from batfriend.keys import DELIVERY, MsgKeys, WorkKeys, bucket_of
from batfriend.message import Message
from batfriend.scripts import get_script, run_pipeline
from batfriend.worklist import Worklist

logger = logging.getLogger(__name__)


def delivery_payload(message: Message) -> str:
    """Return the delivery worklist payload of ``message``: id, recipient and sender, as JSON."""
    return json.dumps([message.id, message.to, message.sender])


def read_delivery_payload(payload: str) -> tuple[str, str, str]:
    """Return ``(message id, recipient, sender)`` from a delivery payload; ValueError if not."""
    fields = json.loads(payload)
    if type(fields) is not list or len(fields) != 3 or not all(type(f) is str for f in fields):
        raise ValueError(f"a delivery payload is [message id, recipient, sender], not {payload!r}")
    return fields[0], fields[1], fields[2]


def waiting_keys(sender: str, message_id: str) -> list[str]:
    """The keys a scheduled send writes besides the send log: record, item's due and payload."""
    bucket = bucket_of(sender)
    return [
        MsgKeys.scheduled(sender, message_id),
        WorkKeys.due(DELIVERY, bucket),
        WorkKeys.payloads(DELIVERY, bucket),
    ]


class ScheduledMessages:
    """Every message waiting for its ``deliver_at``, and the delivery worklist that wakes it."""

    def __init__(self) -> None:
        self._redis: Redis = get_redis(MsgKeys.PREFIX)
        self._replace = get_script(self._redis, "scheduled_replace")

    @staticmethod
    def _worklist(sender: str) -> Worklist:
        """The bucket of the delivery worklist that holds ``sender``'s waiting messages."""
        return Worklist(DELIVERY, bucket=bucket_of(sender))

    @staticmethod
    def _item(message: Message) -> tuple[str, str, float]:
        """Return the delivery worklist item of ``message``."""
        return message.id, delivery_payload(message), message.deliver_at

    def reschedule(
        self, sender: str, message_id: str, deliver_at: float, now: float | None = None
    ) -> Message:
        """Deliver a waiting message at ``deliver_at`` instead (a past time: at the next tick).

        Only its sender may, and only while it waits: otherwise NotFound, the same
        answer as for an unknown id, so ids reveal nothing. Returns the message as it
        now waits.
        """
        when = time.time() if now is None else now
        due = max(deliver_at, when)
        key = MsgKeys.scheduled(sender, message_id)
        missing = NotFound(f"no scheduled message {message_id!r} of yours is waiting")
        while True:
            blob = self._redis.get(key)
            if blob is None:
                raise missing
            message = Message.load_stored(blob)
            if message.sender != sender:
                raise missing
            moved = dataclasses.replace(message, deliver_at=due)
            if due > when:
                if not self._move(moved, when):
                    raise missing
                if self._replace(keys=[key], args=[blob, moved.dump_stored()]):
                    return moved
            elif self._replace(keys=[key], args=[blob, moved.dump_stored()]):
                self._move(moved, when)
                return moved

    def _move(self, message: Message, now: float) -> bool:
        """Make the item due at ``message.deliver_at``; False if it is claimed or dead-lettered."""
        worklist = self._worklist(message.sender or "")
        if message.deliver_at <= now:
            moved = worklist.expedite(message.id, now=now)
        else:
            moved = worklist.postpone(message.id, message.deliver_at)
        return moved or worklist.add(*self._item(message))

    def requeue(self, keys: list[str]) -> int:
        """Put the records ``keys`` back on the delivery worklist where their item is missing.

        Returns how many were missing; a record that cannot be read is logged and skipped.
        """

        def read(pipeline: Pipeline) -> None:
            for key in keys:
                pipeline.get(key)

        blobs = run_pipeline(self._redis, read) if keys else []
        by_sender: dict[str, list[tuple[str, str, float]]] = {}
        for key, blob in zip(keys, blobs, strict=True):
            if blob is not None:
                try:
                    message = Message.load_stored(blob)
                except (ValueError, TypeError, KeyError):
                    logger.exception("scheduled message record %s cannot be read", key)
                    continue
                by_sender.setdefault(message.sender or "", []).append(self._item(message))
        return sum(self._worklist(sender).add_many(items) for sender, items in by_sender.items())


def requeue_missing(keys: list[str]) -> None:
    """Sweep repairer: re-queue waiting messages whose delivery worklist item is missing."""
    requeued = ScheduledMessages().requeue(keys)
    if requeued:
        logger.warning("re-queued %d scheduled messages missing from the worklist", requeued)
