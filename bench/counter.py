"""A quota under contention: Counter.increment_if_below (WATCH) beside increment_below (Lua).

    python -m bench.counter [--threads 4] [--increments 500]

Each variant: ``--threads`` threads, each adding ``--increments`` to one shared
counter through its own call, with a limit no one reaches, then the same again
with a limit half the attempts can reach. Prints increments per second, attempts
per increment (WATCH's step runs again whenever another client's write refused
its EXEC; the script never runs twice) and the final counts, which must be exact.
Starts and stops a private embedded Redis.
"""

import argparse
import tempfile
import threading
import time

from batfriend import config, databases
from batfriend.counter import Counter
from batfriend.embedded import EmbeddedRedis


class CountingCounter(Counter):
    """A Counter that counts the runs of increment_if_below's WATCH step."""

    attempts = 0
    _lock = threading.Lock()

    def _increment_step(self, pipe, limit):
        with CountingCounter._lock:
            CountingCounter.attempts += 1
        return super()._increment_step(pipe, limit)


def race(name: str, threads: int, increments: int, limit: int, scripted: bool) -> dict:
    """Run the race; return its time, successes, attempts and the final count."""
    counter = CountingCounter(name)
    CountingCounter.attempts = 0
    start = threading.Barrier(threads + 1)
    successes = []

    def worker() -> None:
        mine = CountingCounter(name)
        add = mine.increment_below if scripted else mine.increment_if_below
        start.wait()
        done = sum(add(limit) for _ in range(increments))
        successes.append(done)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - began
    calls = threads * increments
    return {
        "elapsed": elapsed,
        "successes": sum(successes),
        "attempts": calls if scripted else CountingCounter.attempts,
        "calls": calls,
        "count": counter.view(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--increments", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="batfriend-bench-") as data_dir:
        embedded = EmbeddedRedis(data_dir, persistent=False)
        try:
            config.REDIS_URL = embedded.start()
            config.BATFRIEND_REDIS_SHARDS = {}
            databases.reset()
            Counter("warm").increment_below(1)  # load the script before the clock runs
            calls = args.threads * args.increments
            print(
                f"{args.threads} threads x {args.increments} calls on one counter,"
                f" embedded Redis at {config.REDIS_URL}"
            )
            print(f"{'':34}{'calls/s':>10}{'attempts/call':>15}{'added':>8}{'count':>8}  exact")
            for limit, what in ((10**12, "limit out of reach"), (calls // 2, "limit = half")):
                print(f"{what} ({limit:,}):")
                figures = {}
                for scripted in (False, True):
                    name = f"quota:{what}:{scripted}"
                    figures[scripted] = r = race(
                        name, args.threads, args.increments, limit, scripted
                    )
                    label = (
                        f"{'increment_below (Lua)' if scripted else 'increment_if_below (WATCH)'}"
                    )
                    exact = r["count"] == r["successes"] == min(limit, calls)
                    print(
                        f"  {label:32}{r['calls'] / r['elapsed']:>10,.0f}"
                        f"{r['attempts'] / r['calls']:>15.2f}{r['successes']:>8}{r['count']:>8}"
                        f"  {'yes' if exact else 'NO'}"
                    )
                speedup = figures[False]["elapsed"] / figures[True]["elapsed"]
                print(f"  the script is {speedup:.1f}x as fast")
        finally:
            databases.reset()
            embedded.stop()


if __name__ == "__main__":
    main()
