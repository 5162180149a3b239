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
import itertools
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

import psutil
import pycurl
import redis

from batfriend.embedded import EmbeddedRedis, free_port
from bench import baseline_app

ROOT = Path(__file__).resolve().parent.parent
UWSGI = Path(sys.executable).parent / "uwsgi"
APP_READY = "WSGI app 0 (mountpoint='') ready"
PASSWORD = "bench password 1"
# Senders take turns, so each one's send log stays short (the limit per minute is lifted
# for the benchmark: its rounds send far more than 60 a minute per sender)
SENDERS = 250
PHONE_OWNERS = 50  # senders given a number among the 1000 discovered
INBOX_MESSAGES = 1000  # in the recipient's inbox when its row pages it
PHONES = baseline_app.PHONES
TARGET_RPS_RATIO = 0.7
TARGET_P99_RATIO = 2.0


@dataclass
class Result:
    """One load run: completed requests, failures by status, latencies in seconds."""

    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    cpu: float = 0.0  # CPU seconds the server's processes and Redis spent meanwhile
    redis_cpu: float = 0.0  # the part Redis spent

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    @property
    def cpu_per_request(self) -> float:
        return self.cpu / len(self.latencies) if self.latencies else 0.0

    @property
    def redis_per_request(self) -> float:
        return self.redis_cpu / len(self.latencies) if self.latencies else 0.0

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

    def __init__(self, name, env, log_dir, extra=(), ini=ROOT / "uwsgi.ini") -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log_dir / f"{name}.log"
        with open(self.log, "w") as output:
            self.process = subprocess.Popen(
                [str(UWSGI), "--ini", str(ini), *extra],
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

    def cpu_seconds(self) -> float:
        """Return the user + system CPU seconds the master and its workers have used so far."""
        master = psutil.Process(self.process.pid)
        times = [p.cpu_times() for p in [master, *master.children(recursive=True)]]
        return sum(t.user + t.system for t in times)

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
    """How to load one endpoint: request variants cycled in order, its baseline and goal."""

    label: str
    path: str
    variants: list[tuple[list[str], str | None]] = field(default_factory=list)
    skipped: str = ""
    baseline: str = "/incr"  # bench/baseline_app.py's route this row is compared with
    goal: float | None = TARGET_RPS_RATIO  # None: no req/s goal (login)


def expect(status, answer, wanted, what) -> dict:
    """Return the answer of a set-up call, or stop the benchmark naming what failed."""
    if status != wanted:
        raise RuntimeError(f"set-up failed: {what} answered {status} {answer}")
    return answer


def call_hashing(base, path, body):
    """``call`` a path that hashes a password, again while the server's hashing slots are busy."""
    for _ in range(50):
        status, answer = call(base, path, body)
        if status != 503:
            break
        time.sleep(0.1)
    return status, answer


def sign_up(base, username) -> str:
    """Register and log in one agent; return its token."""
    credentials = {"username": username, "password": PASSWORD}
    expect(*call_hashing(base, "/agents/register", credentials), 201, f"register {username}")
    return expect(*call_hashing(base, "/login", credentials), 200, f"login {username}")["token"]


def discover_plan(base, pool, tokens, redis_url) -> Plan:
    """Give the first PHONE_OWNERS senders a phone among the 1000 numbers, then discover all.

    The baseline's hash (bench/baseline_app.py) gets the same owners.
    """
    plan = Plan("POST /phones/discover (1000)", "/phones/discover", baseline="/hmget", goal=0.8)
    if not present(base, plan.path):
        plan.skipped = "endpoint not present (404)"
        return plan

    def set_phone(i) -> None:
        answer = call(base, "/phones/set", {"phone": PHONES[i * 20]}, tokens[f"bench_s{i}"])
        expect(*answer, 200, "POST /phones/set")

    list(pool.map(set_phone, range(PHONE_OWNERS)))
    owners = {PHONES[i * 20]: f"bench_s{i}" for i in range(PHONE_OWNERS)}
    redis.Redis.from_url(redis_url).hset(baseline_app.OWNERS_KEY, mapping=owners)
    plan.variants = [(headers_for(tokens["bench_login"]), json.dumps({"phones": PHONES}))]
    return plan


def send_plan(base, pool, tokens) -> Plan:
    """Befriend every sender with one recipient; the senders take turns sending to it."""
    plan = Plan("POST /messages/send", "/messages/send")
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


def simple_plan(base, label, path, variants, **options) -> Plan:
    """Return a plan for an endpoint that needs no set-up (skipped when this checkout lacks it)."""
    plan = Plan(label, path, variants, **options)
    if not present(base, path):
        plan.skipped = "endpoint not present (404)"
    return plan


def inbox_plan(base, pool, tokens, send: Plan) -> Plan:
    """Fill the recipient's inbox with INBOX_MESSAGES from the senders; page through it.

    Its row runs before the send row, so every checkout pages the same inbox, whatever
    number of messages its send row gets through.
    """
    plan = simple_plan(
        base, "POST /messages/inbox", "/messages/inbox", [(headers_for(tokens["bench_rcpt"]), "{}")]
    )
    if plan.skipped or send.skipped:
        return plan

    message = json.loads(send.variants[0][1])

    def send_one(n) -> None:
        answer = call(base, send.path, message, tokens[f"bench_s{n % SENDERS}"])
        expect(*answer, 201, "POST /messages/send")

    list(pool.map(send_one, range(INBOX_MESSAGES)))
    return plan


def prepare(base, redis_url) -> list[Plan]:
    """Create the agents, phones, friendships and messages the endpoints need; return the plans."""
    names = ["bench_login", "bench_rcpt"] + [f"bench_s{i}" for i in range(SENDERS)]
    with ThreadPoolExecutor(4) as pool:
        tokens = dict(zip(names, pool.map(lambda name: sign_up(base, name), names), strict=True))
        login = json.dumps({"username": "bench_login", "password": PASSWORD})
        view = json.dumps({"username": "bench_rcpt"})
        send = send_plan(base, pool, tokens)
        return [
            Plan("GET /status", "/status", [(headers_for(), None)], baseline="/plain", goal=0.95),
            Plan("POST /login", "/login", [(headers_for(), login)], goal=None),
            simple_plan(
                base,
                "POST /agents/view",
                "/agents/view",
                [(headers_for(tokens["bench_login"]), view)],
            ),
            discover_plan(base, pool, tokens, redis_url),
            inbox_plan(base, pool, tokens, send),
            send,
        ]


def redis_cpu(client) -> float:
    """Return the CPU seconds the Redis server has used so far (INFO cpu)."""
    info = client.info("cpu")
    return info["used_cpu_user"] + info["used_cpu_sys"]


def measure(server, path, variants, args, redis_client) -> Result:
    """Warm up (two requests per connection), then load for ``args.seconds``.

    Also counts the CPU time uWSGI's processes and Redis spent on the load: unlike
    req/s, CPU per request hardly moves when other work shares the machine.
    """
    url, warm = server.base + path, 2 * args.connections
    warm_result = load(url, variants, args.seconds, args.connections, limit=warm)
    # a login flood meets the hashing slots' quick 503s by design: counted, not fatal
    if set(warm_result.failures) - ({"503"} if path == "/login" else set()):
        raise RuntimeError(f"{path} fails during warm-up: {warm_result.failures}")
    rotated = variants[warm % len(variants) :] + variants[: warm % len(variants)]
    app_cpu, db_cpu = server.cpu_seconds(), redis_cpu(redis_client)
    result = load(url, rotated, args.seconds, args.connections)
    result.redis_cpu = redis_cpu(redis_client) - db_cpu
    result.cpu = server.cpu_seconds() - app_cpu + result.redis_cpu
    return result


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


@dataclass
class Row:
    """One endpoint's results, round by round: this checkout and the --before checkout, each
    round between two baseline runs (``baseline`` holds one run more than there are rounds)."""

    plan: Plan
    results: list[Result] = field(default_factory=list)
    befores: list[Result] = field(default_factory=list)
    baseline: list[Result] = field(default_factory=list)

    def ratios(self, results: list[Result]) -> list[tuple[float, float, float]]:
        """Return each round's req/s, p99 and CPU ratios to the baseline runs around it.

        The CPU ratio is the baseline's CPU per request over this one's: the req/s ratio
        a machine doing nothing else would show, when the CPU is what runs out.
        """
        ratios = []
        for result, around in zip(results, itertools.pairwise(self.baseline), strict=True):
            rps = statistics.mean(b.rps for b in around)
            p99 = statistics.mean(b.percentile(99) for b in around)
            cpu = statistics.mean(b.cpu_per_request for b in around)
            used = result.cpu_per_request
            ratios.append(
                (result.rps / rps, result.percentile(99) / p99, cpu / used if used else 0.0)
            )
        return ratios


def median_ratios(ratios: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """Return the median of each kind of ratio over the rounds."""
    return tuple(statistics.median(column) for column in zip(*ratios, strict=True))


def spread(values: list[float]) -> str:
    """Return 'min-max' of the rounds' values, or '' for a single round."""
    return f"{min(values):.2f}-{max(values):.2f}" if len(values) > 1 else ""


def verdict(plan, rps_ratio, p99_ratio) -> str:
    """Say whether a row meets its goals (and why /login cannot)."""
    if plan.goal is None:
        return "no goal (one scrypt per login, by design)"
    met = rps_ratio >= plan.goal and p99_ratio <= TARGET_P99_RATIO
    return "met" if met else "MISSED"


def report(args, shape, before_ref, rows) -> None:
    """Print the goal table: each endpoint against its own baseline, measured around it."""
    print(
        f"batfriend HTTP benchmark: uwsgi.ini ({shape}), "
        f"{args.connections} connections, {args.seconds:g} s per endpoint"
    )
    print(f"machine: {machine()}")
    print("baselines (bench/baseline_app.py, bare Flask), each run just before and after its row:")
    print(
        "  GET /plain: fixed text; POST /incr: one INCR; POST /hmget: one HMGET of 1000 + jsonify"
    )
    columns = ("baseline", "req/s", "p50 ms", "p99 ms", "ratio", "spread", "before", "goal")
    columns += ("p99 ratio", "before", "cpu µs", "redis", "cpu ratio", "before")
    widths = (8, 7, 7, 7, 7, 10, 7, 6, 10, 7, 7, 6, 10, 7)
    print(f"{'endpoint':29}" + "".join(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True)))
    for row in rows:
        plan = row.plan
        if not row.results:
            print(f"{plan.label:29} skipped: {plan.skipped}")
            continue
        rounds = row.ratios(row.results)
        rps_ratio, p99_ratio, cpu_ratio = median_ratios(rounds)
        before = ["-"] * 3
        if row.befores:
            before = [f"{r:.2f}" for r in median_ratios(row.ratios(row.befores))]
        merged = Result(
            elapsed=sum(r.elapsed for r in row.results),
            latencies=[t for r in row.results for t in r.latencies],
            cpu=sum(r.cpu for r in row.results),
            redis_cpu=sum(r.redis_cpu for r in row.results),
        )
        cells = (
            plan.baseline,
            f"{merged.rps:.0f}",
            ms(merged.percentile(50)),
            ms(merged.percentile(99)),
            f"{rps_ratio:.2f}",
            spread([r[0] for r in rounds]),
            before[0],
            "-" if plan.goal is None else f"{plan.goal:.2f}",
            f"{p99_ratio:.2f}",
            before[1],
            f"{merged.cpu_per_request * 1e6:.0f}",
            f"{merged.redis_per_request * 1e6:.0f}",
            f"{cpu_ratio:.2f}",
            before[2],
        )
        failures = [r.failures for r in [*row.results, *row.befores] if r.failures]
        baseline_rps = [b.rps for b in row.baseline]
        noisy = max(baseline_rps) - min(baseline_rps) > 0.2 * statistics.mean(baseline_rps)
        print(
            f"{plan.label:29}"
            + "".join(f"{c:>{w}}" for c, w in zip(cells, widths, strict=True))
            + f"  {verdict(plan, rps_ratio, p99_ratio)}"
            + (f"  failures: {failures}" if failures else "")
            + ("  (its baseline runs differ by >20%: busy machine)" if noisy else "")
        )
    for label, path in (
        ("GET /plain", "/plain"),
        ("POST /incr", "/incr"),
        ("POST /hmget", "/hmget"),
    ):
        runs = [b for row in rows for b in row.baseline if row.plan.baseline == path]
        if runs:
            print(
                f"baseline {label}: {statistics.mean(b.rps for b in runs):.0f} req/s"
                f" ({min(b.rps for b in runs):.0f}-{max(b.rps for b in runs):.0f} over"
                f" {len(runs)} runs), p99 {ms(statistics.mean(b.percentile(99) for b in runs))} ms,"
                f" {statistics.mean(b.cpu_per_request for b in runs) * 1e6:.0f} cpu µs per request"
                f" ({statistics.mean(b.redis_per_request for b in runs) * 1e6:.0f}"
                " of them Redis)"
            )
    print(
        f"goals: req/s ratio >= goal, p99 ratio <= {TARGET_P99_RATIO}; each round's ratios are"
        f" to the mean of the baseline runs just before and after it; shown: the median of"
        f" {args.rounds} rounds (spread: the rounds' lowest and highest). before: the same"
        " from git ref"
        f" {before_ref or '(none)'} in this run. cpu µs: CPU of uWSGI and Redis per request;"
        " redis: its Redis part; cpu ratio: the baseline's over the row's, the req/s ratio of an"
        " otherwise idle machine"
    )


def export(ref, into) -> Path:
    """Write the tree of git ``ref`` (from this repository) into a new folder under ``into``."""
    folder = into / "before"
    folder.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def load_row(row, args, app, baseline, old, old_plan, redis_client) -> None:
    """Load the row's baseline, then ``args.rounds`` times its endpoint here and in the
    --before tree followed by the baseline again, so every round sits between two."""
    plan = row.plan
    # the discover baseline receives the same 1000 numbers (and ignores them)
    body = {"/plain": None, "/incr": "{}"}.get(plan.baseline, plan.variants[0][1])
    baseline_variants = [(headers_for(), body)]
    row.baseline.append(measure(baseline, plan.baseline, baseline_variants, args, redis_client))
    for _ in range(args.rounds):
        row.results.append(measure(app, plan.path, plan.variants, args, redis_client))
        if old is not None and old_plan is not None and not old_plan.skipped:
            row.befores.append(measure(old, plan.path, old_plan.variants, args, redis_client))
        row.baseline.append(measure(baseline, plan.baseline, baseline_variants, args, redis_client))


def other_database(url: str, number: int) -> str:
    """Return Redis ``url`` with database ``number``: ``redis://host:port/N`` or ``unix://...?db=N``."""
    if url.startswith("unix://"):
        return re.sub(r"([?&]db=)\d+", rf"\g<1>{number}", url)
    return f"{url.rsplit('/', 1)[0]}/{number}"


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
    parser.add_argument("--seconds", type=float, default=4.0, help="load time per endpoint")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections")
    parser.add_argument("--only", nargs="+", metavar="PATH", help="load only these endpoints")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds per endpoint, each between baseline runs"
    )
    parser.add_argument(
        "--before",
        default="main",
        metavar="REF",
        help="also load the same endpoints of this git ref, for the before column ('' skips it)",
    )
    args = parser.parse_args(argv)
    began = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="batfriend-bench-"))
    redis_server = EmbeddedRedis(str(work / "redis"), persistent=False)
    servers = []
    try:
        redis_url = redis_server.start()
        env = server_env(
            work,
            redis_url,
            # One client machine loads logins, discovery and sends: the limits would
            # measure 429s.
            BATFRIEND_ADDRESS_LIMIT_PER_MINUTE="1000000000",
            BATFRIEND_DISCOVER_LIMIT_PER_DAY="1000000000000",
            BATFRIEND_SEND_LIMIT_PER_MINUTE="1000000000",
        )
        app = Server("batfriend", env, work)
        baseline = Server("baseline", env, work, ("--module", "bench.baseline_app:application"))
        servers += [app, baseline]
        old = None
        if args.before:
            tree = export(args.before, work)
            # its own Redis database and SQL file: the two checkouts may store data differently
            old_env = {
                **env,
                "REDIS_URL": other_database(redis_url, 1),
                "DATABASE_URL": f"sqlite:///{work}/before.sqlite3",
                "PYTHONPATH": str(tree),
            }
            old = Server("before", old_env, work, ini=tree / "uwsgi.ini")
            servers.append(old)
        for server in servers:
            server.wait_ready()
        client = redis.Redis.from_url(redis_url)
        rows = [
            Row(p) for p in prepare(app.base, redis_url) if not args.only or p.path in args.only
        ]
        old_plans = {p.path: p for p in prepare(old.base, old_env["REDIS_URL"])} if old else {}
        for row in rows:
            if not row.plan.skipped:
                load_row(row, args, app, baseline, old, old_plans.get(row.plan.path), client)
        report(args, app.shape(), args.before, rows)
    finally:
        for server in servers:
            server.stop()
        redis_server.stop()
    print(f"total {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
