"""``Worklist``: work items in a ZSET scored by due time, claimed under a lease.

An id is in exactly one of due, leased and dead while its payload exists, and
leaves only through ``complete``. A claim is one Lua call, so no two workers
hold an item; an expired lease counts as a failed attempt. Work must be
idempotent: a worker can die after doing an item and before completing it.
"""

import re
import time
from collections.abc import Iterable

from redis import Redis
from redis.client import Pipeline

from batfriend import config
from batfriend.databases import get_redis
from batfriend.keys import BUCKETS, WorkKeys, bucket_of
from batfriend.scripts import get_script, run_pipeline

WORKLIST_NAME = re.compile(r"[a-z0-9_-]{1,64}")
MAX_CLAIM = 1000
_ADD_BATCH = 1000
_FAIL_OUTCOMES = {0: "not_leased", 1: "retry", 2: "dead"}

# One claimed item: (id, payload, failed attempts so far).
WorkItem = tuple[str, str, int]


class Worklist:
    """One bucket of a named worklist; ``lease`` is how long a claim holds an item, in seconds.

    A worklist's items live in one bucket's keys (one hash slot on a cluster):
    ``bucket``, or by default its name's home bucket. The delivery worklist uses
    every bucket (``Worklist.buckets``), so its items sit beside the records they wake.
    """

    def __init__(
        self,
        name: str,
        lease: float | None = None,
        attempts: int | None = None,
        *,
        bucket: int | None = None,
    ) -> None:
        if type(name) is not str or not WORKLIST_NAME.fullmatch(name):
            raise ValueError(f"worklist name {name!r} must match {WORKLIST_NAME.pattern}")
        self.name = name
        self.bucket = bucket_of(name) if bucket is None else bucket
        self._redis: Redis = get_redis(WorkKeys.prefix(name))
        self._lease = config.BATFRIEND_WORKLIST_LEASE if lease is None else lease
        self._attempts = config.BATFRIEND_WORKLIST_ATTEMPTS if attempts is None else attempts
        if self._lease <= 0 or self._attempts < 1:
            raise ValueError("a worklist needs a positive lease and at least one attempt")
        self._add = get_script(self._redis, "worklist_add")
        self._claim = get_script(self._redis, "worklist_claim")
        self._complete = get_script(self._redis, "worklist_complete")
        self._fail = get_script(self._redis, "worklist_fail")
        self._reschedule = get_script(self._redis, "worklist_reschedule")
        self._requeue = get_script(self._redis, "worklist_requeue")

    def add(self, item_id: str, payload: str, due: float | None = None) -> bool:
        """Add an item due at ``due`` (default now); False if the id is already on the list."""
        return self.add_many([(item_id, payload, time.time() if due is None else due)]) == 1

    def add_many(self, items: Iterable[tuple[str, str, float]]) -> int:
        """Add ``(id, payload, due)`` items in one round trip; return how many were new."""
        items = list(items)
        return sum(run_pipeline(self._redis, lambda pipeline: self.queue_add(pipeline, items)))

    def uses(self, client: Redis) -> bool:
        """Return whether ``client`` is this worklist's Redis (so its pipelines may queue_add)."""
        return client is self._redis

    def queue_add(self, pipeline: Pipeline, items: Iterable[tuple[str, str, float]]) -> None:
        """Queue adding ``(id, payload, due)`` items on ``pipeline``, one of this worklist's Redis.

        Each reply this queues counts the new items of one batch (of up to 1000).
        """
        keys = [WorkKeys.due(self.name, self.bucket), WorkKeys.payloads(self.name, self.bucket)]
        args: list[str | float] = []
        for item_id, payload, due in items:
            args += (item_id, payload, repr(float(due)))
            if len(args) >= 3 * _ADD_BATCH:
                self._add(keys=keys, args=args, client=pipeline)
                args = []
        if args:
            self._add(keys=keys, args=args, client=pipeline)

    @classmethod
    def buckets(
        cls, name: str, lease: float | None = None, attempts: int | None = None
    ) -> list["Worklist"]:
        """Return every bucket of worklist ``name``, for passes that work them all."""
        return [cls(name, lease, attempts, bucket=bucket) for bucket in range(BUCKETS)]

    def claim(self, limit: int = 100, now: float | None = None) -> list[WorkItem]:
        """Lease up to ``limit`` due items, earliest first, and return them."""
        return claim_wave([self], limit, now)[0]

    def queue_claim(self, pipeline: Pipeline, limit: int, now: float) -> None:
        """Queue a claim of up to ``limit`` items due by ``now`` on ``pipeline``."""
        if not 1 <= limit <= MAX_CLAIM:
            raise ValueError(f"claim limit must be from 1 to {MAX_CLAIM}")
        self._claim(
            keys=[
                WorkKeys.due(self.name, self.bucket),
                WorkKeys.leased(self.name, self.bucket),
                WorkKeys.payloads(self.name, self.bucket),
                WorkKeys.attempts(self.name, self.bucket),
                WorkKeys.dead(self.name, self.bucket),
            ],
            args=[repr(now), limit, repr(now + self._lease), self._attempts],
            client=pipeline,
        )

    def queue_complete(self, pipeline: Pipeline, item_ids: list[str]) -> None:
        """Queue the removal of finished items (in chunks of ``MAX_CLAIM``) on ``pipeline``."""
        keys = [
            WorkKeys.due(self.name, self.bucket),
            WorkKeys.leased(self.name, self.bucket),
            WorkKeys.dead(self.name, self.bucket),
            WorkKeys.payloads(self.name, self.bucket),
            WorkKeys.attempts(self.name, self.bucket),
        ]
        for start in range(0, len(item_ids), MAX_CLAIM):
            self._complete(keys=keys, args=item_ids[start : start + MAX_CLAIM], client=pipeline)

    def complete(self, item_ids: list[str]) -> int:
        """Remove finished items wherever they are (one round trip); return how many were listed."""
        if not item_ids:
            return 0
        return sum(run_pipeline(self._redis, lambda p: self.queue_complete(p, item_ids)))

    def fail(self, item_id: str, retry_at: float, now: float | None = None) -> str:
        """Count a failed attempt; return "retry" (due at retry_at), "dead" or "not_leased"."""
        now = time.time() if now is None else now
        outcome = self._fail(
            keys=[
                WorkKeys.due(self.name, self.bucket),
                WorkKeys.leased(self.name, self.bucket),
                WorkKeys.attempts(self.name, self.bucket),
                WorkKeys.dead(self.name, self.bucket),
            ],
            args=[item_id, repr(float(retry_at)), repr(now), self._attempts],
        )
        return _FAIL_OUTCOMES[outcome]

    def expedite(self, item_id: str, now: float | None = None) -> bool:
        """Make a pending item due now; False if it is not pending (leased, dead or unknown)."""
        return self.postpone(item_id, time.time() if now is None else now)

    def postpone(self, item_id: str, due: float) -> bool:
        """Give a pending item the due time ``due``; False if it is not pending."""
        return bool(
            self._reschedule(
                keys=[WorkKeys.due(self.name, self.bucket)], args=[item_id, repr(float(due))]
            )
        )

    def dead(self, limit: int = 100) -> list[tuple[str, str, int, float]]:
        """Return up to ``limit`` dead-lettered items as ``(id, payload, attempts, died_at)``."""
        entries = self._redis.zrange(
            WorkKeys.dead(self.name, self.bucket), 0, limit - 1, withscores=True
        )
        ids = [member.decode() for member, _ in entries]
        if not ids:
            return []
        pipeline = self._redis.pipeline(transaction=False)
        pipeline.hmget(WorkKeys.payloads(self.name, self.bucket), ids)
        pipeline.hmget(WorkKeys.attempts(self.name, self.bucket), ids)
        payloads, attempts = pipeline.execute()
        return [
            (item_id, (payload or b"").decode(), int(tries or 0), died_at)
            for item_id, payload, tries, (_, died_at) in zip(
                ids, payloads, attempts, entries, strict=True
            )
        ]

    def requeue(self, item_ids: list[str], due: float | None = None) -> int:
        """Put dead-lettered items back, due at ``due`` (default now), attempts reset."""
        if not item_ids:
            return 0
        due = time.time() if due is None else due
        return self._requeue(
            keys=[
                WorkKeys.due(self.name, self.bucket),
                WorkKeys.attempts(self.name, self.bucket),
                WorkKeys.dead(self.name, self.bucket),
            ],
            args=[repr(float(due)), *item_ids],
        )

    def view(self) -> dict[str, int]:
        """Return how many items are due or waiting, leased, and dead."""
        pipeline = self._redis.pipeline(transaction=True)
        pipeline.zcard(WorkKeys.due(self.name, self.bucket))
        pipeline.zcard(WorkKeys.leased(self.name, self.bucket))
        pipeline.zcard(WorkKeys.dead(self.name, self.bucket))
        due, leased, dead = pipeline.execute()
        return {"pending": due, "leased": leased, "dead": dead}


