"""HTTP benchmark: batfriend under its production uwsgi.ini against a bare-Flask baseline.

Starts a private embedded Redis, then two uWSGI servers with the same
uwsgi.ini and environment: batfriend (``app:application``) and
bench/baseline_app.py (bare Flask, one Redis INCR per request). Loads each
endpoint for a few seconds from many connections with libcurl's multi
interface (pycurl, requirements-bench.txt) and prints req/s and p50/p99
latency, each as a ratio to the baseline measured in the same run (before
and after the endpoints; their mean is the reference).

Targets: req/s at least 0.7 of the baseline, p99 at most 2x the baseline's.
Endpoints missing from this checkout (a GET answers 404 instead of 405) are
skipped, so the script runs on any branch.

    .venv/bin/pip install -r requirements-bench.txt
    .venv/bin/python -m bench.http [--seconds 5] [--connections 16]
"""

import argparse
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pycurl

from batfriend.embedded import EmbeddedRedis, free_port

ROOT = Path(__file__).resolve().parent.parent
UWSGI = Path(sys.executable).parent / "uwsgi"
APP_READY = "WSGI app 0 (mountpoint='') ready"
PASSWORD = "bench password 1"
SENDERS = 50  # /messages/send allows 60 a minute per agent: spread the load over many
SEND_LIMIT_PER_AGENT = 60
PHONES = [f"+1555{i:07d}" for i in range(1000)]
TARGET_RPS_RATIO = 0.7
TARGET_P99_RATIO = 2.0


@dataclass
class Result:
    """One load run: completed requests, failures by status, latencies in seconds."""

    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0


def load(url, variants, seconds, connections, limit=None) -> Result:
    """Send requests to ``url`` from ``connections`` connections until time or ``limit`` runs out.

    ``variants`` is a list of (headers, body-or-None) cycled through in order.
    """
    result = Result()
    multi = pycurl.CurlMulti()
    issued = 0

    def start(handle) -> None:
        nonlocal issued
        headers, body = variants[issued % len(variants)]
        issued += 1
        handle.setopt(pycurl.HTTPHEADER, headers)
        if body is None:
            handle.setopt(pycurl.HTTPGET, 1)
        else:
            handle.setopt(pycurl.POSTFIELDS, body)
        multi.add_handle(handle)

    for _ in range(connections):
        handle = pycurl.Curl()
        handle.setopt(pycurl.URL, url)
        handle.setopt(pycurl.WRITEFUNCTION, len)
        handle.setopt(pycurl.NOSIGNAL, 1)
        # uwsgi.ini's http-socket closes after each answer, as nginx's upstream expects
        handle.setopt(pycurl.FORBID_REUSE, 1)
        handle.setopt(pycurl.TIMEOUT, 30)
        start(handle)
    active = connections
    started = time.perf_counter()
    deadline = started + seconds
    while active:
        status = pycurl.E_CALL_MULTI_PERFORM
        while status == pycurl.E_CALL_MULTI_PERFORM:
            status, _ = multi.perform()
        queued = 1
        while queued:
            queued, done, failed = multi.info_read()
            for _handle, _errno, message in failed:
                result.failures[message] = result.failures.get(message, 0) + 1
            for handle in done:
                code = handle.getinfo(pycurl.RESPONSE_CODE)
                if 200 <= code < 300:
                    result.latencies.append(handle.getinfo(pycurl.TOTAL_TIME))
                else:
                    result.failures[str(code)] = result.failures.get(str(code), 0) + 1
            for handle in [*done, *(f[0] for f in failed)]:
                multi.remove_handle(handle)
                more = time.perf_counter() < deadline and (limit is None or issued < limit)
                if more:
                    start(handle)
                else:
                    handle.close()
                    active -= 1
        result.elapsed = time.perf_counter() - started
        if active:
            multi.select(0.05)
    multi.close()
    return result


