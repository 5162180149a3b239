"""Move system keys renamed since an earlier release: ``python -m batfriend.migrate``.

Idempotent and safe beside running code: each old key is merged into its new
name (a ZSET union keeping the lower score) and deleted in one transaction,
watched so that a user key that later takes the old name is never touched.
The watcher runs it once at start-up.
"""

import logging

from redis.client import Pipeline

from batfriend.databases import get_redis
from batfriend.keys import RENAMED

logger = logging.getLogger(__name__)


def rename_system_keys() -> int:
    """Merge every renamed ZSET still under its old name into its new one; return how many."""
    moved = 0
    for old, (prefix, new) in RENAMED.items():

        def step(pipe: Pipeline, old: str = old, new: str = new) -> bool:
            if pipe.type(old) != b"zset":
                return False
            pipe.multi()
            pipe.zunionstore(new, [new, old], aggregate="MIN")
            pipe.delete(old)
            return True

        if get_redis(prefix).transaction(step, old, value_from_callable=True):
            logger.info("moved system key %s to %s", old, new)
            moved += 1
    return moved


if __name__ == "__main__":
    from batfriend.startup import configure

    configure()
    print(f"moved {rename_system_keys()} renamed system keys")
