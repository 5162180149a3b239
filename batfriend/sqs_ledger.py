"""``SqsLedger``: runs the effect of each SQS message once, keyed by its ``X-Aws-Sqsd-Msgid``.

A mark per id: absent, ``running:<token>`` (it expires, so a crashed attempt
blocks nothing for ever) or ``done``. The effect and the mark cannot be one
atomic write, so every effect must be idempotent by message id.
"""

import logging
import secrets
from collections.abc import Callable

from redis import Redis

from batfriend.databases import DATABASE_DOWN, get_redis
from batfriend.errors import Conflict
from batfriend.keys import SqsKeys
from batfriend.scripts import get_script

# SQS keeps a message at most 14 days, so after that its id cannot come back.
DONE_SECONDS = 14 * 24 * 3600.0
# sqsd gives up on a request after its inactivity timeout (299 s by default).
RUNNING_SECONDS = 300.0

# An effect does a message's work, given the message id to make its writes idempotent.
Effect = Callable[[str], object]

logger = logging.getLogger(__name__)


class SqsLedger:
    """Which SQS messages are done or in progress; ``running``/``done`` are mark lifetimes."""

    def __init__(self, running: float = RUNNING_SECONDS, done: float = DONE_SECONDS) -> None:
        self._redis: Redis = get_redis(SqsKeys.PREFIX)
        self._running_ms = max(1, int(running * 1000))
        self._done_ms = max(1, int(done * 1000))
        self._begin = get_script(self._redis, "sqs_ledger_begin")
        self._release = get_script(self._redis, "sqs_ledger_release")

    def run_once(self, msgid: str, effect: Effect) -> bool:
        """Run ``effect(msgid)`` unless the message is done; True if it ran, False if done before.

        Raises Conflict while another attempt at the same message is running.
        """
        token = secrets.token_hex(8)
        state = self._begin(keys=[SqsKeys.mark(msgid)], args=[token, self._running_ms])
        if state == b"done":
            return False
        if state == b"busy":
            raise Conflict(f"SQS message {msgid!r} is already being processed; retry it later")
        try:
            effect(msgid)
        except BaseException:
            try:
                self._release(keys=[SqsKeys.mark(msgid)], args=[token])
            except DATABASE_DOWN:
                logger.warning("could not release SQS message %r; its mark will expire", msgid)
            raise
        self._redis.set(SqsKeys.mark(msgid), "done", px=self._done_ms)
        return True

    def view(self, msgid: str) -> str:
        """Return ``"new"``, ``"running"`` or ``"done"`` for a message id."""
        mark = self._redis.get(SqsKeys.mark(msgid))
        if mark is None:
            return "new"
        return "done" if mark == b"done" else "running"