def call(base, path, body=None, token=None):
    """Send one request; return (status, parsed JSON or None)."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data, headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, None


def present(base, path) -> bool:
    """Return whether the app routes ``path``: a POST-only route answers a GET with 405."""
    return call(base, path)[0] != 404


class Server:
    """One uWSGI process tree running uwsgi.ini; stopped with SIGTERM, as in production."""

    def __init__(self, name, env, log_dir, extra=()) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log_dir / f"{name}.log"
        with open(self.log, "w") as output:
            self.process = subprocess.Popen(
                [str(UWSGI), "--ini", str(ROOT / "uwsgi.ini"), *extra],
                env={**env, "PORT": str(self.port)},
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout=60.0) -> None:
        """Wait until every worker has imported its app (lazy-apps)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.log.read_text()
            workers = len(re.findall(r"spawned uWSGI worker \d+", text))
            if workers and text.count(APP_READY) >= workers:
                return
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"uWSGI did not start; see {self.log}:\n{text[-2000:]}")
            time.sleep(0.1)

    def shape(self) -> str:
        """Return 'N processes x T threads' from the uWSGI log."""
        cores = re.findall(
            r"spawned uWSGI worker \d+ \(pid: \d+, cores: (\d+)\)", self.log.read_text()
        )
        return f"{len(cores)} processes x {cores[0] if cores else '?'} threads"

    def stop(self) -> None:
        """SIGTERM the master (die-on-term) and wait for it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def headers_for(token=None) -> list[str]:
    """Request headers: JSON, no 100-continue wait for big bodies, the bearer token if any."""
    headers = ["Content-Type: application/json", "Expect:"]
    if token:
        headers.append(f"Authorization: Bearer {token}")
    return headers


@dataclass
class Plan:
    """How to load one endpoint: request variants cycled in order, an optional request cap."""

    label: str
    path: str
    variants: list[tuple[list[str], str | None]] = field(default_factory=list)
    limit: int | None = None
    skipped: str = ""


def expect(status, answer, wanted, what) -> dict:
    """Return the answer of a set-up call, or stop the benchmark naming what failed."""
    if status != wanted:
        raise RuntimeError(f"set-up failed: {what} answered {status} {answer}")
    return answer


def sign_up(base, username) -> str:
    """Register and log in one agent; return its token."""
    credentials = {"username": username, "password": PASSWORD}
    expect(*call(base, "/agents/register", credentials), 201, f"register {username}")
    return expect(*call(base, "/login", credentials), 200, f"login {username}")["token"]


def discover_plan(base, pool, tokens) -> Plan:
    """Give each sender a phone among the 1000 numbers, then discover all 1000."""
    plan = Plan("POST /phones/discover (1000)", "/phones/discover")
    if not present(base, plan.path):
        plan.skipped = "endpoint not present (404)"
        return plan

    def set_phone(i) -> None:
        answer = call(base, "/phones/set", {"phone": PHONES[i * 20]}, tokens[f"bench_s{i}"])
        expect(*answer, 200, "POST /phones/set")

    list(pool.map(set_phone, range(SENDERS)))
    plan.variants = [(headers_for(tokens["bench_login"]), json.dumps({"phones": PHONES}))]
    return plan


def send_plan(base, pool, tokens) -> Plan:
    """Befriend every sender with one recipient; the senders take turns sending to it."""
    plan = Plan("POST /messages/send", "/messages/send", limit=SENDERS * SEND_LIMIT_PER_AGENT)
    for path in (plan.path, "/friends/request", "/friends/accept"):
        if not present(base, path):
            plan.skipped = f"{'endpoint' if path == plan.path else path} not present (404)"
            return plan

    def befriend(i) -> None:
        sender = f"bench_s{i}"
        answer = call(base, "/friends/request", {"username": "bench_rcpt"}, tokens[sender])
        expect(*answer, 200, "POST /friends/request")
        answer = call(base, "/friends/accept", {"username": sender}, tokens["bench_rcpt"])
        expect(*answer, 200, "POST /friends/accept")

    list(pool.map(befriend, range(SENDERS)))
    body = json.dumps({"to": "bench_rcpt", "body": "hello from the benchmark"})
    plan.variants = [(headers_for(tokens[f"bench_s{i}"]), body) for i in range(SENDERS)]
    return plan


def prepare(base) -> list[Plan]:
    """Create the agents, phones and friendships the endpoints need; return the plans."""
    names = ["bench_login", "bench_rcpt"] + [f"bench_s{i}" for i in range(SENDERS)]
    with ThreadPoolExecutor(4) as pool:
        tokens = dict(zip(names, pool.map(lambda name: sign_up(base, name), names), strict=True))
        login = json.dumps({"username": "bench_login", "password": PASSWORD})
        plans = [
            Plan("GET /status", "/status", [(headers_for(), None)]),
            Plan("POST /login", "/login", [(headers_for(), login)]),
            discover_plan(base, pool, tokens),
            send_plan(base, pool, tokens),
        ]
    inbox = Plan("POST /messages/inbox", "/messages/inbox")
    if present(base, inbox.path):
        inbox.variants = [(headers_for(tokens["bench_rcpt"]), "{}")]
    else:
        inbox.skipped = "endpoint not present (404)"
    return [*plans, inbox]


def measure(base, path, variants, seconds, connections, limit=None) -> Result:
    """Warm up (two requests per connection), then load for ``seconds``."""
    warm = 2 * connections
    warm_result = load(base + path, variants, seconds, connections, limit=warm)
    if warm_result.failures:
        raise RuntimeError(f"{path} fails during warm-up: {warm_result.failures}")
    rotated = variants[warm % len(variants) :] + variants[: warm % len(variants)]
    return load(base + path, rotated, seconds, connections, None if limit is None else limit - warm)


def ms(seconds) -> str:
    return f"{seconds * 1000:.1f}"


def machine() -> str:
    """Return 'N cores, CPU model, Python x.y' for the report."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read(), re.MULTILINE)
            model = found.group(1).strip() if found else model
    except OSError:
        pass
    return f"{os.cpu_count()} cores (nproc), {model}, Python {platform.python_version()}"