def claim_wave(
    worklists: list[Worklist], limit: int = 100, now: float | None = None
) -> list[list[WorkItem]]:
    """Claim up to ``limit`` due items from each of ``worklists`` (one Redis) in one wave.

    Returns each worklist's claimed items, in the order given.
    """
    if not worklists:
        return []
    when = time.time() if now is None else now

    def queue(pipeline: Pipeline) -> None:
        for worklist in worklists:
            worklist.queue_claim(pipeline, limit, when)

    return [
        [(flat[i].decode(), flat[i + 1].decode(), int(flat[i + 2])) for i in range(0, len(flat), 3)]
        for flat in run_pipeline(worklists[0]._redis, queue)
    ]


def complete_wave(done: list[tuple[Worklist, list[str]]]) -> None:
    """Complete each worklist's finished ids (all of one Redis) in one wave."""
    done = [(worklist, ids) for worklist, ids in done if ids]
    if not done:
        return

    def queue(pipeline: Pipeline) -> None:
        for worklist, ids in done:
            worklist.queue_complete(pipeline, ids)

    run_pipeline(done[0][0]._redis, queue)


def pending(worklists: list[Worklist]) -> int:
    """Return how many items wait (due or not yet due) in all of ``worklists``, in one wave."""

    def queue(pipeline: Pipeline) -> None:
        for worklist in worklists:
            pipeline.zcard(WorkKeys.due(worklist.name, worklist.bucket))

    return sum(run_pipeline(worklists[0]._redis, queue)) if worklists else 0
