"""``MessageWatcher``: the background worker that works through due worklist items and sweeps.

Run it as its own process, with the same environment variables as the app::

    python -m batfriend.watcher            # or: batfriend-watcher
    python -m batfriend.watcher dead NAME  # list a worklist's dead letters
    python -m batfriend.watcher requeue NAME ID [ID ...]

Every tick it claims due items in batches from each worklist that has a
handler and hands each payload to that handler; then it takes one SCAN step
of the sweep; every ``BATFRIEND_ARCHIVE_INTERVAL`` (every tick while a backlog
lasts) it moves old messages to SQL (``batfriend.archive.archiver``). The
loop is short and bad data cannot kill it: a failing item is logged with its
traceback and retried later (dead-lettered after too many attempts); an
unreachable Redis is logged and retried with a bounded exponential back-off;
unreachable SQL only postpones archiving; SIGTERM or SIGINT lets the current
batch finish, then the process exits 0. It imports models only, never the web app.

In production it delivers scheduled messages (worklist ``delivery``), and its
sweep re-queues waiting messages whose worklist item is missing and drops lobby
members unseen for a day.
"""

import argparse
import json
import logging
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

from batfriend import config, monitoring
from batfriend.archive.archiver import Archiver
from batfriend.databases import DATABASE_DOWN, SQL_DOWN
from batfriend.durability import warn_if_volatile
from batfriend.lobby import LOBBY_PREFIX, prune_idle_members
from batfriend.messages import Messages, deliver_due
from batfriend.scheduled import DELIVERY, SCHEDULED_PREFIX, requeue_missing
from batfriend.startup import configure
from batfriend.sweeper import Repairer, Sweeper
from batfriend.worklist import WorkItem, Worklist

# A handler does one item's work, given its payload; it must be idempotent.
Handler = Callable[[str], None]

# What the production watcher runs: worklist name -> handler, key prefix -> repairer.
HANDLERS: dict[str, Handler] = {DELIVERY: deliver_due}
REPAIRERS: dict[str, Repairer] = {
    SCHEDULED_PREFIX: requeue_missing,
    LOBBY_PREFIX: prune_idle_members,
}

logger = logging.getLogger("batfriend.watcher")