def verdict(label, rps_ratio, p99_ratio) -> str:
    """Say whether a row meets the targets (and why /login cannot)."""
    met = rps_ratio >= TARGET_RPS_RATIO and p99_ratio <= TARGET_P99_RATIO
    note = " (one scrypt per login, by design)" if label == "POST /login" else ""
    return ("met" if met else "MISSED") + note


def report(args, shape, before, after, rows) -> None:
    """Print the table: each endpoint against the mean of the two baseline runs."""
    base_rps = statistics.mean([before.rps, after.rps])
    base_p50 = statistics.mean([before.percentile(50), after.percentile(50)])
    base_p99 = statistics.mean([before.percentile(99), after.percentile(99)])
    print(
        f"batfriend HTTP benchmark: uwsgi.ini ({shape}), "
        f"{args.connections} connections, {args.seconds:g} s per endpoint"
    )
    print(f"machine: {machine()}")
    print(
        f"baseline POST /incr (bare Flask, one INCR): {base_rps:.0f} req/s, "
        f"p50 {ms(base_p50)} ms, p99 {ms(base_p99)} ms "
        f"(runs before and after: {before.rps:.0f} and {after.rps:.0f} req/s)"
    )
    if abs(before.rps - after.rps) > 0.2 * base_rps:
        print("warning: the baseline runs differ by over 20%: the machine is busy, figures noisy")
    columns = ("req/s", "p50 ms", "p99 ms", "req/s ratio", "p99 ratio")
    print(f"{'endpoint':30}" + "".join(f"{c:>12}" for c in columns) + "  target")
    for label, result, skipped in rows:
        if result is None:
            print(f"{label:30} skipped: {skipped}")
            continue
        rps_ratio = result.rps / base_rps
        p99_ratio = result.percentile(99) / base_p99
        cells = (
            f"{result.rps:.0f}",
            ms(result.percentile(50)),
            ms(result.percentile(99)),
            f"{rps_ratio:.2f}",
            f"{p99_ratio:.2f}",
        )
        failures = f"  failures: {result.failures}" if result.failures else ""
        print(
            f"{label:30}"
            + "".join(f"{c:>12}" for c in cells)
            + f"  {verdict(label, rps_ratio, p99_ratio)}{failures}"
        )
    print(f"targets: req/s ratio >= {TARGET_RPS_RATIO}, p99 ratio <= {TARGET_P99_RATIO}")


def server_env(work: Path, redis_url: str, **extra: str) -> dict[str, str]:
    """Return the environment of a benchmarked uWSGI: ours, less uWSGI and New Relic settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEW_RELIC", "UWSGI_"))}
    env.update(
        REDIS_URL=redis_url,
        DATABASE_URL=f"sqlite:///{work}/bench.sqlite3",
        BATFRIEND_DATA_DIR=str(work),
        **extra,
    )
    return env


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="batfriend vs bare Flask under uwsgi.ini")
    parser.add_argument("--seconds", type=float, default=5.0, help="load time per endpoint")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections")
    parser.add_argument("--only", nargs="+", metavar="PATH", help="load only these endpoints")
    args = parser.parse_args(argv)
    began = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="batfriend-bench-"))
    redis_server = EmbeddedRedis(str(work / "redis"), persistent=False)
    servers = []
    try:
        env = server_env(
            work,
            redis_server.start(),
            # One client machine loads logins and discovery: the limits would measure 429s.
            BATFRIEND_ADDRESS_LIMIT_PER_MINUTE="1000000000",
            BATFRIEND_DISCOVER_LIMIT_PER_DAY="1000000000000",
        )
        app = Server("batfriend", env, work)
        servers.append(app)
        baseline = Server("baseline", env, work, ("--module", "bench.baseline_app:application"))
        servers.append(baseline)
        for server in servers:
            server.wait_ready()
        plans = [p for p in prepare(app.base) if not args.only or p.path in args.only]
        baseline_plan = [(headers_for(), "{}")]
        before = measure(baseline.base, "/incr", baseline_plan, args.seconds, args.connections)
        rows = []
        for plan in plans:
            if plan.skipped:
                rows.append((plan.label, None, plan.skipped))
                continue
            result = measure(
                app.base, plan.path, plan.variants, args.seconds, args.connections, plan.limit
            )
            rows.append((plan.label, result, None))
        after = measure(baseline.base, "/incr", baseline_plan, args.seconds, args.connections)
        report(args, app.shape(), before, after, rows)
    finally:
        for server in servers:
            server.stop()
        redis_server.stop()
    print(f"total {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
