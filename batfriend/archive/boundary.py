"""The boundary between Redis and SQL: pages that cross it, batches that cross it.

A message missing from Redis is either in SQL at or below the watermark (the
newest millisecond ever archived, raised in the same Redis step as the
removal) or does not exist yet. So a page reads SQL only when Redis cannot fill
it, and the one id that says a page follows, with newer messages; then both
sides are merged by id, duplicates dropped.
"""

from collections.abc import Callable

from redis import Redis
from redis.client import Pipeline

from batfriend.message import Message, load_page, message_millisecond
from batfriend.scripts import run_pipeline

# Where a batch's candidates live: the HASH of their bodies, and how to queue
# the removal of archived ids (an empty list re-scores or unflags the container).
BatchSource = tuple[str, Callable[[Pipeline, list[str]], None]]


def watermark(raw: bytes | None) -> int | None:
    """Parse a stored watermark (a millisecond, as Redis answers it), None when never archived."""
    return None if raw is None else int(float(raw))


def reaches_archive(fetched: list[bytes], limit: int, newest_archived: int | None) -> bool:
    """Whether the page needs SQL: it may hold one of the page's messages, or decide its cursor.

    ``fetched`` is what Redis returned for the page: up to ``limit + 1`` ids, newest first.
    """
    if newest_archived is None:
        return False
    if len(fetched) < limit:
        return True
    return message_millisecond(fetched[min(len(fetched), limit + 1) - 1]) <= newest_archived


def next_before(fetched: list[bytes], limit: int, newest_archived: int | None) -> str | None:
    """Return the cursor after a page Redis alone answers: its last id, unless nothing is older."""
    if len(fetched) > limit or (len(fetched) == limit and newest_archived is not None):
        return fetched[limit - 1].decode()
    return None


def merge_page(
    fetched: list[bytes], recent: list[Message], archived: list[Message], limit: int
) -> tuple[list[Message], str | None]:
    """Merge Redis's part of a page with SQL's; return the page and its ``next_before``.

    ``fetched`` are the ids Redis returned (up to ``limit + 1``), ``recent`` the
    messages of its first ``limit``, ``archived`` up to ``limit + 1`` from SQL,
    each newest first and all older than the same cursor.
    """
    by_id = {message.id: message for message in archived}
    by_id.update((message.id, message) for message in recent)
    ids = sorted({raw.decode() for raw in fetched}.union(by_id), reverse=True)[: limit + 1]
    page = [by_id[message_id] for message_id in ids[:limit] if message_id in by_id]
    return page, ids[limit - 1] if len(ids) > limit else None


def first(candidates: list[list[bytes]], limit: int) -> list[list[bytes]]:
    """Keep the candidates in order, up to ``limit`` in all (the rest wait for the next batch)."""
    kept = []
    for ids in candidates:
        kept.append(ids[: max(0, limit)])
        limit -= len(kept[-1])
    return kept


def load_batch(
    client: Redis, sources: list[BatchSource], candidates: list[list[bytes]], limit: int
) -> list[Message]:
    """Read the bodies of up to ``limit`` candidate ids in one round trip, sources in order.

    A source with no candidate left gets its empty removal queued on the same
    round trip, so the index that sent the archiver there stops pointing at it.
    """
    taken = [
        (bodies_key, ids)
        for (bodies_key, _), ids in zip(sources, first(candidates, limit), strict=True)
        if ids
    ]

    def queue(pipeline: Pipeline) -> None:
        for bodies_key, ids in taken:
            pipeline.hmget(bodies_key, ids)
        for (_, queue_forget), ids in zip(sources, candidates, strict=True):
            if not ids:
                queue_forget(pipeline, [])

    replies = run_pipeline(client, queue)[: len(taken)]
    return [message for blobs in replies for message in load_page(blobs)]


def forget_batch(
    client: Redis,
    messages: list[Message],
    container: Callable[[Message], str | None],
    queue_forget: Callable[[str, Pipeline, list[str]], None],
) -> int:
    """Remove committed ``messages`` from their inboxes or lobbies in one round trip; count them.

    ``container`` names a message's inbox or lobby; ``queue_forget`` queues one's removal.
    """
    by_container: dict[str, list[str]] = {}
    for message in messages:
        name = container(message)
        if name is not None:
            by_container.setdefault(name, []).append(message.id)

    def queue(pipeline: Pipeline) -> None:
        for name, ids in by_container.items():
            queue_forget(name, pipeline, ids)

    return sum(run_pipeline(client, queue))
