"""Login flood benchmark: a cheap authenticated request's latency while /login is flooded.

Starts a private embedded Redis and batfriend under its production uwsgi.ini,
then times one client sending ``POST /friends/list`` (authenticated, cheap)
back to back: first quiet, then while 16 threads flood ``POST /login`` with
random usernames and passwords, each sending the next as soon as it has an
answer (Retry-After ignored, as an attacker would). Three floods:

- ``one address``: every login from one client address (X-Real-IP), as from one
  attacker: the per-address limit answers 429 before any hashing;
- ``many addresses``: each login from a random address (a botnet, or a spoofed
  header): only the bounded hashing (503 when busy) protects the CPU;
- ``GET /status``: the same 16 threads on the cheapest endpoint, the floor any
  flood of 16 connections costs on this machine, whatever it asks for;
- ``at the review's rate``: the 16 threads from random addresses paced to
  ``--rate`` logins a second in all (5: what the review's flood achieved), the
  load the issue measured, without the floor's cost of a flood of answers.

It prints p50/p99 of each phase and the p99 ratio to the quiet one (target:
at most 2x) and to the /status floor.

    .venv/bin/pip install -r requirements-bench.txt
    .venv/bin/python -m bench.login_flood [--seconds 5] [--threads 16]
"""

import argparse
import http.client
import json
import random
import secrets
import statistics
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from batfriend.embedded import EmbeddedRedis
from bench.http import Server, machine, server_env, sign_up

TARGET_P99_RATIO = 2.0


def post(port, path, body, headers=None):
    """Send one request on a new connection; return its status."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(
            "POST" if body is not None else "GET",
            path,
            body=json.dumps(body) if body is not None else None,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def probe(port, token, seconds):
    """Time back-to-back authenticated requests for ``seconds``; return their latencies."""
    headers = {"Authorization": f"Bearer {token}"}
    latencies = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        began = time.perf_counter()
        status = post(port, "/friends/list", {}, headers)
        latencies.append(time.perf_counter() - began)
        if status != 200:
            raise RuntimeError(f"the probe got {status}")
    return latencies


def login_flood(address):
    """Return one flood request: a login for a random username, from ``address()``."""

    def send(port):
        body = {"username": f"u{secrets.token_hex(8)}", "password": secrets.token_hex(8)}
        return post(port, "/login", body, {"X-Real-IP": address()})

    return send


def status_flood(port):
    return post(port, "/status", None)


def random_address():
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def under_flood(port, token, seconds, threads, send, rate=None):
    """Run ``threads`` flooders of ``send`` and the probe together; return (latencies, statuses).

    With ``rate``, the flooders together send about ``rate`` requests a second.
    """
    stop = threading.Event()
    statuses = Counter()
    interval = threads / rate if rate else 0.0

    def flood():
        stop.wait(random.uniform(0, interval))  # paced flooders spread out, not in bursts
        while not stop.is_set():
            began = time.monotonic()
            try:
                statuses[send(port)] += 1
            except OSError as error:
                statuses[type(error).__name__] += 1
            stop.wait(max(0.0, interval - (time.monotonic() - began)))

    flooders = [threading.Thread(target=flood, daemon=True) for _ in range(threads)]
    for flooder in flooders:
        flooder.start()
    time.sleep(1.0)  # let the flood build up
    try:
        latencies = probe(port, token, seconds)
    finally:
        stop.set()
        for flooder in flooders:
            flooder.join(timeout=60)
    return latencies, statuses


def percentile(latencies, q):
    return statistics.quantiles(latencies, n=100)[q - 1] if len(latencies) > 1 else latencies[0]


def row(label, latencies, quiet_p99, floor_p99=None, statuses=None):
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    ratio = p99 / quiet_p99
    text = f"{label:<34} {len(latencies):>6} {p50 * 1000:>8.1f} {p99 * 1000:>8.1f} {ratio:>7.2f}x"
    if floor_p99:
        text += f" {p99 / floor_p99:>7.2f}x"
    if statuses:
        text += "  flood: " + ", ".join(f"{k}={v}" for k, v in sorted(statuses.items(), key=str))
    return text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="authenticated latency under a /login flood")
    parser.add_argument("--seconds", type=float, default=5.0, help="probe time per phase")
    parser.add_argument("--threads", type=int, default=16, help="flooding threads")
    parser.add_argument(
        "--rate", type=float, default=5.0, help="logins a second of the paced flood"
    )
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="batfriend-login-flood-"))
    redis_server = EmbeddedRedis(str(work / "redis"), persistent=False)
    server = None
    try:
        # A request log line per flood request would cost CPU too.
        env = server_env(work, redis_server.start(), LOG_LEVEL="WARNING")
        server = Server("batfriend", env, work)
        server.wait_ready()
        token = sign_up(server.base, "bench_probe")
        quiet = probe(server.port, token, args.seconds)
        floods = [
            ("GET /status flood (the floor)", status_flood, None),
            ("/login flood, one address", login_flood(lambda: "203.0.113.1"), None),
            ("/login flood, many addresses", login_flood(random_address), None),
            (f"/login at the review's {args.rate:g}/s", login_flood(random_address), args.rate),
        ]
        results = [
            (label, *under_flood(server.port, token, args.seconds, args.threads, send, rate))
            for label, send, rate in floods
        ]
        quiet_p99 = percentile(quiet, 99)
        floor_p99 = percentile(results[0][1], 99)
        print(f"machine: {machine()}; uWSGI {server.shape()}; {args.threads} flooding threads")
        print(
            f"{'POST /friends/list while':<34} {'n':>6} {'p50 ms':>8} {'p99 ms':>8} "
            f"{'p99/quiet':>8} {'/floor':>7}"
        )
        print(row("quiet", quiet, quiet_p99))
        for label, latencies, statuses in results:
            print(row(label, latencies, quiet_p99, floor_p99, statuses))
        print(f"target: p99 under a /login flood at most {TARGET_P99_RATIO:.0f}x the quiet p99")
    finally:
        if server is not None:
            server.stop()
        redis_server.stop()


if __name__ == "__main__":
    main()
