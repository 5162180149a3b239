"""The passes the watcher runs every tick and ``/sqs`` one at a time: deliver, sweep, archive.

Each pass is one New Relic background task and is idempotent (worklist claims
are leased, repairers only repair, archiving inserts if absent), so watchers and
``/sqs`` tasks may run the same pass at once.
"""

import logging
import threading
import time
from collections.abc import Callable

from batfriend import monitoring
from batfriend.archiver import Archiver
from batfriend.databases import DATABASE_DOWN
from batfriend.friends import repair_link
from batfriend.keys import DELIVERY, FRIENDS_REPAIR, LobbyKeys, MsgKeys
from batfriend.lobby import prune_idle_members
from batfriend.messages import Messages, deliver_due
from batfriend.scheduled import requeue_missing
from batfriend.sweeper import Repairer, Sweeper
from batfriend.worklist import WorkItem, Worklist, claim_wave, complete_wave, pending

# A handler does one item's work, given its payload; it must be idempotent.
Handler = Callable[[str], None]

# What production runs: worklist name -> handler, key prefix -> repairer.
HANDLERS: dict[str, Handler] = {DELIVERY: deliver_due, FRIENDS_REPAIR: repair_link}
REPAIRERS: dict[str, Repairer] = {
    MsgKeys.SCHEDULED: requeue_missing,
    LobbyKeys.PREFIX: prune_idle_members,
}

logger = logging.getLogger(__name__)


class Delivery:
    """Hands due items of each worklist in ``handlers`` (default ``HANDLERS``) to its handler.

    ``batch`` is the size of one claim; a failed item is retried after
    ``retry_delay`` seconds, doubling with each attempt up to ``max_retry_delay``.
    """

    def __init__(
        self,
        handlers: dict[str, Handler] | None = None,
        *,
        batch: int = 100,
        lease: float | None = None,
        attempts: int | None = None,
        retry_delay: float = 1.0,
        max_retry_delay: float = 300.0,
    ) -> None:
        self._handlers = dict(HANDLERS if handlers is None else handlers)
        self._worklists = {name: Worklist.buckets(name, lease, attempts) for name in self._handlers}
        self._batch = batch
        self._retry_delay = retry_delay
        self._max_retry_delay = max_retry_delay

    @property
    def names(self) -> list[str]:
        """The worklists this pass works through, sorted."""
        return sorted(self._worklists)

    def run(
        self, budget: float, now: float | None = None, stopping: threading.Event | None = None
    ) -> int:
        """Work through due items until none is left, ``budget`` seconds pass or ``stopping``.

        Returns how many items were handled.
        """
        deadline = time.monotonic() + budget
        claimed_by = dict.fromkeys(self._worklists, 0)
        completed_by = dict.fromkeys(self._worklists, 0)
        busy = {name: list(buckets) for name, buckets in self._worklists.items()}
        stop = stopping or threading.Event()
        with monitoring.background_task("deliver"):
            while busy and not stop.is_set():
                for name in list(busy):
                    claimed = claim_wave(busy[name], self._batch, now)
                    claims = list(zip(busy[name], claimed, strict=True))
                    claimed_by[name] += sum(len(claimed) for _, claimed in claims)
                    completed_by[name] += self._work(name, claims, now)
                    busy[name] = [w for w, claimed in claims if len(claimed) >= self._batch]
                    if not busy[name]:
                        del busy[name]
                    if stop.is_set() or time.monotonic() >= deadline:
                        busy = {}
                        break
            self._record_worklists(claimed_by, completed_by)
        return sum(claimed_by.values())

    def _record_worklists(self, claimed_by: dict[str, int], completed_by: dict[str, int]) -> None:
        """Report each worklist's depth and this pass's claimed and completed items."""
        if not monitoring.active():
            return
        for name, buckets in self._worklists.items():
            monitoring.record_worklist(name, pending(buckets), claimed_by[name], completed_by[name])

    def _work(
        self, name: str, claims: list[tuple[Worklist, list[WorkItem]]], now: float | None
    ) -> int:
        """Hand each claimed item to its handler; complete the successes, fail the failures.

        Returns how many were completed (all of them in one wave at the end).
        """
        handler = self._handlers[name]
        done: list[tuple[Worklist, list[str]]] = []
        try:
            for worklist, claimed in claims:
                done.append((worklist, []))
                for item_id, payload, attempts in claimed:
                    try:
                        handler(payload)
                    except DATABASE_DOWN:
                        raise
                    except Exception:
                        self._fail(worklist, item_id, attempts, now)
                    else:
                        done[-1][1].append(item_id)
        finally:
            complete_wave(done)
        return sum(len(ids) for _, ids in done)

    def _fail(self, worklist: Worklist, item_id: str, attempts: int, now: float | None) -> None:
        """Log the failure with its traceback and put the item back for a later retry."""
        now = time.time() if now is None else now
        delay = min(self._retry_delay * 2 ** min(attempts, 32), self._max_retry_delay)
        logger.exception(
            "worklist %s: item %s failed (attempt %d)", worklist.name, item_id, attempts + 1
        )
        if worklist.fail(item_id, retry_at=now + delay, now=now) == "dead":
            logger.error(
                "worklist %s: item %s dead-lettered after %d attempts",
                worklist.name,
                item_id,
                attempts + 1,
            )


def sweep(sweeper: Sweeper | None = None) -> int:
    """Take one bounded SCAN step (default: over ``REPAIRERS``); return how many keys it saw."""
    with monitoring.background_task("sweep"):
        return (Sweeper(REPAIRERS) if sweeper is None else sweeper).sweep()


def archive(budget: float, now: float | None = None, archiver: Archiver | None = None) -> int:
    """Move old inbox messages and lobby overflow to SQL for at most ``budget`` seconds.

    Returns how many messages left Redis; raises when SQL or Redis is unreachable.
    """
    archiver = Archiver() if archiver is None else archiver
    with monitoring.background_task("archive"):
        moved = archiver.archive_pass(now, budget)
        if monitoring.active():
            oldest = Messages.oldest_unarchived_at()
            due_since = (time.time() if now is None else now) - archiver.retention
            monitoring.record_archive_lag(max(0.0, due_since - (oldest or due_since)))
        return moved
