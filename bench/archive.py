"""Redis memory per 10,000 messages with and without archiving, and archiving throughput to SQL.

    .venv/bin/python -m bench.archive [--redis-url URL] [--mysql-url URL] [--rounds N]

Memory: rounds of 10,000 messages (10 each to 1,000 inboxes, or 1,000 each to
10 lobbies capped at 1,000), all older than the retention window; Redis
``used_memory`` is read after each round, and the growth per 10,000 is taken
from the second round on. Without archiving it grows with every round; with
an archive pass after each round it should stay flat. Inbox
messages are marked read before archiving (a month-old message usually is);
one more series leaves them unread, because read state stays in Redis: each
archived unread message keeps its id in the inbox's unread set.

Throughput: messages per second that one ``Archiver.archive_pass`` moves from
Redis to SQL, against the baseline of SQL alone (the same rows, in the same
batches of 500, through ``Archive.add``), for SQLite and for MariaDB/MySQL
when ``--mysql-url`` (default: BATFRIEND_TEST_DATABASE_URL, else the local
``test`` database) is reachable; otherwise that line says it was skipped.

Without --redis-url a private embedded Redis is started and stopped; a URL you
give must name an empty database, which the bench flushes when done. The
archive tables it creates in SQL are dropped at the end.
"""

import argparse
import logging
import os
import sys
import tempfile
import time

import sqlalchemy

from batfriend import config, databases
from batfriend.archive.schema import create_schema, metadata
from batfriend.archive.store import Archive
from batfriend.archiver import Archiver
from batfriend.embedded import EmbeddedRedis
from batfriend.lobby import Lobby
from batfriend.message import Message
from batfriend.messages import Messages
from batfriend.redaction import redact_url

ROUND = 10_000
INBOXES = 1_000
LOBBIES = 10
RETENTION = 3600.0
TEXT = "Meet at the cave at dusk? Bring the good flashlight, the one with the bat logo on it. "
DEFAULT_MYSQL = "mysql+pymysql://root@127.0.0.1:3306/test"


def body(n: int) -> str:
    return f"{n}: {TEXT[: 40 + n % 60]}"


def used_memory(redis) -> int:
    return redis.info("memory")["used_memory"]


