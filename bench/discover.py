"""Contact discovery of 1000 numbers: raw HMGET vs PhoneNumberContext.preload vs the HTTP call.

    python -m bench.discover [--redis-url URL] [--rounds N]

All three run in one process against the same Redis, interleaved round by
round, and are reported as ratios to the raw HMGET. The HTTP call goes
through Flask's test client (in process, no socket): request parsing,
validation of 1000 numbers, the session check, the look-up and the JSON answer.
Without --redis-url a private embedded Redis is started and stopped. A URL you
give must name an empty database: the bench fills it and flushes it at the end.
"""

import argparse
import statistics
import sys
import tempfile
import time

from batfriend import config, databases
from batfriend.api import create_app
from batfriend.embedded import EmbeddedRedis
from batfriend.phone_numbers import PHONE_NAME, PhoneNumbers
from batfriend.redaction import redact_url

NUMBERS = 1000
# Other agents' numbers, so the book is a real hash table as in production, not a
# small listpack that Redis scans linearly (hash-max-listpack-entries is 512).
OTHER_OWNERS = 20000
TARGET = 1.5


def numbers() -> list[str]:
    return [f"+1415555{n:04d}" for n in range(NUMBERS)]


def populate(phones: list[str]) -> None:
    """Give every other number to an agent, and many more to others, through the context."""
    owners = {f"+4420{n:07d}": f"other_{n}" for n in range(OTHER_OWNERS)}
    owners.update({phone: f"agent_{i}" for i, phone in enumerate(phones) if i % 2 == 0})
    with PhoneNumbers().transact() as book:
        book.update(owners)


def log_in(client) -> dict[str, str]:
    password = "bench password"
    client.post("/agents/register", json={"username": "bencher", "password": password})
    response = client.post("/login", json={"username": "bencher", "password": password})
    return {"Authorization": "Bearer " + response.get_json()["token"]}


def measure(runs: dict, rounds: int, warmup: int) -> dict[str, list[float]]:
    """Time each function once per round, rotating their order; drop the warm-up rounds."""
    names = list(runs)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(warmup + rounds):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            started = time.perf_counter()
            runs[name]()
            elapsed = time.perf_counter() - started
            if round_number >= warmup:
                times[name].append(elapsed)
    return times


def run(url: str, rounds: int, label: str) -> None:
    config.REDIS_URL = url
    config.BATFRIEND_REDIS_SHARDS = {}
    config.BATFRIEND_DISCOVER_LIMIT_PER_DAY = 10**12  # the bench measures look-ups, not the quota
    databases.reset()
    redis = databases.get_redis(f"{PHONE_NAME}:")
    if redis.dbsize():
        sys.exit(f"{redact_url(url)} is not empty: give the bench a database of its own")
    try:
        phones = numbers()
        populate(phones)
        client = create_app(expose_sqs=False).test_client()
        headers = log_in(client)
        owners_key = f"{PHONE_NAME}:owners"  # the hash PhoneNumberContext reads

        def http() -> None:
            response = client.post("/phones/discover", json={"phones": phones}, headers=headers)
            if len(response.get_json()["matches"]) != NUMBERS // 2:
                raise RuntimeError(f"unexpected answer: {response.status_code}")

        runs = {
            f"raw HMGET of {NUMBERS} fields": lambda: redis.hmget(owners_key, phones),
            f"PhoneNumberContext.preload({NUMBERS})": lambda: PhoneNumbers().view().preload(phones),
            "HTTP POST /phones/discover (Flask test client)": http,
        }
        times = measure(runs, rounds, warmup=max(10, rounds // 10))
    finally:
        redis.flushdb()
        databases.reset()

    baseline = statistics.median(next(iter(times.values())))
    print(
        f"contact discovery of {NUMBERS} numbers ({NUMBERS // 2} owned) in a book of"
        f" {OTHER_OWNERS + NUMBERS // 2}, {rounds} rounds, {label}"
    )
    print(f"{'':48} {'median':>9} {'min':>9} {'ratio':>8}")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(
            f"{name:48} {median * 1e3:7.3f}ms {min(samples) * 1e3:7.3f}ms {median / baseline:7.2f}x"
        )
    preload = statistics.median(list(times.values())[1]) / baseline
    verdict = "met" if preload <= TARGET else "MISSED"
    print(f"target preload <= {TARGET}x raw HMGET: {verdict} ({preload:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", help="an empty Redis database (default: embedded)")
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    if args.redis_url:
        run(args.redis_url, args.rounds, redact_url(args.redis_url))
        return
    with tempfile.TemporaryDirectory(prefix="batfriend-bench-") as data_dir:
        config.BATFRIEND_DATA_DIR = data_dir
        embedded = EmbeddedRedis(data_dir, persistent=False)
        try:
            url = embedded.start()
            run(url, args.rounds, f"embedded Redis at {url}")
        finally:
            embedded.stop()


if __name__ == "__main__":
    main()
