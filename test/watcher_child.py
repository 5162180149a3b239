"""A watcher process for the process tests: ``python test/watcher_child.py NAME DELAY LEASE TAG``.

It works through worklist NAME with a handler that records each payload's
effect idempotently (SADD result:{r}done, and INCR result:{r}effects only when
the SADD added it), counts every run (result:{r}runs, and result:{r}by per TAG), then
sleeps DELAY seconds, so a kill lands between an effect and its completion.
"""

import sys
import time

from batfriend.startup import configure

configure()

from batfriend.databases import get_redis  # noqa: E402
from batfriend.watcher import MessageWatcher, serve  # noqa: E402

RECORD = """
if redis.call("SADD", KEYS[1], ARGV[1]) == 1 then
  redis.call("INCR", KEYS[2])
end
redis.call("INCR", KEYS[3])
redis.call("HINCRBY", KEYS[4], ARGV[2], 1)
"""
# One hash tag, so the script's keys share a slot on a cluster too.
KEYS = ["result:{r}done", "result:{r}effects", "result:{r}runs", "result:{r}by"]


def main():
    name, delay, lease, tag = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    record = get_redis("result:").register_script(RECORD)

    def handler(payload):
        record(keys=KEYS, args=[payload, tag])
        time.sleep(delay)

    serve(MessageWatcher({name: handler}, {}, tick=0.05, lease=lease, retry_delay=0))


if __name__ == "__main__":
    main()
