"""batfriend beside redis-om-python, walrus, RQ and huey, all on one private Redis.

    .venv/bin/pip install -r requirements-bench.txt
    .venv/bin/python -m bench.anchors [--repeat 30] [--threads 4] [--increments 500]
        [--queue-items 10000]

Starts and stops a private embedded Redis (on a unix socket, no modules:
redis-om's ``HashModel`` get and save need none; its models say ``index=True``
only because redis-om 1.2 builds keys for indexed models alone, and no index is
ever created).

Workloads: load 1 / 100 / 1000 agent profiles by key, save 1000, ``--threads``
x ``--increments`` increments of one counter, an inbox page of 50, and
``--queue-items`` queue items enqueued and processed. Each row
prints its time (for the loads and the page, the median of runs taking turns), its
ratio to batfriend's row, and its round trips: requests a redis-py connection
wrote and waited for (every library here talks through redis-py; a pipeline or
a script call is one, connection set-up included). Each library is used as its
documentation shows: one call per profile where it has no batch read, a sorted
set of ids for an inbox, RQ's ``enqueue_many`` and burst worker, and huey's
worker's own two calls per task (``dequeue``, ``execute``) in a loop.
"""

import argparse
import contextlib
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from unittest import mock

from huey import RedisHuey
from redis import Redis
from redis.connection import AbstractConnection
from redis_om import HashModel
from rq import Queue, SimpleWorker
from walrus import BooleanField, Database, FloatField, Model, TextField

from batfriend import config, databases
from batfriend.agency import Agency
from batfriend.agent import Agent
from batfriend.counter import Counter
from batfriend.embedded import EmbeddedRedis
from batfriend.message import Message
from batfriend.messages import Messages
from batfriend.passwords import hash_password
from batfriend.worklist import Worklist
from bench.counter import CountingCounter
from bench.worklist import noop

PROFILES = 1000
PAGE = 50


class TripCounter:
    """Counts every request any redis-py connection sends (a write, then its replies read)."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()
        original = AbstractConnection.send_packed_command

        def send_packed_command(connection, command, check_health=True):
            with self._lock:
                self.count += 1
            return original(connection, command, check_health)

        AbstractConnection.send_packed_command = send_packed_command


class OmProfile(HashModel, index=True):
    """redis-om's agent profile; the key is the username."""

    display_name: str
    created_at: float

    class Meta:
        global_key_prefix = "om"
        model_key_prefix = "profile"


class OmTally(HashModel, index=True):
    """redis-om's counter: a model with a count, updated by get, add one, save."""

    count: int

    class Meta:
        global_key_prefix = "om"
        model_key_prefix = "tally"


class OmMessage(HashModel, index=True):
    """redis-om's inbox message; the inbox is a sorted set of these ids."""

    sender: str
    to: str
    body: str
    sent_at: float
    read: bool

    class Meta:
        global_key_prefix = "om"
        model_key_prefix = "message"


def walrus_models(db: Database) -> tuple[type[Model], type[Model]]:
    """Return walrus's profile and message models, bound to ``db``."""

    class WalrusProfile(Model):
        __database__ = db
        username = TextField(primary_key=True)
        display_name = TextField()
        created_at = FloatField()

    class WalrusMessage(Model):
        __database__ = db
        id = TextField(primary_key=True)
        sender = TextField()
        to = TextField()
        body = TextField()
        sent_at = FloatField()
        read = BooleanField()

    return WalrusProfile, WalrusMessage