class MessageWatcher:
    """Works through worklists with ``handlers`` and sweeps keys for ``repairers``.

    Both default to the production registries ``HANDLERS`` and ``REPAIRERS``;
    ``tick`` is the loop's period in seconds, ``batch`` the size of one claim.
    A failed item is retried after ``retry_delay`` seconds, doubling with each
    attempt up to ``max_retry_delay``; Redis outages back off up to ``max_backoff``.
    ``archiver`` (default: ``Archiver()``) runs every ``archive_every`` seconds
    (default: ``BATFRIEND_ARCHIVE_INTERVAL``).
    """

    def __init__(
        self,
        handlers: dict[str, Handler] | None = None,
        repairers: dict[str, Repairer] | None = None,
        *,
        tick: float | None = None,
        batch: int = 100,
        lease: float | None = None,
        attempts: int | None = None,
        sweep_count: int | None = None,
        retry_delay: float = 1.0,
        max_retry_delay: float = 300.0,
        max_backoff: float = 30.0,
        archiver: Archiver | None = None,
        archive_every: float | None = None,
    ) -> None:
        self._handlers = dict(HANDLERS if handlers is None else handlers)
        self._worklists = {name: Worklist(name, lease, attempts) for name in self._handlers}
        self._sweeper = Sweeper(REPAIRERS if repairers is None else repairers, sweep_count)
        self._tick = config.BATFRIEND_WATCHER_TICK if tick is None else tick
        self._batch = batch
        self._retry_delay = retry_delay
        self._max_retry_delay = max_retry_delay
        self._max_backoff = max_backoff
        self._stopping = threading.Event()
        self._archiver = Archiver() if archiver is None else archiver
        self._archive_every = (
            config.BATFRIEND_ARCHIVE_INTERVAL if archive_every is None else archive_every
        )
        self._next_archive = 0.0

    def stop(self) -> None:
        """Ask the loop to stop once the current batch is done (safe from a signal handler)."""
        self._stopping.set()

    def deliver_pass(self, now: float | None = None, budget: float | None = None) -> int:
        """Work through due items until none is left, ``budget`` seconds pass or ``stop()``.

        Returns how many items were handled. ``budget`` defaults to one tick.
        """
        deadline = time.monotonic() + (self._tick if budget is None else budget)
        claimed_by = dict.fromkeys(self._worklists, 0)
        completed_by = dict.fromkeys(self._worklists, 0)
        busy = list(self._worklists.values())
        with monitoring.background_task("deliver"):
            while busy and not self._stopping.is_set():
                for worklist in list(busy):
                    claimed = worklist.claim(self._batch, now=now)
                    claimed_by[worklist.name] += len(claimed)
                    completed_by[worklist.name] += self._work(worklist, claimed, now)
                    if len(claimed) < self._batch:
                        busy.remove(worklist)
                    if self._stopping.is_set() or time.monotonic() >= deadline:
                        busy = []
                        break
            self._record_worklists(claimed_by, completed_by)
        return sum(claimed_by.values())

    def _record_worklists(self, claimed_by: dict[str, int], completed_by: dict[str, int]) -> None:
        """Report each worklist's depth and this pass's claimed and completed items."""
        if not monitoring.active():
            return
        for name, worklist in self._worklists.items():
            depth = worklist.view()["pending"]
            monitoring.record_worklist(name, depth, claimed_by[name], completed_by[name])

    def _work(self, worklist: Worklist, claimed: list[WorkItem], now: float | None) -> int:
        """Hand each claimed item to its handler; complete the successes, fail the failures.

        Returns how many were completed.
        """
        handler = self._handlers[worklist.name]
        done: list[str] = []
        try:
            for item_id, payload, attempts in claimed:
                try:
                    handler(payload)
                except DATABASE_DOWN:
                    raise
                except Exception:
                    self._fail(worklist, item_id, attempts, now)
                else:
                    done.append(item_id)
        finally:
            worklist.complete(done)
        return len(done)

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

    def sweep_pass(self) -> int:
        """Take one bounded SCAN step and repair what it finds; return how many keys it saw."""
        with monitoring.background_task("sweep"):
            return self._sweeper.sweep()

    def archive_pass(self, now: float | None = None, budget: float | None = None) -> int:
        """Move old inbox messages and lobby overflow to SQL for at most ``budget`` s (one tick).

        Returns how many messages left Redis; raises when SQL or Redis is unreachable.
        """
        with monitoring.background_task("archive"):
            moved = self._archiver.archive_pass(now, self._tick if budget is None else budget)
            if monitoring.active():
                oldest = Messages.oldest_unarchived_at()
                due_since = (time.time() if now is None else now) - self._archiver.retention
                monitoring.record_archive_lag(max(0.0, due_since - (oldest or due_since)))
            return moved

    def _archive_when_due(self) -> None:
        """Run an archive pass every ``archive_every`` seconds, or next tick while a backlog lasts.

        Unreachable SQL is logged and tried again an interval later: the messages
        wait in Redis, and deliveries and sweeps go on meanwhile.
        """
        if time.monotonic() < self._next_archive:
            return
        self._next_archive = time.monotonic() + self._archive_every
        try:
            moved = self.archive_pass()
        except SQL_DOWN as error:
            logger.warning(
                "SQL unreachable (%s); archiving again in %.3gs", error, self._archive_every
            )
            return
        if moved:
            logger.info("archived %d messages to SQL", moved)
            self._next_archive = time.monotonic()

    def run(self) -> None:
        """Tick until ``stop()``: due work, one sweep step, archiving when due, then sleep."""
        logger.info(
            "watcher started: worklists %s, tick %.3gs",
            sorted(self._worklists) or "none",
            self._tick,
        )
        outages = 0
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                self.deliver_pass()
                self.sweep_pass()
                self._archive_when_due()
            except DATABASE_DOWN as error:
                outages += 1
                pause = min(self._tick * 2 ** (outages - 1), self._max_backoff)
                logger.warning("database unreachable (%s); trying again in %.3gs", error, pause)
                self._stopping.wait(pause)
                continue
            except Exception:
                logger.exception("watcher pass failed; carrying on at the next tick")
            if outages:
                logger.info("database reachable again; watcher resumed")
                outages = 0
            self._stopping.wait(max(0.0, self._tick - (time.monotonic() - started)))
        logger.info("watcher stopped")


def serve(watcher: MessageWatcher) -> None:
    """Run ``watcher`` in this (main) thread until SIGTERM or SIGINT, then return."""

    def request_stop(signum: int, frame: FrameType | None) -> None:
        logger.info("%s received: finishing the current batch", signal.Signals(signum).name)
        watcher.stop()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    watcher.run()


def main(argv: list[str] | None = None) -> None:
    """Run the watcher, or list or requeue a worklist's dead letters."""
    configure()
    parser = argparse.ArgumentParser(prog="batfriend-watcher", description=main.__doc__)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run the watcher until SIGTERM (the default)")
    dead = commands.add_parser("dead", help="print a worklist's dead letters, one JSON per line")
    dead.add_argument("worklist")
    dead.add_argument("--limit", type=int, default=100)
    requeue = commands.add_parser("requeue", help="put dead letters back on their worklist")
    requeue.add_argument("worklist")
    requeue.add_argument("ids", nargs="+")
    args = parser.parse_args(argv)
    if args.command in ("dead", "requeue"):
        try:
            worklist = Worklist(args.worklist)
        except ValueError as error:
            parser.error(str(error))
        if args.command == "dead":
            for item_id, payload, attempts, died_at in worklist.dead(args.limit):
                fields = {
                    "id": item_id,
                    "payload": payload,
                    "attempts": attempts,
                    "died_at": died_at,
                }
                print(json.dumps(fields))
        else:
            print(f"requeued {worklist.requeue(args.ids)} of {len(args.ids)}")
        return
    warn_if_volatile()
    serve(MessageWatcher())


if __name__ == "__main__":
    main()
