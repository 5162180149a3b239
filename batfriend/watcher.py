"""``MessageWatcher``: the background worker, its own process (``python -m batfriend.watcher``).

Nothing a pass does stops the loop: failures are logged, an unreachable Redis is
retried with a bounded back-off, unreachable SQL only postpones archiving.
SIGTERM or SIGINT lets the current batch finish, then the process exits 0.
"""

import argparse
import json
import logging
import signal
import threading
import time
from types import FrameType

from batfriend import config, monitoring, passes
from batfriend.archiver import Archiver
from batfriend.databases import DATABASE_DOWN, REDIS_OUT_OF_MEMORY, SQL_DOWN
from batfriend.durability import warn_if_volatile
from batfriend.passes import REPAIRERS, Delivery, Handler
from batfriend.startup import configure
from batfriend.sweeper import Repairer, Sweeper
from batfriend.worklist import Worklist

logger = logging.getLogger("batfriend.watcher")


class MessageWatcher:
    """Runs the passes of ``batfriend.passes`` every ``tick`` seconds until ``stop()``.

    ``handlers`` and ``repairers`` default to ``HANDLERS`` and ``REPAIRERS``; the
    delivery settings (``batch``, ``lease``, ``attempts``, ``retry_delay``,
    ``max_retry_delay``) go to ``Delivery``; Redis outages back off up to
    ``max_backoff``. ``archiver`` (default: ``Archiver()``) runs every
    ``archive_every`` seconds (default: ``BATFRIEND_ARCHIVE_INTERVAL``).
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
        self._delivery = Delivery(
            handlers,
            batch=batch,
            lease=lease,
            attempts=attempts,
            retry_delay=retry_delay,
            max_retry_delay=max_retry_delay,
        )
        self._sweeper = Sweeper(REPAIRERS if repairers is None else repairers, sweep_count)
        self._tick = config.BATFRIEND_WATCHER_TICK if tick is None else tick
        self._max_backoff = max_backoff
        self._stopping = threading.Event()
        self._signalled: signal.Signals | None = None
        self._archiver = Archiver() if archiver is None else archiver
        self._archive_every = (
            config.BATFRIEND_ARCHIVE_INTERVAL if archive_every is None else archive_every
        )
        self._next_archive = 0.0

    def stop(self, signum: signal.Signals | None = None) -> None:
        """Ask the loop to stop once the current batch is done (safe from a signal handler)."""
        self._signalled = signum
        self._stopping.set()

    def deliver_pass(self, now: float | None = None, budget: float | None = None) -> int:
        """Work through due items for at most ``budget`` seconds (one tick); return how many."""
        budget = self._tick if budget is None else budget
        return self._delivery.run(budget, now, self._stopping)

    def sweep_pass(self) -> int:
        """Take one bounded SCAN step and repair what it finds; return how many keys it saw."""
        return passes.sweep(self._sweeper)

    def archive_pass(self, now: float | None = None, budget: float | None = None) -> int:
        """Move old messages to SQL for at most ``budget`` seconds (one tick); return how many."""
        return passes.archive(self._tick if budget is None else budget, now, self._archiver)

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
        monitoring.register_application()
        logger.info(
            "watcher started: worklists %s, tick %.3gs",
            self._delivery.names or "none",
            self._tick,
        )
        outages = 0
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                self.deliver_pass()
                self.sweep_pass()
                self._archive_when_due()
            except (*DATABASE_DOWN, REDIS_OUT_OF_MEMORY) as error:
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
        if self._signalled is not None:
            logger.info("%s received: stopped after the current batch", self._signalled.name)
        logger.info("watcher stopped")


def handle_signals(watcher: MessageWatcher) -> None:
    """Make SIGTERM and SIGINT stop ``watcher``; the handler only sets a flag (the loop logs)."""

    def request_stop(signum: int, frame: FrameType | None) -> None:
        watcher.stop(signal.Signals(signum))

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)


def serve(watcher: MessageWatcher) -> None:
    """Run ``watcher`` in this (main) thread until SIGTERM or SIGINT, then return."""
    handle_signals(watcher)
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
            buckets = Worklist.buckets(args.worklist)
        except ValueError as error:
            parser.error(str(error))
        if args.command == "dead":
            letters = [letter for worklist in buckets for letter in worklist.dead(args.limit)]
            for item_id, payload, attempts, died_at in letters[: args.limit]:
                fields = {
                    "id": item_id,
                    "payload": payload,
                    "attempts": attempts,
                    "died_at": died_at,
                }
                print(json.dumps(fields))
        else:
            requeued = sum(worklist.requeue(args.ids) for worklist in buckets)
            print(f"requeued {requeued} of {len(args.ids)}")
        return
    warn_if_volatile()
    serve(MessageWatcher())


if __name__ == "__main__":
    main()