class Bench:
    """Runs each workload's rows and prints them, ratios to the workload's batfriend row."""

    def __init__(self, url: str, repeat: int) -> None:
        self.trips = TripCounter()
        self.repeat = repeat
        self.om = Redis.from_url(url, decode_responses=True)
        for model in (OmProfile, OmTally, OmMessage):
            model._meta.database = self.om
        self.walrus = Database.from_url(url)
        self.WalrusProfile, self.WalrusMessage = walrus_models(self.walrus)
        self.baseline = 0.0

    def heading(self, title: str) -> None:
        print(f"{title}:")
        self.baseline = 0.0

    def rows(self, runs: dict[str, Callable[[], object]], repeat: int) -> None:
        """Time each of ``runs`` ``repeat`` times, taking turns (so a busy moment hits all
        alike), and print each one's median; the first is the workload's baseline."""
        for run in runs.values():
            run()  # warm: connections open, scripts loaded
        times: dict[str, list[float]] = {label: [] for label in runs}
        trips = dict.fromkeys(runs, 0)
        for _ in range(repeat):
            for label, run in runs.items():
                before, began = self.trips.count, time.perf_counter()
                run()
                times[label].append(time.perf_counter() - began)
                trips[label] += self.trips.count - before
        for label in runs:
            self.print_row(label, statistics.median(times[label]), trips[label] / repeat)

    def print_row(self, label: str, seconds: float, trips: float, note: str = "") -> None:
        self.baseline = self.baseline or seconds
        ratio = seconds / self.baseline
        print(f"  {label:50}{seconds * 1000:>11,.2f}{ratio:>8.1f}x{trips:>12,.0f}  {note}")

    def saves(self, names: list[str]) -> None:
        self.heading(f"save {len(names)} profiles")
        now = time.time()
        stored_hash = hash_password("correct horse battery")
        # Agent.register as the API runs it, less its scrypt (tens of ms by design, not storage).
        with mock.patch("batfriend.agent.hash_password", return_value=stored_hash):
            self.once(
                "batfriend Agent.register (no scrypt)",
                lambda: [Agent(n).register("x", now=now) for n in names],
            )
        self.once(
            "redis-om HashModel.save",
            lambda: [OmProfile(pk=n, display_name=n, created_at=now).save() for n in names],
        )
        self.once(
            "redis-om HashModel.add (one pipeline)",
            lambda: OmProfile.add([OmProfile(pk=n, display_name=n, created_at=now) for n in names]),
        )
        self.once(
            "walrus Model.create",
            lambda: [
                self.WalrusProfile.create(username=n, display_name=n, created_at=now) for n in names
            ],
        )

    def once(self, label: str, run: Callable[[], object]) -> None:
        """Time one run of ``run`` (a workload that changes what it measures)."""
        before, began = self.trips.count, time.perf_counter()
        run()
        self.print_row(label, time.perf_counter() - began, self.trips.count - before)

    def loads(self, names: list[str]) -> None:
        for size in (1, 100, PROFILES):
            chosen = names[:size]
            repeat = self.repeat if size < PROFILES else max(5, self.repeat // 3)
            self.heading(f"load {size} profile{'s' if size > 1 else ''} by key")
            self.rows(
                {
                    "batfriend Agency.view_many": lambda c=chosen: Agency().view_many(c),
                    "redis-om HashModel.get loop": lambda c=chosen: [OmProfile.get(n) for n in c],
                    "walrus Model.load loop": lambda c=chosen: [
                        self.WalrusProfile.load(n) for n in c
                    ],
                    "walrus Hash loop (HGETALL of batfriend's)": lambda c=chosen: [
                        self.walrus.Hash(f"agent:{n}").as_dict() for n in c
                    ],
                },
                repeat,
            )

    def race(
        self,
        label: str,
        threads: int,
        increments: int,
        add: Callable[[], object],
        count: Callable[[], int],
    ) -> None:
        """Each of ``threads`` threads calls ``add`` ``increments`` times; print the row."""
        add()
        start = threading.Barrier(threads + 1)

        def worker() -> None:
            start.wait()
            for _ in range(increments):
                add()

        workers = [threading.Thread(target=worker) for _ in range(threads)]
        for thread in workers:
            thread.start()
        before = self.trips.count
        start.wait()
        began = time.perf_counter()
        for thread in workers:
            thread.join()
        elapsed = time.perf_counter() - began
        lost = threads * increments + 1 - count()
        self.print_row(label, elapsed, self.trips.count - before, f"lost {lost}")

    def increments(self, threads: int, increments: int) -> None:
        self.heading(f"{threads} threads x {increments} increments of one counter")
        scripted = Counter("anchors-script")
        self.race(
            "batfriend Counter.increment_below (script)",
            threads,
            increments,
            lambda: scripted.increment_below(10**12),
            scripted.view,
        )
        watched = CountingCounter("anchors-watch")
        CountingCounter.attempts = 0
        self.race(
            "batfriend Counter.increment_if_below (WATCH)",
            threads,
            increments,
            lambda: watched.increment_if_below(10**12),
            watched.view,
        )
        attempts = CountingCounter.attempts / (threads * increments + 1)
        print(f"{'':52}(WATCH: {attempts:.2f} attempts per increment)")
        plain = Counter("anchors-incr")
        self.race(
            "batfriend Counter.increment (INCR)", threads, increments, plain.increment, plain.view
        )
        OmTally(pk="race", count=0).save()

        def om_add() -> None:
            tally = OmTally.get("race")
            tally.count += 1
            tally.save()

        self.race(
            "redis-om get, count += 1, save",
            threads,
            increments,
            om_add,
            lambda: OmTally.get("race").count,
        )
        tally = self.walrus.Hash("walrus-tally")
        self.race(
            "walrus Hash.incr (HINCRBY)",
            threads,
            increments,
            lambda: tally.incr("count"),
            lambda: int(tally["count"]),
        )

    def inbox(self) -> None:
        now = time.time()
        reader = Messages("reader")
        om_inbox = "om:inbox:reader"
        walrus_inbox = self.walrus.ZSet("walrus:inbox:reader")
        for n in range(PAGE + 10):
            message = Message.compose(
                f"sender{n % 7}", f"message {n} " + "x" * 80, now + n / 1000, to="reader"
            )
            reader.deliver(message)
            fields = {"sender": message.sender, "to": "reader", "body": message.body}
            fields.update(sent_at=message.sent_at, read=False)
            OmMessage(pk=message.id, **fields).save()
            self.om.zadd(om_inbox, {message.id: message.sent_at})
            self.WalrusMessage.create(id=message.id, **fields)
            walrus_inbox.add({message.id: message.sent_at})
        self.heading(f"an inbox page of {PAGE}")
        self.rows(
            {
                "batfriend Messages.page_json": lambda: reader.page_json(limit=PAGE),
                "batfriend Messages.page": lambda: reader.page(limit=PAGE),
                "redis-om ZREVRANGE + HashModel.get loop": lambda: [
                    OmMessage.get(i) for i in self.om.zrevrange(om_inbox, 0, PAGE - 1)
                ],
                "walrus ZSet.range + Model.load loop": lambda: [
                    self.WalrusMessage.load(i)
                    for i in walrus_inbox.range(0, PAGE - 1, reverse=True)
                ],
            },
            self.repeat,
        )

    def queues(self, items: int) -> None:
        self.heading(f"{items:,} queue items enqueued, then processed (enqueue + process)")
        payloads = [(str(n), "payload", time.time()) for n in range(items)]
        worklist = Worklist("anchors")

        def worklist_process() -> None:
            while batch := worklist.claim(100):
                for _, payload, _ in batch:
                    noop(payload)
                worklist.complete([item_id for item_id, _, _ in batch])

        self.phases(
            "batfriend Worklist add_many + claim/complete 100",
            worklist_process,
            lambda: worklist.add_many(payloads),
        )
        connection = databases.get_redis("rq:")
        queue = Queue("anchors", connection=connection)

        def rq_enqueue() -> None:
            for start in range(0, items, 1000):
                jobs = [
                    Queue.prepare_data(noop, args=("payload",), result_ttl=0)
                    for _ in range(start, min(items, start + 1000))
                ]
                queue.enqueue_many(jobs)

        def rq_process() -> None:
            SimpleWorker([queue], connection=connection).work(burst=True, logging_level="WARNING")

        self.phases("RQ enqueue_many + SimpleWorker burst", rq_process, rq_enqueue)
        # RPOP, not BRPOP: the empty queue at the end must not wait out a read timeout.
        huey = RedisHuey(
            "anchors",
            results=False,
            blocking=False,
            connection_pool=databases.get_redis("huey:").connection_pool,
        )
        task = huey.task(name="noop")(noop)

        def huey_process() -> None:
            # What huey's worker does per task, without its idle polling.
            while (message := huey.dequeue()) is not None:
                huey.execute(message)

        self.phases(
            "huey task() + dequeue/execute loop",
            huey_process,
            lambda: [task("payload") for _ in range(items)],
        )

    def phases(
        self, label: str, process: Callable[[], object], enqueue: Callable[[], object]
    ) -> None:
        """Time ``enqueue`` then ``process``, together."""
        before, began = self.trips.count, time.perf_counter()
        enqueue()
        enqueued = time.perf_counter() - began
        process()
        elapsed = time.perf_counter() - began
        self.print_row(
            label, elapsed, self.trips.count - before, f"enqueue {enqueued * 1000:,.0f} ms"
        )


@contextlib.contextmanager
def private_redis() -> Iterator[str]:
    """Point batfriend at a fresh embedded Redis (and SQLite file) for the run; stop it after."""
    with tempfile.TemporaryDirectory(prefix="batfriend-bench-") as data_dir:
        embedded = EmbeddedRedis(data_dir, persistent=False)
        config.REDIS_URL = embedded.start()
        config.BATFRIEND_REDIS_SHARDS = {}
        config.DATABASE_URL = f"sqlite:///{data_dir}/archive.db"
        databases.reset()
        try:
            yield config.REDIS_URL
        finally:
            databases.reset()
            embedded.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30, help="runs per load and page row")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--increments", type=int, default=500)
    parser.add_argument("--queue-items", type=int, default=10_000)
    args = parser.parse_args()
    with private_redis() as url:
        bench = Bench(url, args.repeat)
        server = bench.om.info("server")["redis_version"]
        print(f"embedded Redis {server} at {url}, {os.cpu_count()} cores")
        print(f"{'':52}{'time ms':>11}{'ratio':>9}{'round trips':>12}")
        names = [f"agent{n:04d}" for n in range(PROFILES)]
        bench.saves(names)
        bench.loads(names)
        bench.increments(args.threads, args.increments)
        bench.inbox()
        bench.queues(args.queue_items)


if __name__ == "__main__":
    main()