def deliver_round(start: int, at: float, read: bool) -> None:
    """Deliver ROUND messages, ROUND // INBOXES to each inbox, all sent at about ``at``."""
    for owner in range(INBOXES):
        inbox = Messages(f"agent{owner}")
        sent = []
        for n in range(ROUND // INBOXES):
            number = start + owner * (ROUND // INBOXES) + n
            message = Message.compose("sender", body(number), at, to=f"agent{owner}")
            inbox.deliver(message)
            sent.append(message.id)
        if read:
            inbox.mark_read(sent)


def post_round(start: int, at: float) -> None:
    """Post ROUND messages, ROUND // LOBBIES to each lobby."""
    for room in range(LOBBIES):
        lobby = Lobby(f"room{room}", send_limit=10**9)  # measures memory, not the send limit
        lobby.join("sender", now=at)
        for n in range(ROUND // LOBBIES):
            lobby.post("sender", body(start + n), now=at)


def memory_series(redis, rounds: int, fill, archive: bool) -> list[int]:
    """Flush, then after each round of ``fill`` (and an archive pass) record used_memory growth."""
    redis.flushdb()
    base = used_memory(redis)
    growth = []
    for number in range(rounds):
        fill(number * ROUND, time.time() - 2 * RETENTION)
        if archive:
            Archiver(retention=RETENTION).archive_pass()
        growth.append(used_memory(redis) - base)
    return growth


def per_round(growth: list[int]) -> str:
    """Describe the steady growth per 10,000 messages, and the growth after each round.

    The steady figure leaves out the first two rounds: the first creates per-inbox
    and per-lobby keys, the second lets each lobby's hash tables grow once to hold
    the cap plus one round waiting for the archiver (they keep that size).
    """
    steady = (growth[-1] - growth[1]) / (len(growth) - 2)
    rounds = ", ".join(f"{g / 1024:,.0f}" for g in growth)
    return f"{steady / 1024:8,.1f} KiB per 10,000   (KiB after each round: {rounds})"


def fresh_schema(url: str) -> None:
    """Point SQL at ``url`` with empty archive tables."""
    config.DATABASE_URL = url
    databases.reset()
    engine = databases.get_engine()
    metadata.drop_all(engine)
    create_schema(engine)


def throughput(redis, url: str, count: int) -> tuple[float, float]:
    """Return (SQL-alone rows/s, archiver messages/s) for ``count`` inbox messages into ``url``."""
    redis.flushdb()
    at = time.time() - 2 * RETENTION
    messages = [
        Message.compose("sender", body(n), at, to=f"agent{n % INBOXES}") for n in range(count)
    ]
    fresh_schema(url)
    started = time.perf_counter()
    for start in range(0, count, 500):
        Archive().add(messages[start : start + 500])
    baseline = count / (time.perf_counter() - started)
    fresh_schema(url)
    for message in messages:
        Messages(message.to).deliver(message)
    started = time.perf_counter()
    moved = Archiver(retention=RETENTION).archive_pass()
    archiving = count / (time.perf_counter() - started)
    if moved != count:
        sys.exit(f"archived {moved} of {count}")
    return baseline, archiving


def reachable(url: str) -> str | None:
    """Return None when ``url`` answers, else why not."""
    engine = sqlalchemy.create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            return None
    except sqlalchemy.exc.SQLAlchemyError as error:
        return str(error.orig or error).splitlines()[0]
    finally:
        engine.dispose()


def run(url: str, rounds: int, count: int, mysql_url: str, data_dir: str) -> None:
    config.REDIS_URL = url
    config.BATFRIEND_REDIS_SHARDS = {}
    databases.reset()
    redis = databases.get_redis("msg:")
    if redis.dbsize():
        sys.exit(f"{redact_url(url)} is not empty: give the bench a database of its own")
    sqlite_url = f"sqlite:///{data_dir}/bench.sqlite3"
    print(f"redis {redact_url(url)} (server {redis.info('server')['redis_version']})")
    print(f"cpu count {os.cpu_count()}, {rounds} rounds of {ROUND:,} messages")
    try:
        fresh_schema(sqlite_url)

        def inbox_read(start: int, at: float) -> None:
            deliver_round(start, at, read=True)

        def inbox_unread(start: int, at: float) -> None:
            deliver_round(start, at, read=False)

        print("Redis used_memory growth (SQLite archive):")
        series = [
            ("inboxes, no archiving:           ", inbox_read, False),
            ("inboxes, archived each round:    ", inbox_read, True),
            ("inboxes unread, archived:        ", inbox_unread, True),
            ("lobbies, no archiving:           ", post_round, False),
            ("lobbies, archived each round:    ", post_round, True),
        ]
        for label, fill, archive in series:
            print(f"  {label} {per_round(memory_series(redis, rounds, fill, archive))}")
        print(f"Archiving throughput, {count:,} inbox messages in batches of 500:")
        targets = [("SQLite", sqlite_url), ("MariaDB/MySQL", mysql_url)]
        for name, target in targets:
            problem = reachable(target) if target.startswith("mysql") else None
            if problem:
                print(f"  {name:14} skipped: {target} unreachable ({problem})")
                continue
            baseline, archiving = throughput(redis, target, count)
            print(
                f"  {name:14} SQL alone {baseline:9,.0f} rows/s   archive_pass "
                f"{archiving:9,.0f} messages/s   ratio {archiving / baseline:.2f}"
            )
            metadata.drop_all(databases.get_engine())
    finally:
        redis.flushdb()
        databases.reset()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", help="an empty Redis database (default: embedded)")
    parser.add_argument("--mysql-url", default=config.BATFRIEND_TEST_DATABASE_URL or DEFAULT_MYSQL)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=50_000)
    args = parser.parse_args()
    if args.rounds < 3:
        parser.error("--rounds must be at least 3")
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="batfriend-bench-") as data_dir:
        config.BATFRIEND_DATA_DIR = data_dir
        if args.redis_url:
            run(args.redis_url, args.rounds, args.messages, args.mysql_url, data_dir)
            return
        embedded = EmbeddedRedis(data_dir + "/redis", persistent=False)
        try:
            run(embedded.start(), args.rounds, args.messages, args.mysql_url, data_dir)
        finally:
            embedded.stop()


if __name__ == "__main__":
    main()
