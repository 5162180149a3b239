"""Move a deployment's keys to the bucketed names: ``python -m batfriend.migrate``.

Releases before Redis Cluster support named keys without hash tags (``msg:inbox:alice``)
and kept one index for all agents, inboxes and lobbies. This moves every such key to
its new name (``keys.py``) and splits each index into its buckets, on each Redis the app
uses; run it with the app stopped, before switching to a cluster. Old names never hold
a brace and new ones always do, so it is idempotent and resumable: a run moves what an
interrupted one left. A key whose new name already exists is merged into it.
"""

import json
import logging
import time
from collections.abc import Callable

from redis import Redis
from redis.client import Pipeline

from batfriend.databases import redis_client, redis_urls
from batfriend.keys import DELIVERY, MsgKeys, OldKeys, WorkKeys, bucket_of
from batfriend.message import Message

logger = logging.getLogger(__name__)

WORK_KINDS = ("due", "leased", "payloads", "attempts", "dead")


def move(client: Redis, old: str, new: str) -> bool:
    """Move key ``old`` to ``new`` (merging if ``new`` exists); return whether it moved."""

    def step(pipe: Pipeline) -> bool:
        kind = pipe.type(old)
        if kind == b"none":
            return False
        exists = pipe.exists(new)
        if kind == b"hash" and exists:
            fields = pipe.hgetall(old)
            pipe.multi()
            for field, value in fields.items():
                pipe.hsetnx(new, field, value)
            pipe.delete(old)
            return True
        pipe.multi()
        if exists and kind == b"zset":
            pipe.zunionstore(new, [new, old], aggregate="MIN")
        elif exists and kind == b"set":
            pipe.sunionstore(new, [new, old])
        if exists:
            pipe.delete(old)
        else:
            pipe.rename(old, new)
        return True

    return client.transaction(step, old, new, value_from_callable=True)


def split_index(client: Redis, old: str, builder: Callable[[int], str]) -> int:
    """Move each member of index ``old`` to its bucket's index (lower score kept); count them."""
    moved = 0
    while entries := client.zrange(old, 0, 499, withscores=True):
        pipe = client.pipeline(transaction=True)
        for member, score in entries:
            name = member.decode()
            pipe.zadd(builder(bucket_of(name)), {name: score}, lt=True)
            pipe.zadd(builder(bucket_of(name)), {name: score}, nx=True)
        pipe.zrem(old, *(member for member, _ in entries))
        pipe.execute()
        moved += len(entries)
    return moved


def move_deliveries(client: Redis) -> int:
    """Move the old delivery worklist's items to the buckets of their messages' senders.

    Runs before the records move (it reads each old record for its sender); an item
    whose record is gone was delivered already and is dropped.
    """
    old = {kind: OldKeys.work(DELIVERY, kind) for kind in WORK_KINDS}
    moved = 0
    now = time.time()
    while ids := [i.decode() for i in client.hkeys(old["payloads"])[:500]]:
        pipe = client.pipeline(transaction=False)
        for item_id in ids:
            pipe.get(OldKeys.scheduled(item_id))
            pipe.hget(old["payloads"], item_id)
            pipe.zscore(old["due"], item_id)
            pipe.zscore(old["dead"], item_id)
            pipe.hget(old["attempts"], item_id)
        replies = pipe.execute()
        pipe = client.pipeline(transaction=True)
        for n, item_id in enumerate(ids):
            blob, payload, due, died, attempts = replies[5 * n : 5 * n + 5]
            if blob is not None:
                message = Message.load_stored(blob)
                bucket = bucket_of(message.sender or "")
                fresh = json.dumps([item_id, message.to, message.sender])
                pipe.hset(WorkKeys.payloads(DELIVERY, bucket), item_id, fresh)
                if died is not None:
                    pipe.zadd(WorkKeys.dead(DELIVERY, bucket), {item_id: died})
                else:
                    pipe.zadd(WorkKeys.due(DELIVERY, bucket), {item_id: due or now})
                if attempts is not None:
                    pipe.hset(WorkKeys.attempts(DELIVERY, bucket), item_id, attempts)
                moved += 1
            for kind in ("due", "leased", "dead"):
                pipe.zrem(old[kind], item_id)
            pipe.hdel(old["attempts"], item_id)
            pipe.hdel(old["payloads"], item_id)
        pipe.execute()
    for kind in WORK_KINDS:
        client.delete(old[kind])
    return moved


def _new_name(client: Redis, key: str) -> str | None:
    """Return the new name of an old per-entity or worklist key, or None if it is not one."""
    for pattern, builder in OldKeys.RENAMES:
        if matched := pattern.fullmatch(key):
            return builder(matched.group(1))
    if matched := OldKeys.SCHEDULED.fullmatch(key):
        blob = client.get(key)
        sender = Message.load_stored(blob).sender if blob is not None else None
        return None if sender is None else MsgKeys.scheduled(sender, matched.group(1))
    if (matched := OldKeys.WORKLIST.fullmatch(key)) and matched.group(1) != DELIVERY:
        name, kind = matched.groups()
        return getattr(WorkKeys, kind)(name, bucket_of(name))
    return None


def migrate_client(client: Redis) -> int:
    """Move every old key of one Redis to its new name; return how many keys and members moved."""
    moved = move_deliveries(client)
    for old, builder in OldKeys.INDEXES.items():
        if client.type(old) == b"zset":  # agent:index may also be the hash of an agent "index"
            moved += split_index(client, old, builder)
    for raw in client.scan_iter(count=1000):
        key = raw.decode("utf-8", "replace")
        if "{" in key:
            continue
        new = _new_name(client, key)
        if new is not None and move(client, key, new):
            moved += 1
    return moved


def migrate() -> int:
    """Move the old keys of every Redis the app uses; return how many keys and members moved."""
    moved = 0
    for url in redis_urls():
        moved += migrate_client(redis_client(url))
    return moved


if __name__ == "__main__":
    from batfriend.startup import configure

    configure()
    count = migrate()
    logger.info("moved %d old keys and index members to bucketed names", count)
    print(f"moved {count} old keys and index members to bucketed names")
