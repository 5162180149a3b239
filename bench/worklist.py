"""Worklist throughput against RQ's SimpleWorker, in one run against the same Redis.

    .venv/bin/pip install -r requirements-bench.txt
    .venv/bin/python -m bench.worklist [--redis-url redis://127.0.0.1:6379/9] [--items N] [--jobs N]

Without --redis-url it starts a private embedded Redis. It measures items per
second claimed and completed (trivial work) by one Worklist consumer, by one
MessageWatcher pass, and jobs per second run by RQ's SimpleWorker on
equivalent trivial jobs (results not kept), and prints the ratios. It also
measures scheduled messages delivered per second by one pass of the production
watcher (its real "delivery" handler), as a ratio to the trivial pass. It
deletes the keys it made.
"""

import argparse
import logging
import os
import tempfile
import time
import uuid

from batfriend import config, databases
from batfriend.embedded import EmbeddedRedis
from batfriend.redaction import redact_url


def noop(payload):
    """The trivial work both systems do."""


def bench_worklist(items, name):
    from batfriend.worklist import Worklist

    worklist = Worklist(name)
    now = time.time()
    worklist.add_many((str(n), "payload", now) for n in range(items))
    started = time.perf_counter()
    done = 0
    while batch := worklist.claim(100):
        for _, payload, _ in batch:
            noop(payload)
        done += worklist.complete([item_id for item_id, _, _ in batch])
    elapsed = time.perf_counter() - started
    assert done == items, (done, items)
    return items / elapsed


def bench_watcher(items, name):
    from batfriend.watcher import MessageWatcher
    from batfriend.worklist import Worklist

    now = time.time()
    Worklist(name).add_many((str(n), "payload", now) for n in range(items))
    watcher = MessageWatcher({name: noop}, {})
    started = time.perf_counter()
    done = watcher.deliver_pass(budget=600)
    elapsed = time.perf_counter() - started
    assert done == items, (done, items)
    return items / elapsed


def bench_scheduled(messages, tag):
    from batfriend.agent import Agent
    from batfriend.friends import Friends
    from batfriend.keys import AgentKeys
    from batfriend.messages import Messages
    from batfriend.watcher import MessageWatcher

    sender, recipient = f"bench_{tag}_a", f"bench_{tag}_b"
    for name in (sender, recipient):
        Agent(name).register("correct horse battery")
    Friends(sender).request(recipient)
    Friends(recipient).accept(sender)
    inbox = Messages(recipient, send_limit=messages)
    sent_at = time.time() - 60
    for n in range(messages):
        inbox.send(sender, f"m{n}", deliver_at=sent_at + 1, now=sent_at)
    watcher = MessageWatcher()
    started = time.perf_counter()
    done = watcher.deliver_pass(budget=600)
    elapsed = time.perf_counter() - started
    assert done == messages == inbox.unread(), (done, messages, inbox.unread())
    databases.get_redis("agent:").zrem(AgentKeys.index(), sender, recipient)
    return messages / elapsed


def bench_rq(jobs, name):
    from rq import Queue, SimpleWorker

    connection = databases.get_redis("rq:")
    queue = Queue(name, connection=connection)
    for start in range(0, jobs, 1000):
        batch = [
            Queue.prepare_data(noop, args=("payload",), result_ttl=0)
            for _ in range(start, min(jobs, start + 1000))
        ]
        queue.enqueue_many(batch)
    worker = SimpleWorker([queue], connection=connection)
    started = time.perf_counter()
    worker.work(burst=True, logging_level="WARNING")
    elapsed = time.perf_counter() - started
    assert queue.count == 0, queue.count
    connection.srem("rq:queues", queue.key)
    return jobs / elapsed


def cleanup(tag):
    """Delete the keys this run made: its worklists, its RQ queue and registries.

    RQ's worker key is left to expire on its own, as RQ sets it to.
    """
    client = databases.get_redis("")
    for key in client.scan_iter(match=f"*{tag}*", count=1000):
        client.delete(key)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", help="a Redis to use (default: a private embedded one)")
    parser.add_argument("--items", type=int, default=100_000, help="worklist items")
    parser.add_argument("--jobs", type=int, default=3_000, help="RQ jobs")
    parser.add_argument("--messages", type=int, default=20_000, help="scheduled messages")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    embedded = None
    if args.redis_url:
        config.REDIS_URL = args.redis_url
    else:
        embedded = EmbeddedRedis(tempfile.mkdtemp(prefix="bench-worklist-"), persistent=False)
        config.REDIS_URL = embedded.start()
    config.BATFRIEND_REDIS_SHARDS = {}
    databases.reset()
    tag = uuid.uuid4().hex[:8]
    try:
        client = databases.get_redis("")
        version = client.info("server")["redis_version"]
        print(f"redis {redact_url(config.REDIS_URL)} (server {version})")
        print(f"cpu count {os.cpu_count()}")
        worklist_rate = bench_worklist(args.items, f"bench-{tag}")
        watcher_rate = bench_watcher(args.items, f"bench-watcher-{tag}")
        rq_rate = bench_rq(args.jobs, f"bench-{tag}")
        scheduled_rate = bench_scheduled(args.messages, tag)
        print(f"Worklist claim+complete, batches of 100: {worklist_rate:>10,.0f} items/s")
        print(f"MessageWatcher.deliver_pass:             {watcher_rate:>10,.0f} items/s")
        print(f"RQ SimpleWorker, burst:                  {rq_rate:>10,.0f} jobs/s")
        print(f"scheduled messages delivered:            {scheduled_rate:>10,.0f} messages/s")
        print(f"ratio Worklist / RQ:       {worklist_rate / rq_rate:,.0f}x")
        print(f"ratio MessageWatcher / RQ: {watcher_rate / rq_rate:,.0f}x")
        print(f"ratio delivered / trivial: {scheduled_rate / watcher_rate:.2f}")
    finally:
        if args.redis_url:
            cleanup(tag)
        databases.reset()
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    main()
