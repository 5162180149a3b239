"""``ScheduledMessages``: messages sent with a future ``deliver_at``, waiting for it.

No script touches both ``msg:`` and ``work:`` (they may live on different
Redis servers): the send's Lua call writes the record and the worklist item is
added beside it; the sweep re-queues a record whose item is missing. A
postponement moves the item first (refused once claimed); an expedition
changes the record first.
"""

import dataclasses
import json
import logging
import time

from redis import Redis
from redis.client import Pipeline
from redis.commands.core import Script

from batfriend.databases import get_redis
from batfriend.errors import NotFound
from batfriend.keys import MsgKeys
from batfriend.message import Message
from batfriend.scripts import get_script, run_pipeline
from batfriend.worklist import Worklist

DELIVERY = "delivery"

logger = logging.getLogger(__name__)


def delivery_payload(message: Message) -> str:
    """Return the delivery worklist payload of ``message``: its id and recipient, as JSON."""
    return json.dumps([message.id, message.to])


def read_delivery_payload(payload: str) -> tuple[str, str]:
    """Return ``(message id, recipient)`` from a delivery payload; ValueError if malformed."""
    fields = json.loads(payload)
    if type(fields) is not list or len(fields) != 2 or not all(type(f) is str for f in fields):
        raise ValueError(f"a delivery payload is [message id, recipient], not {payload!r}")
    return fields[0], fields[1]


class ScheduledMessages:
    """Every message waiting for its ``deliver_at``, and the delivery worklist that wakes it."""

    def __init__(self) -> None:
        self._redis: Redis = get_redis(MsgKeys.PREFIX)
        self._worklist = Worklist(DELIVERY)
        self._replace = get_script(self._redis, "scheduled_replace")

    def _item(self, message: Message) -> tuple[str, str, float]:
        """Return the delivery worklist item of ``message``."""
        return message.id, delivery_payload(message), message.deliver_at

    def hold(self, message: Message, send: Script, keys: list[str], args: list) -> list[int]:
        """Run the send script ``send`` so it stores ``message`` to wait; queue its delivery.

        ``keys`` and ``args`` are a send's (messages_deliver.lua); the record's key is
        added here. Returns the script's answer. One round trip when ``msg:`` and
        ``work:`` share a Redis; a refused send takes its worklist item back.
        """
        keys = [*keys[:6], MsgKeys.scheduled(message.id), *keys[6:]]  # before a session key
        item = [self._item(message)]
        if not self._worklist.uses(self._redis):
            outcome = send(keys=keys, args=args)
            if outcome[0] == 1:
                self._worklist.add_many(item)
            return outcome

        def queue(pipeline: Pipeline) -> None:
            send(keys=keys, args=args, client=pipeline)
            self._worklist.queue_add(pipeline, item)

        outcome = run_pipeline(self._redis, queue)[0]
        if outcome[0] != 1:
            self._worklist.complete([message.id])
        return outcome

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
        key = MsgKeys.scheduled(message_id)
        missing = NotFound(f"no scheduled message {message_id!r} of yours is waiting")
        while True:
            blob = self._redis.get(key)
            if blob is None:
                raise missing
            message = Message.load_msgpack(blob)
            if message.sender != sender:
                raise missing
            moved = dataclasses.replace(message, deliver_at=due)
            if due > when:
                if not self._move(moved, when):
                    raise missing
                if self._replace(keys=[key], args=[blob, moved.dump_msgpack()]):
                    return moved
            elif self._replace(keys=[key], args=[blob, moved.dump_msgpack()]):
                self._move(moved, when)
                return moved

    def _move(self, message: Message, now: float) -> bool:
        """Make the item due at ``message.deliver_at``; False if it is claimed or dead-lettered."""
        if message.deliver_at <= now:
            moved = self._worklist.expedite(message.id, now=now)
        else:
            moved = self._worklist.postpone(message.id, message.deliver_at)
        return moved or self._worklist.add(*self._item(message))

    def requeue(self, keys: list[str]) -> int:
        """Put the records ``keys`` back on the delivery worklist where their item is missing.

        Returns how many were missing; a record that cannot be read is logged and skipped.
        """
        items = []
        for key, blob in zip(keys, self._redis.mget(keys) if keys else [], strict=True):
            if blob is not None:
                try:
                    items.append(self._item(Message.load_msgpack(blob)))
                except (ValueError, TypeError, KeyError):
                    logger.exception("scheduled message record %s cannot be read", key)
        return self._worklist.add_many(items)


def requeue_missing(keys: list[str]) -> None:
    """Sweep repairer: re-queue waiting messages whose delivery worklist item is missing."""
    requeued = ScheduledMessages().requeue(keys)
    if requeued:
        logger.warning("re-queued %d scheduled messages missing from the worklist", requeued)
